import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { repoRoot } from '../../core/paths.ts';
import { dockerfilePath } from './context.ts';

/** The label each harness image carries with the fingerprint of what it was built from. */
export const contextLabel = 'io.kube-traffic-harness.context';

/**
 * What the images are made of, in one hash: the Dockerfile, package.json and package-lock.json
 * (which fix the production node_modules npm ci installed), every source file under harness/
 * (not the derived bundle cache), the Go server binary when the -go targets are built, and the
 * base image. An image whose label carries the same fingerprint needs no rebuild — which spares
 * sending a 250 MB build context to the engine once per target on every kind run.
 */
export async function contextFingerprint(options: { goServer?: string; baseImageId: string }): Promise<string> {
  const hash = createHash('sha256');
  const add = async (path: string) => {
    hash.update(`${relative(repoRoot, path)}\0`);
    hash.update(await readFile(path));
    hash.update('\0');
  };
  await add(dockerfilePath);
  await add(join(repoRoot, 'package.json'));
  await add(join(repoRoot, 'package-lock.json'));
  for (const file of await sourceFiles(join(repoRoot, 'harness'))) await add(file);
  if (options.goServer) await add(options.goServer);
  hash.update(options.baseImageId);
  return hash.digest('hex').slice(0, 16);
}

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && !join(entry.parentPath, entry.name).includes(`${join('harness', '.bundle')}`))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}
