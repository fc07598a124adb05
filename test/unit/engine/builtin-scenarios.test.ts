import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../../harness/core/paths.ts';
import { planScenario } from '../../../harness/engine/plan.ts';
import { loadScenario } from '../../../harness/engine/scenario.ts';

/** design.md's list: names users and CI jobs rely on. */
const builtins = ['keepalive-imbalance', 'grpc-multiplex', 'scale-out-rebalance', 'max-connection-age-sweep', 'max-connection-age-runtimes', 'rollout-prestop', 'pod-kill', 'external-traffic-policy', 'proxy-mode-matrix', 'proxy-stall', 'node-failure', 'ingress-per-request', 'ingress-spread', 'client-ip'];
const dir = join(repoRoot, 'scenarios');
/**
 * Scenarios whose runs wait on timers --time-scale does not scale, and must outlast them: the
 * control plane's (node-failure: the node monitor's grace period, then the pods' toleration) or
 * the client's request timeout (ingress-spread's node-down variants: metrics.servedDuringFaults
 * counts only after a fault has lasted 10 s). They get a minute per run instead of two in all.
 */
const unscaledWaits = new Set(['node-failure', 'ingress-spread']);
const files = readdirSync(dir).filter((name) => name.endsWith('.ts'));

describe('built-in scenarios (scenarios/*.ts)', () => {
  it('THEN exactly the design names exist, one file each', () => {
    expect(files.map((name) => name.slice(0, -3)).sort()).toEqual([...builtins].sort());
  });

  it.each(files)('GIVEN %s WHEN loaded and planned THEN it validates, names itself after its file, and stays short', async (name) => {
    const { spec } = await loadScenario(join(dir, name));
    expect(spec.name).toBe(name.slice(0, -3));
    const plan = planScenario(spec, { timeScale: 1 });
    // Modest as written (≤ 2 minutes of load across all runs), so --time-scale 0.2 smoke runs are short.
    const runs = plan.runs.length;
    const budget = unscaledWaits.has(spec.name) ? runs * 60_000 : 120_000;
    expect(plan.totalMs).toBeLessThanOrEqual(budget);
    expect(planScenario(spec, { timeScale: 0.2 }).totalMs).toBeLessThanOrEqual(budget / 5);
    // Every run has something to assert, and the timeline has its loads.
    for (const run of plan.runs) {
      expect(run.checks.length).toBeGreaterThan(0);
      expect(run.timeline.filter((event) => event.kind === 'load-start')).toHaveLength(run.loads.length);
    }
  }, 30_000); // the first scenario's typecheck builds a TypeScript program from cold: seconds on a fresh clone

  it.each(files)('GIVEN %s THEN its header says the failure mode, the mitigation and what the checks assert', (name) => {
    const header = /^\/\*\*([\s\S]*?)\*\//.exec(readFileSync(join(dir, name), 'utf8'))?.[1] ?? '';
    expect(header).toMatch(/Failure mode/);
    expect(header).toMatch(/Mitigation|Sweep/);
    expect(header).toMatch(/Checks/);
  });
});
