import { join } from 'node:path';
import { repoRoot } from '../../../harness/core/paths.ts';
import { recommend } from '../../../harness/engine/recommend.ts';
import { loadScenario, validateScenario } from '../../../harness/engine/scenario.ts';
import type { ScenarioSpec } from '../../../harness/engine/types.ts';
import type { CheckResult, RunReport } from '../../../harness/report/model.ts';

/** A sweep like scenarios/max-connection-age-sweep.ts, with a 1s age first (listed out of order on purpose). */
const sweep: ScenarioSpec = {
  name: 'age-sweep',
  description: 'sweep',
  workload: { server: 'grpc', replicas: 3, maxConnectionAgeGrace: '1s' },
  load: [{ name: 'client', protocol: 'grpc', connections: 30, executor: 'constant-arrival-rate', rate: 300, duration: '40s' }],
  chaos: [{ at: '10s', action: 'scale', replicas: 6 }],
  variants: [
    { name: 'age-never' },
    { name: 'age-5s', workload: { maxConnectionAge: '5s' } },
    { name: 'age-1s', workload: { maxConnectionAge: 1000 } },
    { name: 'age-2s', workload: { maxConnectionAge: '2s', maxConnectionAgeGrace: '500ms' } },
  ],
  checks: [{ name: 'rebalances', expect: 'metrics.rebalanceSeconds <= 10' }],
  recommend: { subject: 'MaxConnectionAge', goal: 'meets the rebalance target with no failed RPCs', by: { smallest: 'maxConnectionAge' }, quote: ['maxConnectionAgeGrace'], require: ['errors.total == 0'] },
};

const check = (pass: boolean): CheckResult => ({ name: 'rebalances', expect: 'metrics.rebalanceSeconds <= 10', pass, value: pass ? 4 : 14, threshold: 10, ...(pass ? {} : { note: 'metrics.rebalanceSeconds = 14, wanted <= 10' }) });

function run(variant: string, outcome: { pass: boolean; errors?: number; proxyMode?: string; status?: RunReport['status'] }): RunReport {
  const status = outcome.status ?? (outcome.pass ? 'passed' : 'failed');
  return {
    proxyMode: outcome.proxyMode ?? 'iptables',
    variant,
    status,
    durationMs: 40_000,
    errors: { total: outcome.errors ?? 0, byKind: {} },
    timeline: [],
    series: [],
    checks: status === 'error' ? [] : [check(outcome.pass)],
    ...(status === 'error' ? { reason: 'the lab did not start' } : {}),
  };
}

describe('recommend (a sweep ends with its pick)', () => {
  it('GIVEN a scenario without recommend THEN there is none (undefined, so the report gets no field)', () => {
    const { recommend: _none, ...plain } = sweep;
    expect(recommend(plain, [run('age-1s', { pass: true })], { timeScale: 1 })).toBeUndefined();
  });

  it('GIVEN the smallest age has failed RPCs, and the middle and largest pass THEN the middle one is picked, with its grace, and the basis lists every candidate by ascending age', () => {
    const runs = [run('age-never', { pass: false }), run('age-1s', { pass: true, errors: 3 }), run('age-2s', { pass: true }), run('age-5s', { pass: true })];
    const [item, ...rest] = recommend(sweep, runs, { timeScale: 1 })!;
    expect(rest).toEqual([]);
    expect(item!.variant).toBe('age-2s');
    expect(item!.proxyMode).toBe('iptables');
    expect(item!.text).toBe('MaxConnectionAge: maxConnectionAge 2s, maxConnectionAgeGrace 500ms (variant age-2s) — the smallest tried that meets the rebalance target with no failed RPCs.');
    // age-never sets no age: it is no candidate. Order by value, not by how the variants are listed.
    expect(item!.candidates.map((c) => [c.variant, c.qualified])).toEqual([
      ['age-1s', false],
      ['age-2s', true],
      ['age-5s', true],
    ]);
    expect(item!.candidates[1]!.settings).toEqual({ maxConnectionAge: '2s', maxConnectionAgeGrace: '500ms' });
    expect(item!.basis).toContain("Candidates by ascending maxConnectionAge: age-1s (1s): no — errors.total == 0 does not hold (errors.total = 3, wanted == 0); age-2s (2s): qualified; age-5s (5s): qualified.");
    expect(item!.basis).toContain('A candidate qualifies when its run passed every check of its variant and errors.total == 0.');
  });

  it('GIVEN no age passes THEN the recommendation says none did, and names every age tried', () => {
    const runs = [run('age-1s', { pass: false }), run('age-2s', { pass: false }), run('age-5s', { pass: true, errors: 1 })];
    const [item] = recommend(sweep, runs, { timeScale: 1 })!;
    expect(item!.variant).toBeNull();
    expect(item!.candidates.map((c) => c.qualified)).toEqual([false, false, false]);
    expect(item!.basis).toContain("age-1s (1s): no — check 'rebalances' failed (metrics.rebalanceSeconds = 14, wanted <= 10)");
    expect(item!.text).toBe('MaxConnectionAge: none of the candidates tried (age-1s (1s), age-2s (2s), age-5s (5s)) meets the rebalance target with no failed RPCs.');
  });

  it('GIVEN two proxy modes THEN one recommendation each, judged on that mode’s runs only', () => {
    const runs = [run('age-1s', { pass: true }), run('age-1s', { pass: false, proxyMode: 'ipvs' }), run('age-2s', { pass: true, proxyMode: 'ipvs' })];
    const items = recommend(sweep, runs, { timeScale: 1 })!;
    expect(items.map((item) => [item.proxyMode, item.variant])).toEqual([
      ['iptables', 'age-1s'],
      ['ipvs', 'age-2s'],
    ]);
  });

  it('GIVEN a smaller age that errored THEN the pick says a smaller one may qualify; with nothing measured there is no pick', () => {
    const [item] = recommend(sweep, [run('age-1s', { pass: false, status: 'error' }), run('age-2s', { pass: true })], { timeScale: 0.2 })!;
    expect(item!.variant).toBe('age-2s');
    expect(item!.text).toMatch(/Not measured: age-1s \(1s\) — error: the lab did not start; a smaller candidate may qualify\.$/);
    expect(item!.basis).toMatch(/age-5s \(5s\): not measured — not run/);
    expect(item!.basis).toMatch(/time scale 0\.2/);
    const [none] = recommend(sweep, [run('age-1s', { pass: false, status: 'error' })], { timeScale: 1 })!;
    expect(none!.variant).toBeNull();
    expect(none!.text).toMatch(/^MaxConnectionAge: no recommendation — no candidate was measured\./);
  });

  it('GIVEN candidates listed by name THEN the first qualifying one in that order wins', () => {
    const spec: ScenarioSpec = { ...sweep, recommend: { subject: 'client', goal: 'passes', by: { variants: ['age-5s', 'age-1s'] } } };
    const [item] = recommend(spec, [run('age-5s', { pass: false }), run('age-1s', { pass: true })], { timeScale: 1 })!;
    expect(item!.text).toBe('client: variant age-1s — the first in order of preference that passes.');
  });

  it('GIVEN the built-in max-connection-age-sweep THEN it asks for the smallest passing age, with its grace', async () => {
    const { spec } = await loadScenario(join(repoRoot, 'scenarios', 'max-connection-age-sweep.ts'));
    expect(spec.recommend?.by).toEqual({ smallest: 'maxConnectionAge' });
    const [item] = recommend(spec, [run('age-2s', { pass: true }), run('age-5s', { pass: true })], { timeScale: 1 })!;
    expect(item!.text).toMatch(/^MaxConnectionAge: maxConnectionAge 2s, maxConnectionAgeGrace 1s \(variant age-2s\)/);
  });

  it('GIVEN a recommend rule naming what does not exist THEN validation says where', () => {
    const problems = (spec: unknown) => {
      try {
        validateScenario(spec, 'sweep.ts');
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(problems({ ...sweep, recommend: { ...sweep.recommend, by: { variants: ['age-9s'] } } })).toMatch(/recommend\.by\.variants\[0\]: no variant named 'age-9s'/);
    expect(problems({ ...sweep, recommend: { ...sweep.recommend, by: { smallest: 'preStopSleep' } } })).toMatch(/recommend\.by\.smallest: no variant sets workload\.preStopSleep/);
    expect(problems({ ...sweep, recommend: { ...sweep.recommend, require: ['errors.total = 0'] } })).toMatch(/recommend\.require\[0\]/);
    expect(problems({ ...sweep, recommend: { ...sweep.recommend, pick: 'first' } })).toMatch(/recommend\.pick: unknown key/);
    expect(problems(sweep)).toBe('');
  });
});
