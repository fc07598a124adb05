import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { environmentError } from '../../core/errors.ts';
import { run } from '../../core/exec.ts';
import { pinnedModuleDir } from '../../setup/go-module-build.ts';
import { buildGroups } from '../../setup/versions.ts';
import { nodeImageCacheDir } from './cache.ts';
import { KUBERNETES_VERSION } from './components.ts';
import type { BuiltBinary } from './go-binaries.ts';
import { versionOf } from './go-binaries.ts';
import { type Log, shortHash, step } from './steps.ts';

const kindnetdSourceDir = new URL('./kindnetd/', import.meta.url).pathname;

/** The harness's kindnetd stand-in (./kindnetd), cached under the hash of its sources. */
export async function kindnetdBinary(log: Log): Promise<BuiltBinary> {
  const files = (await readdir(kindnetdSourceDir)).filter((f) => f.endsWith('.go') || f === 'go.mod').sort();
  const sources = await Promise.all(files.map((f) => readFile(join(kindnetdSourceDir, f), 'utf8')));
  const key = shortHash(...files, ...sources);
  const path = join(nodeImageCacheDir(), 'local', `kindnetd-${key}`, 'kindnetd');
  const source = `harness/kind/node-image/kindnetd (sources ${key}); stands in for sigs.k8s.io/kind/images/kindnetd, not served by the module proxy`;
  if (!existsSync(path)) {
    await step(log, 'go build kindnetd (harness stand-in)', async () => {
      await mkdir(join(path, '..'), { recursive: true });
      await run(['go', 'build', '-trimpath', '-ldflags', `-s -w -X main.version=${key}`, '-o', `${path}.building`, '.'], {
        cwd: kindnetdSourceDir,
        env: { CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod -buildvcs=false' },
        purpose: 'build of the kindnetd stand-in',
        timeoutMs: 600_000,
      });
      await rename(`${path}.building`, path);
    });
  } else {
    log(`[node-image] kindnetd: cached (${path})`);
  }
  return { name: 'kindnetd', path, source, reported: await versionOf(path, ['--version']) };
}

/** kubeadm's pause tag for this release, as build/pause/Makefile stamps it (TAG). */
export async function pauseBinary(log: Log): Promise<BuiltBinary & { tag: string }> {
  const group = buildGroups.find((g) => g.id === 'kubernetes');
  if (!group) throw new Error('no kubernetes group');
  const moduleDir = await pinnedModuleDir(group, join(nodeImageCacheDir(), 'src', `pause-${group.version}`));
  const makefile = await readFile(join(moduleDir, 'build/pause/Makefile'), 'utf8');
  const tag = /^TAG \?= (\S+)$/m.exec(makefile)?.[1];
  if (!tag) throw environmentError('cannot read the pause TAG from build/pause/Makefile', { where: moduleDir, hint: 'the Kubernetes source layout changed; update harness/kind/node-image/local-binaries.ts' });
  const sourceFile = join(moduleDir, 'build/pause/linux/pause.c');
  const key = shortHash(tag, await readFile(sourceFile, 'utf8'));
  const path = join(nodeImageCacheDir(), 'local', `pause-${tag}-${key}`, 'pause');
  if (!existsSync(path)) {
    await step(log, `gcc -static pause ${tag}`, async () => {
      await mkdir(join(path, '..'), { recursive: true });
      // The upstream flags (build/pause/Makefile CFLAGS); VERSION names the release it came from.
      await run(['gcc', '-Os', '-Wall', '-Werror', '-static', `-DVERSION=v${tag}-${KUBERNETES_VERSION}`, '-o', `${path}.building`, sourceFile], {
        purpose: 'static build of pause',
      });
      await rename(`${path}.building`, path);
    });
  } else {
    log(`[node-image] pause ${tag}: cached (${path})`);
  }
  await rm(`${path}.building`, { force: true });
  return { name: 'pause', path, tag, source: `k8s.io/kubernetes@${KUBERNETES_VERSION} build/pause/linux/pause.c (gcc -static)`, reported: await versionOf(path, ['-v']) };
}
