import type { PodRow } from '../../../harness/analysis/run-summary.ts';
import { reportSchemaVersion, type Report, type RunReport, type SeriesPoint } from '../../../harness/report/model.ts';

/** A pod name no Kubernetes would allow, to prove every renderer escapes data strings. */
export const evilPod = 'web-<&>"x\'';

/** Per-pod requests per second over 10 s; `chaosAt` seconds on, `drop` stops answering (deleted). */
function series(rates: Record<string, number>, drop?: { pod: string; fromSecond: number }): SeriesPoint[] {
  const points: SeriesPoint[] = [];
  for (let s = 0; s < 10; s++) {
    for (const [pod, rate] of Object.entries(rates)) {
      if (drop && pod === drop.pod && s >= drop.fromSecond) continue;
      points.push({ t: s * 1000, load: 'steady', pod, requests: rate, errors: pod === drop?.pod && s === drop.fromSecond - 1 ? 3 : 0 });
    }
  }
  return points;
}

function pods(counts: Record<string, { requests: number; connections: number; errors: number; node: string }>): PodRow[] {
  const attributed = Object.values(counts).reduce((sum, c) => sum + c.requests, 0);
  return Object.entries(counts).map(([name, c], i) => ({
    name,
    node: c.node,
    ip: `10.244.${i + 1}.7`,
    requests: c.requests,
    connections: c.connections,
    share: c.requests / attributed,
    errors: c.errors,
    latencyMs: { p50: 2.1, p90: 4.5, p99: 9.8, max: 31 },
  }));
}

/** Two runs of a proxy-mode matrix: iptables passes, nftables fails its χ² check; both have a pod-delete at 4 s. */
export function fixtureReport(): Report {
  const chaos = { t: 4000, kind: 'chaos', detail: `delete-pod ${evilPod} (graceful)` };
  const passed: RunReport = {
    proxyMode: 'iptables',
    variant: 'default',
    status: 'passed',
    durationMs: 10_000,
    pods: pods({
      'web-a': { requests: 340, connections: 4, errors: 0, node: 'lab-node-1' },
      'web-b': { requests: 330, connections: 4, errors: 0, node: 'lab-node-2' },
      [evilPod]: { requests: 330, connections: 4, errors: 3, node: 'lab-node-3' },
    }),
    totals: { requests: 1003, attributed: 1000, unattributed: 0, errors: 3, dropped: 0, serverCounted: 1000 },
    errors: { total: 3, byKind: { reset: 2, 'http-5xx': 1 } },
    latencyMs: { p50: 2.1, p90: 4.5, p99: 9.8, max: 31 },
    metrics: {
      jainIndex: 0.9999,
      maxMinRatio: 1.03,
      starvedPods: [],
      chiSquareP: 0.42,
      chiSquare: { unit: 'connections', n: 12, statistic: 0, degreesOfFreedom: 2, valid: false, note: 'expected counts below 5: the χ² approximation is unreliable' },
      sourceIpPreservedRatio: null,
      rebalanceSeconds: 2.5,
    },
    load: { source: 'http', latencyMeasuredFrom: 'intended', coordinatedOmission: false, sent: 1003 },
    crossCheck: {
      rows: [],
      clientTotal: 1000,
      serverTotal: 1000,
      agree: true,
      differences: [],
    },
    timeline: [chaos],
    series: series({ 'web-a': 34, 'web-b': 33, [evilPod]: 33 }),
    checks: [
      { name: 'spread', expect: 'metrics.chiSquareP >= 0.001', pass: true, value: 0.42, threshold: 0.001 },
      { name: 'errors', expect: 'errors.total <= 10', pass: true, value: 3, threshold: 10 },
    ],
  };
  const failed: RunReport = {
    ...passed,
    proxyMode: 'nftables',
    status: 'failed',
    pods: pods({
      'web-a': { requests: 700, connections: 9, errors: 0, node: 'lab-node-1' },
      'web-b': { requests: 250, connections: 2, errors: 0, node: 'lab-node-2' },
      [evilPod]: { requests: 50, connections: 1, errors: 3, node: 'lab-node-3' },
    }),
    totals: { ...passed.totals!, serverCounted: 1001 },
    latencyMs: { p50: 2.4, p90: 5.1, p99: 14.2, max: 40 },
    metrics: { ...passed.metrics!, jainIndex: 0.5848, maxMinRatio: 14, chiSquareP: 0.0002, chiSquare: { ...passed.metrics!.chiSquare, statistic: 16.5, valid: true, note: '' } },
    load: { source: 'http', latencyMeasuredFrom: 'actual', coordinatedOmission: true, sent: 1003 },
    crossCheck: { rows: [], clientTotal: 1000, serverTotal: 1001, agree: false, differences: ['web-a: server counted 701 requests, clients attributed 700 (difference +1)'] },
    series: series({ 'web-a': 70, 'web-b': 25, [evilPod]: 5 }, { pod: evilPod, fromSecond: 5 }),
    checks: [
      { name: 'spread', expect: 'metrics.chiSquareP >= 0.001', pass: false, value: 0.0002, threshold: 0.001, note: 'one pod holds most connections' },
      { name: 'errors', expect: 'errors.total <= 10', pass: true, value: 3, threshold: 10 },
    ],
  };
  return {
    schemaVersion: reportSchemaVersion,
    runId: 'proxy-mode-matrix-2026-01-02T03-04-05Z',
    scenario: { name: 'proxy-mode-matrix', description: 'Same load & chaos under each proxy mode.', file: 'scenarios/proxy-mode-matrix.ts', sha256: 'a'.repeat(64) },
    startedAt: '2026-01-02T03:04:05.000Z',
    finishedAt: '2026-01-02T03:04:35.000Z',
    timeScale: 1,
    environment: { provider: 'lab', kubernetesVersion: 'v1.36.0', kernel: '6.8.0', harnessVersion: '0.1.0', host: 'ci-runner' },
    runs: [passed, failed],
  };
}
