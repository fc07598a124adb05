import { run } from '../core/exec.ts';
import { imageExists } from '../workloads/image/docker.ts';
import { binaryPath } from '../setup/binaries.ts';
import { buildNodeImage } from './node-image/index.ts';

export interface ChosenNodeImage {
  ref: string;
  /** `kind version`'s release (v0.33.0). */
  kindVersion: string;
}

/** `kind version`'s release (v0.33.0), for reports. */
export async function kindRelease(): Promise<string> {
  return (await run([binaryPath('kind'), 'version'], { purpose: 'ask kind its version' })).stdout.trim().split(/\s+/)[1] ?? 'unknown';
}

/**
 * The node image a kind cluster boots: the one the user names (`--node-image`, e.g. a published
 * kindest/node, which kind pulls where a registry is reachable), else the harness's own offline
 * build, made now when missing (cached afterwards).
 */
export async function kindNodeImage(options: { log: (line: string) => void; override?: string }): Promise<ChosenNodeImage> {
  const kindVersion = await kindRelease();
  if (options.override) {
    if (!(await imageExists(options.override))) options.log(`node image ${options.override} is not on this Docker engine: kind will pull it`);
    return { ref: options.override, kindVersion };
  }
  const built = await buildNodeImage({ log: options.log });
  return { ref: built.ref, kindVersion };
}
