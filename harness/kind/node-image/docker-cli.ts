import { mkdtemp, rm, writeFile, copyFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { run } from '../../core/exec.ts';

/** The classic builder only: there is no buildx on the machines this runs on. */
const classic = { DOCKER_BUILDKIT: '0' };

export async function docker(args: readonly string[], purpose: string, timeoutMs = 600_000): Promise<string> {
  return (await run(['docker', ...args], { env: classic, purpose, timeoutMs })).stdout.trim();
}

/** Removes images by ref, ignoring ones already gone. */
export async function removeImages(refs: readonly string[]): Promise<void> {
  if (refs.length > 0) await run(['docker', 'image', 'rm', ...refs], { nothrow: true, timeoutMs: 300_000 });
}

/**
 * `docker build` of a Dockerfile whose context holds only the given files (copied under their
 * base names, mode 0755), so nothing else is sent to the engine.
 */
export async function buildImage(options: { tags: readonly string[]; dockerfile: string; files?: readonly string[]; purpose: string }): Promise<void> {
  const context = await mkdtemp(join(tmpdir(), 'kth-node-image-'));
  try {
    for (const file of options.files ?? []) {
      const target = join(context, basename(file));
      await copyFile(file, target);
      await chmod(target, 0o755);
    }
    await writeFile(join(context, 'Dockerfile'), options.dockerfile);
    await docker(['build', '--quiet', '--force-rm', ...options.tags.flatMap((t) => ['--tag', t]), context], options.purpose);
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}
