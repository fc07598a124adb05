import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { goBuildArgv, ldflags, wrapperGoMod } from '../../../harness/setup/go-module-build.ts';
import { type BuildGroup, buildGroups } from '../../../harness/setup/versions.ts';
import { prepareSubstitutes } from '../../../harness/setup/module-substitutes.ts';

const exec = promisify(execFile);
const group = (id: BuildGroup['id']) => buildGroups.find((g) => g.id === id) as BuildGroup;

describe('go module build command line', () => {
  it('GIVEN the cilium version stamp, which has spaces WHEN building ldflags THEN the -X field is quoted whole', () => {
    expect(ldflags(group('cilium'))).toBe('-s -w -X "github.com/cilium/cilium/pkg/version.ciliumVersion=1.20.2 v1.20.2 2026-09-15T20:03:11Z"');
  });

  it('GIVEN values without spaces WHEN building ldflags THEN they stay unquoted, as before', () => {
    expect(ldflags(group('ghz'))).toBe('-s -w -X main.version=v0.120.0');
    expect(ldflags(group('kubernetes'))).toContain('-X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=36');
  });

  it('GIVEN a value holding a double quote WHEN building ldflags THEN single quotes enclose it; both kinds cannot be passed', () => {
    const base = group('ghz');
    expect(ldflags({ ...base, versionVariables: { 'main.v': 'say "hi"' } })).toBe(`-s -w -X 'main.v=say "hi"'`);
    expect(() => ldflags({ ...base, versionVariables: { 'main.v': `it's "x"` } })).toThrow(/both quote characters/);
  });

  it(
    'GIVEN the quoted ldflags WHEN the real go command links a program THEN the program sees the value with its spaces',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'kth-ldflags-'));
      try {
        await writeFile(join(dir, 'go.mod'), 'module example.local/stamp\n\ngo 1.26\n');
        await writeFile(join(dir, 'main.go'), 'package main\n\nimport "fmt"\n\nvar version string\nvar other string\n\nfunc main() { fmt.Printf("[%s][%s]", version, other) }\n');
        const stamped = { ...group('ghz'), version: 'v9.8.7', versionVariables: { 'main.version': '{bare} {version} 2026-09-15T20:03:11Z', 'main.other': 'say "hi"' } };
        const env = { ...process.env, GOTOOLCHAIN: 'local', GOPROXY: 'off', GOFLAGS: '-mod=mod', CGO_ENABLED: '0' };
        await exec('go', ['build', '-trimpath', '-ldflags', ldflags(stamped), '-o', join(dir, 'stamp'), '.'], { cwd: dir, env });
        const { stdout } = await exec(join(dir, 'stamp'));
        expect(stdout).toBe('[9.8.7 v9.8.7 2026-09-15T20:03:11Z][say "hi"]');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );

  it('GIVEN the cilium group WHEN writing the wrapper go.mod THEN it requires the pin and carries both replaces', () => {
    const cilium = group('cilium');
    const goMod = wrapperGoMod(cilium, cilium.replaces ?? []);
    expect(goMod).toBe(
      [
        'module kube-traffic-harness.local/build/cilium',
        '',
        'go 1.26',
        '',
        'require github.com/cilium/cilium v1.20.2',
        '',
        'replace (',
        '\tsigs.k8s.io/controller-tools => github.com/cilium/controller-tools v0.21.0-1',
        '\tgithub.com/osrg/gobgp/v4 => github.com/osrg/gobgp/v4 v4.7.0',
        ')',
        '',
      ].join('\n'),
    );
  });

  it('GIVEN a group without replaces WHEN writing the wrapper go.mod THEN it has no replace block', () => {
    expect(wrapperGoMod(group('k6'), [])).not.toContain('replace');
  });

  it('GIVEN the cilium group WHEN building THEN -trimpath and -tags osusergo are passed, as the warm build cache was made with', () => {
    const argv = goBuildArgv(group('cilium'), '/out');
    expect(argv.slice(0, 6)).toEqual(['go', 'build', '-v', '-trimpath', '-tags', 'osusergo']);
    expect(argv.slice(-4)).toEqual(['/out/', 'github.com/cilium/cilium/daemon', 'github.com/cilium/cilium/plugins/cilium-cni', 'github.com/cilium/cilium/cilium-dbg']);
    // Groups without tags keep their exact previous command line (and so their build cache).
    expect(goBuildArgv(group('kubernetes'), '/out').slice(0, 5)).toEqual(['go', 'build', '-v', '-trimpath', '-ldflags']);
  });
});

describe('the Traefik wrapper module', () => {
  it('GIVEN the traefik group THEN its go.mod replaces each refused module with a local substitute, and keeps upstream\'s exclude', () => {
    const traefik = group('traefik');
    const replaces = (traefik.substitutes ?? []).map((s) => `${s.module} => ./${s.dir}`);
    const goMod = wrapperGoMod(traefik, replaces);
    expect(goMod).toContain('require github.com/traefik/traefik/v3 v3.7.13');
    for (const module of ['github.com/traefik/traefik/dynamic/ext', 'github.com/gorilla/mux', 'github.com/abbot/go-http-auth', 'github.com/go-acme/lego/v5']) {
      expect(goMod).toMatch(new RegExp(`\\t${module.replaceAll('.', '\\.').replaceAll('/', '\\/')} => \\./substitutes/`));
    }
    expect(goMod).toContain('exclude (\n\tgithub.com/tencentcloud/tencentcloud-sdk-go v3.0.83+incompatible\n)');
    expect(wrapperGoMod(group('k6'), [])).not.toContain('exclude');
  });
});

describe('module substitutes', () => {
  it('GIVEN a copied module THEN tests are left out, edits applied, files added; GIVEN an edit whose text moved THEN a clear error naming the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kth-substitute-'));
    try {
      const served = join(dir, 'served');
      await mkdir(served);
      await writeFile(join(served, 'go.mod'), 'module example.local/m\n');
      await writeFile(join(served, 'a.go'), 'package m\n\nconst A = 1\n');
      await writeFile(join(served, 'a_test.go'), 'package m\n');
      const substitute = { module: 'github.com/gorilla/mux', copyOf: { module: 'github.com/gorilla/mux', version: 'v1.8.1' }, dir: 'sub', edits: [{ file: 'a.go', replace: [['const A = 1', 'const A = 2']] as [string, string][] }], files: 'gorilla-mux' };
      const withSubstitute = { ...group('k6'), substitutes: [substitute] };
      const replaces = await prepareSubstitutes(withSubstitute, join(dir, 'work'), async () => served);
      expect(replaces).toEqual(['github.com/gorilla/mux => ./sub']);
      expect((await readdir(join(dir, 'work/sub'))).sort()).toEqual(['a.go', 'go.mod', 'routing_path.go']);
      expect(await readFile(join(dir, 'work/sub/a.go'), 'utf8')).toContain('const A = 2');
      const moved = { ...withSubstitute, substitutes: [{ ...substitute, edits: [{ file: 'a.go', replace: [['const B', 'x']] as [string, string][] }] }] };
      await expect(prepareSubstitutes(moved, join(dir, 'work'), async () => served)).rejects.toThrow(/cannot be made: a\.go no longer contains "const B"/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
