import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Plan } from '../../../harness/engine/plan.ts';

const exec = promisify(execFile);

/** Runs the real CLI (bin/kth.mjs, tsx) and returns its output and exit code, failing or not. */
async function kth(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, ['harness/bin/kth.mjs', ...args], { env: { ...process.env, NO_COLOR: '1' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('kth plan', () => {
  it('GIVEN a built-in scenario at --time-scale 0.2 WHEN planned THEN exit 0 and the scaled timeline is shown per run', async () => {
    const { code, stdout } = await kth('plan', 'scenarios/keepalive-imbalance.ts', '--time-scale', '0.2');
    expect(code).toBe(0);
    expect(stdout).toMatch(/scenario keepalive-imbalance/);
    expect(stdout).toMatch(/run 1\/3: iptables × persistent \(baseline\) — 8\.00s/);
    expect(stdout).toMatch(/run 3\/3: iptables × pooled-max-age/);
    expect(stdout).toMatch(/client +\|=+\| 0s → 8\.00s/);
    expect(stdout).toMatch(/8\.00s +load-end +client/);
    expect(stdout).toMatch(/baseline is skewed +metrics\.jainIndex < 0\.8/);
    expect(stdout).not.toMatch(/\u001b\[/);
  }, 30_000);

  it('GIVEN --json and --proxy-mode WHEN planned THEN the output parses, one run per mode × variant', async () => {
    const { code, stdout } = await kth('plan', 'scenarios/keepalive-imbalance.ts', '--time-scale', '0.2', '--proxy-mode', 'nftables,ipvs', '--json');
    expect(code).toBe(0);
    const plan = JSON.parse(stdout) as Plan & { scenario: { file: string; sha256: string } };
    expect(plan.scenario).toMatchObject({ name: 'keepalive-imbalance', file: 'scenarios/keepalive-imbalance.ts', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(plan.runs.map((run) => run.id)).toEqual(['nftables/persistent', 'nftables/short-lived', 'nftables/pooled-max-age', 'ipvs/persistent', 'ipvs/short-lived', 'ipvs/pooled-max-age']);
    expect(plan.runs[0]!.timeline).toEqual([
      { atMs: 0, kind: 'load-start', detail: expect.stringMatching(/^client: http persistent/), load: 'client' },
      { atMs: 8000, kind: 'load-end', detail: 'client', load: 'client' },
    ]);
  }, 30_000);

  it('GIVEN a scenario with several mistakes WHEN planned THEN exit 2 listing every problem with its path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kth-plan-'));
    try {
      // .mts: outside this repository's "type": "module" package a .ts file would be CommonJS.
      const file = join(dir, 'broken.mts');
      const broken = {
        name: 'broken',
        description: 'x',
        workload: { server: 'http', replicas: 2, maxConnectionAgeGrace: '5s' },
        load: [{ name: 'c', protocol: 'http', connections: 1, executor: 'constant-arrival-rate', duration: '10s', colour: 'red' }],
        checks: [{ name: 'k', expect: 'metrics.fairness > 1' }],
      };
      await writeFile(file, `export default ${JSON.stringify(broken)};\n`);
      const { code, stdout, stderr } = await kth('plan', file);
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toMatch(/broken\.mts is not valid \(4 problems\)/);
      expect(stderr).toMatch(/- workload\.maxConnectionAgeGrace: applies to the grpc server only/);
      expect(stderr).toMatch(/- load\[0\]\.colour: unknown key/);
      expect(stderr).toMatch(/- load\[0\]\.rate: required by executor constant-arrival-rate/);
      expect(stderr).toMatch(/- checks\[0\]\.expect: 'metrics\.fairness' is not a number in the run report/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('GIVEN a bad --time-scale WHEN planned THEN exit 2 naming the flag', async () => {
    const { code, stderr } = await kth('plan', 'scenarios/pod-kill.ts', '--time-scale', '0');
    expect(code).toBe(2);
    expect(stderr).toMatch(/--time-scale: '0' must be a number with 0 < F ≤ 10/);
  }, 30_000);

  it('GIVEN kth plan THEN its import graph never reaches @kubernetes/client-node (no cluster, fast start)', async () => {
    const seen = new Set<string>();
    const packages = new Set<string>();
    const visit = async (file: string): Promise<void> => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = await readFile(file, 'utf8');
      // Static imports and literal dynamic imports; `import type` is erased and loads nothing.
      for (const match of source.matchAll(/^import (?!type )[^;]*?from '([^']+)'|import\('([^']+)'\)/gm)) {
        const target = match[1] ?? match[2]!;
        if (target.startsWith('.')) await visit(resolve(dirname(file), target));
        else packages.add(target);
      }
    };
    await visit(resolve('harness/cli/commands/plan.ts'));
    expect(seen.size).toBeGreaterThan(3);
    expect([...packages].filter((name) => name.startsWith('@kubernetes/'))).toEqual([]);
  });
});
