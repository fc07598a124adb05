import { summarizeRun } from '../../../harness/analysis/run-summary.ts';
import { Recorder, type Attribution } from '../../../harness/recorder/recorder.ts';

const who = (pod: string, sequence: number): Attribution => ({
  pod, node: `node-${pod}`, podIp: `10.1.0.${pod.charCodeAt(0)}`, connectionId: `${pod}/1`, sequence, peerAddress: '',
});

const nulls = { p50: null, p90: null, p99: null, max: null };

// HdrHistogram (3 significant digits) reports a percentile as the highest value equivalent to its
// bucket: 50000 µs → 50.015 ms, 90000 → 90.047, 99000 → 99.007, 10000 → 10.007, 30000 → 30.015,
// 5000000 → 5001.215 (each within 0.1 % above the true value); below 2048 µs buckets are 1 µs wide, so
// 2000 µs → 2 ms exactly. `max` stays the exact
// largest value recorded (the recorder's histograms are merged in memory, not decoded).
describe('summarizeRun per-pod latency', () => {
  it('GIVEN two sources naming pod a (1..50 ms and 51..100 ms) THEN a\'s row merges them: p50 50, p90 90, p99 99, max 100 ms', () => {
    const recorder = new Recorder();
    const http = recorder.source('http');
    const grpc = recorder.source('grpc');
    for (let i = 1; i <= 50; i++) http.response(i, i, who('a', i), 'vip:80', undefined);
    for (let i = 1; i <= 4; i++) http.response(100 + i, 10, who('b', i), 'vip:80', undefined);
    for (let i = 51; i <= 100; i++) grpc.response(i, i, who('a', i - 50), 'vip:50051', undefined);
    for (let i = 1; i <= 2; i++) grpc.response(200 + i, 30, who('c', i), 'vip:50051', undefined);
    recorder.close();

    const run = summarizeRun([http.totals, grpc.totals], { unit: 'requests', expectedPods: ['a', 'b', 'c', 'd'] });
    expect(run.pods).toEqual([
      { name: 'a', node: 'node-a', ip: '10.1.0.97', requests: 100, connections: 2, share: 100 / 106, errors: 0, latencyMs: { p50: 50.015, p90: 90.047, p99: 99.007, max: 100 } },
      { name: 'b', node: 'node-b', ip: '10.1.0.98', requests: 4, connections: 1, share: 4 / 106, errors: 0, latencyMs: { p50: 10.007, p90: 10.007, p99: 10.007, max: 10 } },
      { name: 'c', node: 'node-c', ip: '10.1.0.99', requests: 2, connections: 1, share: 2 / 106, errors: 0, latencyMs: { p50: 30.015, p90: 30.015, p99: 30.015, max: 30 } },
      // Expected but never reached: no latency at all.
      { name: 'd', node: '', ip: '', requests: 0, connections: 0, share: 0, errors: 0, latencyMs: nulls },
    ]);
    // The existing fields keep their order; latencyMs comes last.
    expect(Object.keys(run.pods[0]!)).toEqual(['name', 'node', 'ip', 'requests', 'connections', 'share', 'errors', 'latencyMs']);
    // The run-wide latency is unchanged by the per-pod split: 106 values, the same p99 as a's.
    expect(run.latencyMs.p99).toBe(99.007);
  });

  it('GIVEN a pod whose connection timed out after 5 s THEN its own p99 shows it while the other pod\'s does not', () => {
    const recorder = new Recorder();
    const http = recorder.source('http');
    for (let i = 1; i <= 99; i++) http.response(i, 10, who('fast', i), 'vip:80', undefined);
    for (let i = 1; i <= 9; i++) http.response(100 + i, 10, who('slow', i), 'vip:80', undefined);
    http.failure(200, 5000, 'timeout', 'timed out', 'vip:80', 'slow');
    recorder.close();
    const run = summarizeRun([http.totals], { unit: 'requests' });
    expect(run.pods.map((p) => [p.name, p.requests, p.errors, p.latencyMs.p50, p.latencyMs.p99])).toEqual([
      ['fast', 99, 0, 10.007, 10.007],
      ['slow', 9, 1, 10.007, 5001.215],
    ]);
  });

  it('GIVEN a number of expected pods larger than those seen THEN the unseen-<i> rows have null latency', () => {
    const recorder = new Recorder();
    const http = recorder.source('http');
    http.response(1, 2, who('a', 1), 'vip:80', undefined);
    recorder.close();
    const run = summarizeRun([http.totals], { unit: 'requests', expectedPods: 3 });
    expect(run.pods.map((p) => [p.name, p.latencyMs])).toEqual([
      ['a', { p50: 2, p90: 2, p99: 2, max: 2 }],
      ['unseen-2', nulls],
      ['unseen-3', nulls],
    ]);
  });

  it('GIVEN no sources THEN no pods and null run latency', () => {
    const run = summarizeRun([], { unit: 'requests', expectedPods: ['x'] });
    expect(run.pods).toEqual([{ name: 'x', node: '', ip: '', requests: 0, connections: 0, share: 0, errors: 0, latencyMs: nulls }]);
    expect(run.latencyMs).toEqual(nulls);
  });
});
