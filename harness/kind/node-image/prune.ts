import { readdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { run } from '../../core/exec.ts';
import { nodeImageCacheDir } from './cache.ts';
import { removeImages } from './docker-cli.ts';
import type { Log } from './steps.ts';

/**
 * After a build: older recipes' node images (unless a container still uses one: `docker image rm`
 * without --force refuses) and older component archives (~600 MB each). Go binaries and rootfs
 * tarballs stay: a pin changed back reuses them.
 */
export async function pruneOlderBuilds(options: { ref: string; archive: string; log: Log }): Promise<void> {
  const repository = options.ref.replace(/:[^:/]+$/, '');
  const listed = await run(['docker', 'image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', repository], { nothrow: true, timeoutMs: 60_000 });
  const stale = listed.stdout.split('\n').filter((ref) => ref.startsWith(`${repository}:`) && ref !== options.ref);
  await removeImages(stale);
  const dir = join(nodeImageCacheDir(), 'images');
  const archives = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.startsWith('components-') && f !== basename(options.archive));
  await Promise.all(archives.map((f) => rm(join(dir, f), { force: true })));
  if (stale.length + archives.length > 0) options.log(`[node-image] pruned ${stale.length} older node image(s), ${archives.length} older component archive(s)`);
}
