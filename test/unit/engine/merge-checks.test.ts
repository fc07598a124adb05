import type { RunSummary } from '../../../harness/analysis/run-summary.ts';
import { rebalanceSeconds, seriesOf } from '../../../harness/engine/collect.ts';
import { mergeRuns } from '../../../harness/engine/merge.ts';
import type { RequestSample } from '../../../harness/recorder/events.ts';

const latency = { p50: 1, p90: 2, p99: 3, max: 4 };
function summary(source: string, pods: Record<string, [number, number]>, unit: 'connections' | 'requests'): RunSummary {
  const attributed = Object.values(pods).reduce((sum, [requests]) => sum + requests, 0);
  return {
    pods: Object.entries(pods).map(([name, [requests, connections]]) => ({ name, node: 'n', ip: '', requests, connections, share: requests / attributed, errors: 0, latencyMs: latency })),
    totals: { requests: attributed, attributed, unattributed: 0, errors: 0, dropped: 0, serverCounted: null },
    errors: { total: 0, byKind: {} },
    latencyMs: latency,
    metrics: { jainIndex: 1, maxMinRatio: 1, starvedPods: [], chiSquareP: 1, chiSquare: { unit, n: 0, statistic: 0, degreesOfFreedom: 0, valid: true, note: '' }, sourceIpPreservedRatio: null },
    load: { source, latencyMeasuredFrom: 'intended', coordinatedOmission: false, sent: attributed },
  };
}

describe('run-level view of several loads', () => {
  it('GIVEN one load THEN the run is that load, unchanged', () => {
    const one = summary('a', { p1: [10, 1] }, 'requests');
    expect(mergeRuns([one])).toEqual(one);
    expect(mergeRuns([])).toBeUndefined();
  });

  it('GIVEN two loads over the same pods THEN counts add up, shares and fairness are recomputed, and latency is not invented', () => {
    const merged = mergeRuns([summary('a', { p1: [90, 1], p2: [10, 1] }, 'requests'), summary('b', { p2: [80, 1], p3: [20, 1] }, 'requests')])!;
    expect(merged.pods.map((p) => [p.name, p.requests, p.connections])).toEqual([['p1', 90, 1], ['p2', 90, 2], ['p3', 20, 1]]);
    expect(merged.pods.map((p) => p.share)).toEqual([0.45, 0.45, 0.1]);
    expect(merged.totals.attributed).toBe(200);
    expect(merged.metrics.maxMinRatio).toBe(4.5);
    // Jain's index of 90, 90, 20: (200)² / (3 × 16600).
    expect(merged.metrics.jainIndex).toBeCloseTo(40_000 / 49_800, 10);
    expect(merged.metrics.chiSquareP).toBeLessThan(1e-6);
    expect(merged.latencyMs).toEqual({ p50: null, p90: null, p99: null, max: null });
    expect(merged.load.source).toBe('a+b');
  });
});

function sample(t: number, pod: string, requests: number): RequestSample {
  return { kind: 'request-sample', t, bucketMs: 1000, source: 'x', pod, node: 'n', podIp: '', via: 'v', requests, errors: 0, newConnections: 0, peerChecked: 0, peerPreserved: 0, firstAt: t, lastAt: t + 999 };
}

describe('series and rebalance from request samples', () => {
  it('GIVEN samples from two sources in the same second THEN the series sums them per pod, in ms from the run start', () => {
    const series = seriesOf('l', [sample(10_000, 'a', 3), sample(10_000, 'a', 2), sample(11_000, 'b', 1)], 9_000);
    expect(series).toEqual([{ t: 1000, load: 'l', pod: 'a', requests: 5, errors: 0 }, { t: 2000, load: 'l', pod: 'b', requests: 1, errors: 0 }]);
  });

  it('GIVEN a scale-out from 1 to 2 pods at t=2 s and the new pod reaching its fair share in the second starting at 4 s THEN rebalance takes 3 s', () => {
    const samples = [sample(1000, 'old', 10), sample(2000, 'old', 10), sample(3000, 'old', 9), sample(3000, 'new', 1), sample(4000, 'old', 5), sample(4000, 'new', 5)];
    expect(rebalanceSeconds(samples, 2000, ['old'], 2)).toBe(3);
  });

  it('GIVEN a scale-out whose new pod never served THEN there is no rebalance time', () => {
    expect(rebalanceSeconds([sample(3000, 'old', 10)], 2000, ['old'], 2)).toBeNull();
  });
});

describe('pods that got nothing', () => {
  it('GIVEN one load that never reached a pod the run expected THEN the pod is added with 0 and fairness says so', () => {
    const merged = mergeRuns([summary('a', { p1: [50, 1], p2: [50, 1] }, 'connections')], ['p1', 'p2', 'p3'])!;
    expect(merged.pods.map((p) => [p.name, p.requests])).toEqual([['p1', 50], ['p2', 50], ['p3', 0]]);
    expect(merged.metrics.starvedPods).toEqual(['p3']);
    expect(merged.metrics.maxMinRatio).toBeNull();
    expect(merged.metrics.jainIndex).toBeCloseTo(2 / 3, 10);
    expect(merged.latencyMs).toEqual(latency); // one load: its own percentiles stand
  });
});

describe('rebalance at a stated fraction', () => {
  it('GIVEN the new pod at 40 % of its fair share THEN it has not rebalanced at 0.8, but has at 0.3', () => {
    // 2 pods after the scale-out: fair share 50 %; the new pod holds 20 % = 40 % of it.
    const samples = [sample(1000, 'old', 10), sample(2000, 'old', 8), sample(2000, 'new', 2)];
    expect(rebalanceSeconds(samples, 1500, ['old'], 2)).toBeNull();
    expect(rebalanceSeconds(samples, 1500, ['old'], 2, 0.3)).toBe(1.5);
  });
});
