import { diffReports, renderDiff } from '../../../harness/report/diff.ts';
import type { Report } from '../../../harness/report/model.ts';
import { fixtureReport } from './fixture.ts';

/** b: iptables' spread check now fails (with worse metrics); nftables' spread check now passes. */
function laterReport(): Report {
  const b = fixtureReport();
  b.runId = 'later';
  const [iptables, nftables] = b.runs;
  iptables!.status = 'failed';
  iptables!.metrics = { ...iptables!.metrics!, jainIndex: 0.8, chiSquareP: 0.0001, maxMinRatio: null, starvedPods: ['web-b'] };
  iptables!.errors = { total: 7, byKind: { reset: 7 } };
  iptables!.checks[0] = { ...iptables!.checks[0]!, pass: false, value: 0.0001 };
  nftables!.status = 'passed';
  nftables!.checks[0] = { ...nftables!.checks[0]!, pass: true, value: 0.2 };
  return b;
}

describe('diffReports', () => {
  it('GIVEN the same report twice THEN no regression, every check still passing/failing, every metric the same', () => {
    const diff = diffReports(fixtureReport(), fixtureReport());
    expect(diff.regressions).toEqual([]);
    expect(diff.runs.map((run) => run.checks.map((c) => c.change))).toEqual([
      ['still-passing', 'still-passing'],
      ['still-failing', 'still-passing'],
    ]);
    expect(diff.runs.flatMap((run) => run.metrics.map((m) => m.trend))).toEqual(new Array(14).fill('same'));
  });

  it('GIVEN a check passing in a and failing in b THEN it is a regression; one failing in a and passing in b is fixed', () => {
    const diff = diffReports(fixtureReport(), laterReport());
    expect(diff.regressions).toEqual([{ run: 'iptables/default', check: 'spread' }]);
    expect(diff.runs[0]!.checks[0]).toEqual({ name: 'spread', a: true, b: false, valueA: 0.42, valueB: 0.0001, change: 'regressed' });
    expect(diff.runs[1]!.checks[0]!.change).toBe('fixed');
    expect([diff.runs[0]!.statusA, diff.runs[0]!.statusB]).toEqual(['passed', 'failed']);
  });

  it('GIVEN worse metrics in b THEN deltas are b − a with the direction each metric counts as worse, a starved pod included', () => {
    const metrics = Object.fromEntries(diffReports(fixtureReport(), laterReport()).runs[0]!.metrics.map((m) => [m.metric, m]));
    expect(metrics.jainIndex).toMatchObject({ a: 0.9999, b: 0.8, trend: 'worse' });
    expect(metrics.jainIndex!.delta).toBeCloseTo(-0.1999, 6);
    expect(metrics.errorsTotal).toEqual({ metric: 'errorsTotal', a: 3, b: 7, delta: 4, trend: 'worse' });
    expect(metrics.maxMinRatio).toEqual({ metric: 'maxMinRatio', a: 1.03, b: null, delta: null, trend: 'worse', note: 'starved in b: web-b' });
    expect(metrics.rebalanceSeconds).toMatchObject({ a: 2.5, b: 2.5, delta: 0, trend: 'same' });
    expect(Object.keys(metrics)).toEqual(['jainIndex', 'chiSquareP', 'maxMinRatio', 'errorsTotal', 'p50Ms', 'p99Ms', 'rebalanceSeconds']);
  });

  it('GIVEN runs present on one side only and a check gone THEN they are listed as absent/added/removed, not as regressions', () => {
    const b = fixtureReport();
    b.runs[0]!.checks.pop();
    b.runs[1]!.variant = 'mitigated';
    const diff = diffReports(fixtureReport(), b);
    expect(diff.regressions).toEqual([]);
    expect(diff.runs.map((run) => [`${run.proxyMode}/${run.variant}`, run.statusA, run.statusB])).toEqual([
      ['iptables/default', 'passed', 'passed'],
      ['nftables/default', 'failed', null],
      ['nftables/mitigated', null, 'failed'],
    ]);
    expect(diff.runs[0]!.checks.map((c) => c.change)).toEqual(['still-passing', 'removed']);
    expect(diff.runs[1]!.checks.map((c) => c.change)).toEqual(['removed', 'removed']);
    expect(diff.runs[2]!.checks.map((c) => c.change)).toEqual(['added', 'added']);
    expect(diff.runs[1]!.metrics).toEqual([]);
  });
});

describe('renderDiff', () => {
  it('GIVEN a regression THEN the text marks it and ends by naming it', () => {
    const text = renderDiff(diffReports(fixtureReport(), laterReport()));
    expect(text).toContain('## iptables/default (passed → failed)');
    expect(text).toContain('| spread | pass (0.42) | fail (0.0001) | **REGRESSED** |');
    expect(text).toContain('| Jain index | 0.9999 | 0.8 | -0.1999 | worse |');
    expect(text).toContain('| max/min | 1.03 | — |   | worse (starved in b: web-b) |');
    expect(text.trimEnd().split('\n').at(-1)).toBe('1 check regressed: iptables/default spread');
  });

  it('GIVEN no regression THEN it says so', () => {
    expect(renderDiff(diffReports(fixtureReport(), fixtureReport())).trimEnd().split('\n').at(-1)).toBe('No check regressed.');
  });
});

describe('renderDiff deltas', () => {
  it('GIVEN a p-value that fell THEN the delta is a plain signed number, and a latency delta stays in ms', () => {
    const b = fixtureReport();
    b.runs[0]!.metrics!.chiSquareP = 0.02;
    b.runs[0]!.latencyMs = { ...b.runs[0]!.latencyMs!, p99: 21.3 };
    const text = renderDiff(diffReports(fixtureReport(), b));
    expect(text).toContain('| χ² p | 0.420 | 0.020 | -0.4 | worse |');
    expect(text).toContain('| p99 | 9.80 ms | 21.3 ms | +11.5 ms | worse |');
  });
});
