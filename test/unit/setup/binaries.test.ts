import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HarnessError } from '../../../harness/core/errors.ts';
import { binDir, ciliumCrdFiles, ciliumLibDir, pinsKey, requireCiliumAssets } from '../../../harness/setup/binaries.ts';
import { installBinaries } from '../../../harness/setup/install-binaries.ts';
import { buildGroups } from '../../../harness/setup/versions.ts';

describe('cilium assets', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kth-bin-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('GIVEN a KTH_BIN_DIR without them WHEN required THEN exit 3 naming what is missing and where they must go', () => {
    const env = { KTH_BIN_DIR: dir };
    const error = (() => {
      try {
        requireCiliumAssets(env);
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(HarnessError);
    expect((error as HarnessError).exitCode).toBe(3);
    expect((error as HarnessError).message).toContain(join(dir, 'cilium-lib', 'bpf', 'bpf_lxc.c'));
    expect((error as HarnessError).hint).toContain('cilium-lib/bpf/');
    expect((error as HarnessError).hint).toContain('cilium-crds/{v2,v2alpha1}/*.yaml');
    expect(ciliumCrdFiles(env)).toEqual([]);
  });

  it('GIVEN a KTH_BIN_DIR holding the lib dir and CRDs WHEN required THEN the lib dir and the CRD files, sorted and absolute, come back', async () => {
    const env = { KTH_BIN_DIR: dir };
    await mkdir(join(dir, 'cilium-lib', 'bpf', 'include'), { recursive: true });
    for (const file of ['bpf_lxc.c', 'bpf_host.c', 'bpf_sock.c']) await writeFile(join(dir, 'cilium-lib', 'bpf', file), '');
    await mkdir(join(dir, 'cilium-crds', 'v2'), { recursive: true });
    await mkdir(join(dir, 'cilium-crds', 'v2alpha1'), { recursive: true });
    for (const file of ['ciliumnodes.yaml', 'ciliumendpoints.yaml', 'ciliumidentities.yaml', 'embed.go']) await writeFile(join(dir, 'cilium-crds', 'v2', file), '');
    await writeFile(join(dir, 'cilium-crds', 'v2alpha1', 'ciliumpodippools.yaml'), '');

    expect(requireCiliumAssets(env)).toEqual({
      libDir: join(dir, 'cilium-lib'),
      crdFiles: [
        join(dir, 'cilium-crds', 'v2', 'ciliumendpoints.yaml'),
        join(dir, 'cilium-crds', 'v2', 'ciliumidentities.yaml'),
        join(dir, 'cilium-crds', 'v2', 'ciliumnodes.yaml'),
        join(dir, 'cilium-crds', 'v2alpha1', 'ciliumpodippools.yaml'),
      ],
    });
    expect(ciliumLibDir(env)).toBe(join(dir, 'cilium-lib'));
  });
});

describe('binaries of another pin set', () => {
  let cache: string;
  beforeEach(async () => {
    cache = await mkdtemp(join(tmpdir(), 'kth-cache-'));
  });
  afterEach(async () => {
    await rm(cache, { recursive: true, force: true });
  });

  it('GIVEN kind at the pinned version in another pin set directory WHEN setup runs THEN it is hard-linked, verified and recorded, not built', async () => {
    const kind = buildGroups.find((g) => g.id === 'kind');
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, KTH_CACHE_DIR: cache };
    const other = join(cache, 'v0.0.0-00000000', 'bin');
    await mkdir(other, { recursive: true });
    await writeFile(join(other, 'kind'), `#!/bin/sh\necho "kind ${kind?.version} go1.26.8 linux/amd64"\n`, { mode: 0o755 });
    const record = { binary: 'kind', module: kind?.module, version: kind?.version, reported: 'kind (old)', builtAt: '2026-01-01T00:00:00.000Z' };
    await writeFile(join(other, 'versions.json'), JSON.stringify([record]));

    const lines: string[] = [];
    const result = await installBinaries({ only: ['kind'], env, log: (l) => lines.push(l) });

    const dir = binDir(env);
    expect(dir).toBe(join(cache, pinsKey(env), 'bin'));
    expect(result.built).toEqual([]);
    expect(result.reused).toEqual(['kind']);
    expect((await stat(join(dir, 'kind'))).ino).toBe((await stat(join(other, 'kind'))).ino);
    const recorded = JSON.parse(await readFile(join(dir, 'versions.json'), 'utf8')) as (typeof record)[];
    expect(recorded).toEqual([{ ...record, reported: `kind ${kind?.version} go1.26.8 linux/amd64` }]);
    expect(lines.join('\n')).toContain(`present in ${other}, linked here (kind)`);
  });

  it('GIVEN another pin set holding kind at a different version WHEN setup looks for it THEN that binary is not taken', async () => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, KTH_CACHE_DIR: cache, KTH_PIN_KIND: 'v0.0.404' };
    const other = join(cache, 'v0.0.0-00000000', 'bin');
    await mkdir(other, { recursive: true });
    await writeFile(join(other, 'kind'), '#!/bin/sh\necho kind v0.33.0\n', { mode: 0o755 });
    await writeFile(join(other, 'versions.json'), JSON.stringify([{ binary: 'kind', module: 'sigs.k8s.io/kind', version: 'v0.33.0', reported: '', builtAt: '' }]));
    // The go command inherits this process's environment: with the module proxy off, the build
    // attempt fails at once, without network: proof that the other version was not linked.
    const proxy = process.env.GOPROXY;
    process.env.GOPROXY = 'off';
    try {
      await expect(installBinaries({ only: ['kind'], env, log: () => undefined })).rejects.toThrow(/sigs\.k8s\.io\/kind@v0\.0\.404/);
    } finally {
      if (proxy === undefined) delete process.env.GOPROXY;
      else process.env.GOPROXY = proxy;
    }
    expect(existsSync(join(binDir(env), 'kind'))).toBe(false);
  }, 60_000);
});
