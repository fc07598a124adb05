import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { goBuildArgv, ldflags, wrapperGoMod } from '../../../harness/setup/go-module-build.ts';
import { type BuildGroup, buildGroups } from '../../../harness/setup/versions.ts';

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
