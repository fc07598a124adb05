import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../../harness/core/paths.ts';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

// As a user's shell would run it: none of the npm_* variables of an `npm test` that may run this.
const userEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')));

function sh(command: string, args: string[], cwd: string, timeoutMs: number, env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, timeout: timeoutMs, maxBuffer: 16 << 20, env: { ...userEnv, NO_COLOR: '1', ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const scenario = (replicas: string) => `import { defineScenario, type ScenarioSpec } from 'kube-traffic-harness';

const base: ScenarioSpec['workload'] = { server: 'http', replicas: 3 };

export default defineScenario({
  name: 'their-scenario',
  description: 'A scenario kept next to the services that it tests.',
  workload: { ...base, replicas: ${replicas} },
  load: [{ name: 'api', protocol: 'http', model: 'pooled', connections: 4, maxConnectionAge: '2s', executor: 'constant-arrival-rate', rate: 50, duration: '20s' }],
  checks: [{ name: 'fair shares', expect: 'metrics.chiSquareP >= 0.001' }],
});
`;

/**
 * The package as a user gets it: `npm pack` this repository, `npm install` the tarball into a fresh
 * project (dependencies from the registry, or npm's cache), then the installed `kth` scaffolds and
 * plans a scenario that imports 'kube-traffic-harness'. No cluster.
 */
describe('the packed package in a user project', () => {
  let dir: string;
  let project: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kth-package-user-'));
    project = join(dir, 'their-service');
    await mkdir(project);
    const packed = await sh('npm', ['pack', '--pack-destination', dir, '--loglevel=error'], repoRoot, 120_000);
    expect(packed).toMatchObject({ code: 0 });
    const tarball = (await readdir(dir)).find((name) => name.endsWith('.tgz'));
    expect(tarball).toMatch(/^kube-traffic-harness-.*\.tgz$/);
    // `npm init -y`: a CommonJS package, as most service repositories are.
    expect(await sh('npm', ['init', '-y'], project, 60_000)).toMatchObject({ code: 0 });
    const installed = await sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', join(dir, tarball as string)], project, 300_000);
    if (installed.code !== 0) throw new Error(`npm install of the tarball failed (${installed.code}):\n${installed.stderr}`);
  }, 420_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('GIVEN the tarball WHEN listed THEN it holds the runtime files and types, no tests, no build caches', async () => {
    const root = join(project, 'node_modules/kube-traffic-harness');
    for (const file of ['harness/bin/kth.mjs', 'harness/index.ts', 'harness/cli/templates/nightly.yml', 'harness/setup/setup.sh', 'harness/workloads/go/go.sum', 'harness/workloads/proto/kth/v1/echo.proto', 'manifests/sample-service.ts', 'scenarios/keepalive-imbalance.ts', 'scenarios/k6/http-shares.ts', 'dist/types/harness/index.d.ts']) {
      expect([file, existsSync(join(root, file))]).toEqual([file, true]);
    }
    // No package-lock.json: what tells setup.sh it runs from an installed package. No node_modules:
    // the dependencies are hoisted into the project's, where node (and kth.mjs's imports) find them.
    for (const file of ['test', 'harness/.bundle', 'node_modules', 'tsconfig.json', 'package-lock.json']) expect([file, existsSync(join(root, file))]).toEqual([file, false]);
  });

  it('GIVEN a fresh project WHEN `npx kth init` runs twice THEN it scaffolds once, then refuses with exit 2 naming the files', async () => {
    const first = await sh('npx', ['kth', 'init'], project, 60_000);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toBe('wrote scenarios/sample.ts\nwrote scenarios/tsconfig.json\nwrote .github/workflows/nightly.yml\nnext: npx kth plan scenarios/sample.ts\n');
    // The template for a depending project, not the repository's own workflow (npm run setup, harness/ paths).
    const workflow = await readFile(join(project, '.github/workflows/nightly.yml'), 'utf8');
    expect(workflow).toBe(await readFile(join(project, 'node_modules/kube-traffic-harness/harness/cli/templates/nightly.yml'), 'utf8'));
    expect(workflow).toMatch(/^ {6}- run: bash node_modules\/kube-traffic-harness\/harness\/setup\/setup\.sh$/m);
    expect(workflow).not.toMatch(/npm run setup/);
    // Every file of the package it names is there once the project is installed (the cache keys' globs too).
    const named = [...new Set([...workflow.matchAll(/node_modules\/kube-traffic-harness\/[\w./-]+/g)].map((m) => m[0].replace(/\/$/, '')))];
    expect(named.length).toBeGreaterThanOrEqual(4);
    for (const path of named) expect([path, existsSync(join(project, path))]).toEqual([path, true]);
    // And so are the files of the project it names: the scaffolded scenario and the lockfile npm ci needs.
    expect(workflow).toMatch(/'scenarios\/sample\.ts'/);
    expect(existsSync(join(project, 'package-lock.json'))).toBe(true);

    const again = await sh('npx', ['kth', 'init'], project, 60_000);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/would overwrite scenarios\/sample\.ts, scenarios\/tsconfig\.json, \.github\/workflows\/nightly\.yml/);
    expect(again.stderr).toMatch(/fix: +move or remove them first, or scaffold into another directory: kth init <dir>/);
  }, 120_000);

  it("GIVEN the installed package WHEN the workflow's setup step runs its setup.sh THEN step 2 is skipped and kth.mjs builds nothing new from there", async () => {
    // Debian packages stubbed as present (a test must not apt-get); npm and the binaries step are
    // real. Step 3 finds what this host's setup built (the integration tests need it anyway), run by
    // node_modules/kube-traffic-harness/harness/bin/kth.mjs with the project's hoisted node_modules.
    const stubs = join(dir, 'stub-bin');
    await mkdir(stubs, { recursive: true });
    await writeFile(join(stubs, 'dpkg-query'), "#!/bin/sh\nprintf 'install ok installed'\n");
    await chmod(join(stubs, 'dpkg-query'), 0o755);
    const setup = await sh('bash', ['node_modules/kube-traffic-harness/harness/setup/setup.sh'], project, 180_000, { PATH: `${stubs}:${process.env.PATH ?? ''}` });
    expect(setup.stderr).toBe('');
    expect(setup.code).toBe(0);
    expect(setup.stdout).toMatch(/^\[setup 1\/3\] Debian packages present$/m);
    expect(setup.stdout).toMatch(/^\[setup 2\/3\] npm dependencies: skipped, run from an installed package \(.*\/node_modules\/kube-traffic-harness has no package-lock\.json\)/m);
    expect(setup.stdout).not.toMatch(/npm ci$/m);
    expect(setup.stdout).toMatch(/^\[setup 3\/3\] upstream binaries$/m);
    expect(setup.stdout).toMatch(/^\[setup\] go sample server: present/m);
    expect(setup.stdout).toMatch(/^\[setup\] done in \d+s$/m);
    expect(existsSync(join(project, 'node_modules/kube-traffic-harness/node_modules'))).toBe(false);
  }, 180_000);

  it('GIVEN the scaffold WHEN the sample and a scenario of their own are planned THEN both print their timelines', async () => {
    const sample = await sh('npx', ['kth', 'plan', 'scenarios/sample.ts'], project, 60_000);
    expect(sample).toMatchObject({ code: 0, stderr: '' });
    expect(sample.stdout).toMatch(/run 1\/2: iptables × persistent \(baseline\) — 30\.0s/);

    await writeFile(join(project, 'scenarios/their-scenario.ts'), scenario('3'));
    const { code, stdout, stderr } = await sh('npx', ['kth', 'plan', 'scenarios/their-scenario.ts', '--time-scale', '0.5'], project, 60_000);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^scenarios\/their-scenario\.ts \(sha256 [0-9a-f]{12}\)\n/);
    expect(stdout).toMatch(/scenario their-scenario: A scenario kept next to the services that it tests\./);
    expect(stdout).toMatch(/run 1\/1: iptables × default \(baseline\) — 10\.0s/);
    expect(stdout).toMatch(/api +\|=+\| 0s → 10\.0s/);
    expect(stdout).toMatch(/fair shares +metrics\.chiSquareP >= 0\.001/);
  }, 120_000);

  it("GIVEN the scaffolded tsconfig.json WHEN the user's own tsc checks the scenarios THEN the package's declarations type them", async () => {
    // typescript comes with kth (it type-checks scenarios), so a user has tsc without installing it.
    const checked = await sh('npx', ['tsc', '-p', 'scenarios', '--listFiles'], project, 60_000);
    expect(checked.stdout).not.toMatch(/error TS/);
    expect(checked.code).toBe(0);
    // Declarations, not our sources under the user's compiler settings.
    expect(checked.stdout).toMatch(/node_modules\/kube-traffic-harness\/dist\/types\/harness\/index\.d\.ts/);
    expect(checked.stdout).not.toMatch(/node_modules\/kube-traffic-harness\/harness\//);
  }, 60_000);

  it('GIVEN a type error in their scenario WHEN planned THEN exit 2 with the file, line and column', async () => {
    await writeFile(join(project, 'scenarios/their-scenario.ts'), scenario("'three'"));
    const { code, stdout, stderr } = await sh('npx', ['kth', 'plan', 'scenarios/their-scenario.ts'], project, 60_000);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    // Line 8 is `workload: { ...base, replicas: 'three' },`.
    expect(stderr).toMatch(/^error: scenario scenarios\/their-scenario\.ts has 1 type error:\n {2}scenarios\/their-scenario\.ts:8:24 - TS2322: Type 'string' is not assignable to type 'number'\./);
    expect(stderr).toMatch(/where: scenarios\/their-scenario\.ts:8:24/);
  }, 60_000);
});
