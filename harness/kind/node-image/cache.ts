import { join } from 'node:path';
import { cacheRoot } from '../../core/paths.ts';

/** Root of every cached intermediate of the node image: Go binaries, rootfs tarballs, the pause binary. */
export function nodeImageCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheRoot(env), 'kind-node-image');
}
