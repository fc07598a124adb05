import { summarizeRun } from '../../../harness/analysis/run-summary.ts';
import { latencyPercentiles, mergeLatency, mergeLatencyByPod } from '../../../harness/analysis/latency.ts';
import { eventsOfKind } from '../../../harness/recorder/events.ts';
import { decodeHistogram, percentilesMs } from '../../../harness/recorder/histogram.ts';
import { memorySink, Recorder, sameAddress, type Attribution } from '../../../harness/recorder/recorder.ts';

const who = (pod: string, connection: number, sequence: number, peerAddress = '10.0.0.9'): Attribution => ({
  pod, node: `node-${pod}`, podIp: `10.1.0.${pod.charCodeAt(0)}`, connectionId: `${pod}/${connection}`, sequence, peerAddress,
});

describe('Recorder', () => {
  it('GIVEN node addresses WHEN a pod\'s peer is another node\'s address THEN it counts as a cross-node hop; its own node, a client or an unknown peer do not', () => {
    // Pod a runs on node-a; node-b (10.0.0.2) forwarded one request to it, node-a (10.0.0.1) one, a client (10.9.9.9) one.
    const recorder = new Recorder({ nodeAddresses: new Map([['10.0.0.1', 'node-a'], ['10.0.0.2', 'node-b']]) });
    const http = recorder.source('http');
    http.response(1000, 1, who('a', 1, 1, '::ffff:10.0.0.2'), 'lb:80', '10.9.9.9');
    http.response(1001, 1, who('a', 2, 1, '10.0.0.1'), 'lb:80', '10.9.9.9');
    http.response(1002, 1, who('a', 3, 1, '10.9.9.9'), 'lb:80', '10.9.9.9');
    expect(http.totals.pods.get('a')).toMatchObject({ hopChecked: 3, crossNode: 1 });
    const summary = summarizeRun([http.totals], { unit: 'requests' });
    expect(summary.metrics.crossNodeRatio).toBeCloseTo(1 / 3);
    expect(summary.pods[0]).toMatchObject({ name: 'a', crossNode: 1 });
    // Without node addresses nothing is claimed either way.
    const plain = new Recorder().source('http');
    plain.response(1000, 1, who('a', 1, 1, '10.0.0.2'), 'lb:80', '10.9.9.9');
    expect(summarizeRun([plain.totals], { unit: 'requests' }).metrics.crossNodeRatio).toBeUndefined();
  });

  it('GIVEN byPeer WHEN a proxy\'s two replicas carry requests to one pod THEN a sample per replica address (IPv4-mapped form folded); without byPeer one sample and no peer field', () => {
    const { sink, events } = memorySink();
    const proxied = new Recorder({ sink, granularity: 'pod', byPeer: true }).source('http');
    proxied.response(1000, 1, who('a', 1, 1, '::ffff:10.2.0.5'), 'ingress:80', undefined);
    proxied.response(1001, 1, who('a', 2, 1, '10.2.0.6'), 'ingress:80', undefined);
    proxied.response(1002, 1, who('a', 1, 2, '10.2.0.5'), 'ingress:80', undefined);
    proxied.flushAll();
    expect(eventsOfKind(events, 'request-sample').map((sample) => [sample.pod, sample.peer, sample.requests])).toEqual([['a', '10.2.0.5', 2], ['a', '10.2.0.6', 1]]);

    const direct = memorySink();
    const plain = new Recorder({ sink: direct.sink, granularity: 'pod' }).source('http');
    plain.response(1000, 1, who('a', 1, 1, '10.2.0.5'), 'vip:80', undefined);
    plain.response(1001, 1, who('a', 2, 1, '10.2.0.6'), 'vip:80', undefined);
    plain.flushAll();
    const [only, ...rest] = eventsOfKind(direct.events, 'request-sample');
    expect(rest).toEqual([]);
    expect(only).toMatchObject({ pod: 'a', requests: 2 });
    expect(only).not.toHaveProperty('peer');
  });

  it('GIVEN responses through a proxy THEN X-Forwarded-For is checked against the client\'s own address; direct responses claim nothing either way', () => {
    const http = new Recorder().source('http');
    http.response(1000, 1, { ...who('a', 1, 1, '10.2.0.5'), forwardedFor: '::ffff:203.0.113.7' }, 'lb:80', '203.0.113.7');
    http.response(1001, 1, { ...who('a', 2, 1, '10.2.0.5'), forwardedFor: '10.0.0.2' }, 'lb:80', '203.0.113.7');
    expect(summarizeRun([http.totals], { unit: 'requests' }).metrics).toMatchObject({ forwardedForPreservedRatio: 0.5, sourceIpPreservedRatio: 0 });
    const direct = new Recorder().source('http');
    direct.response(1000, 1, who('a', 1, 1, '203.0.113.7'), 'lb:80', '203.0.113.7');
    expect(summarizeRun([direct.totals], { unit: 'requests' }).metrics).not.toHaveProperty('forwardedForPreservedRatio');
  });

  it('GIVEN responses in two seconds WHEN the second bucket starts THEN the first is written with exact counts', () => {
    const { sink, events } = memorySink();
    const recorder = new Recorder({ sink });
    const http = recorder.source('http');
    http.sent(1000.5, 3);
    http.response(1001, 2, who('a', 1, 1), 'vip:80', '10.0.0.9');
    http.response(1500, 4, who('a', 1, 2), 'vip:80', '10.0.0.9');
    http.response(1999, 6, who('b', 1, 1, '10.244.0.1'), 'vip:80', '10.0.0.9');
    expect(events).toHaveLength(0);
    http.response(2000, 8, who('b', 1, 2), 'vip:80', '10.0.0.9', 'http-5xx', '503');
    // The bucket [1000, 2000) closed when time reached 2000.
    const requests = eventsOfKind(events, 'request-sample');
    expect(requests).toEqual([
      { kind: 'request-sample', t: 1000, bucketMs: 1000, source: 'http', pod: 'a', node: 'node-a', podIp: '10.1.0.97', connectionId: 'a/1', via: 'vip:80', requests: 2, errors: 0, newConnections: 1, peerChecked: 2, peerPreserved: 2, firstAt: 1001, lastAt: 1500 },
      { kind: 'request-sample', t: 1000, bucketMs: 1000, source: 'http', pod: 'b', node: 'node-b', podIp: '10.1.0.98', connectionId: 'b/1', via: 'vip:80', requests: 1, errors: 0, newConnections: 1, peerChecked: 1, peerPreserved: 0, firstAt: 1999, lastAt: 1999 },
    ]);
    // One latency-histogram per pod in the bucket: a (2 and 4 ms), b (6 ms).
    const latencies = eventsOfKind(events, 'latency-histogram');
    expect(latencies.map((h) => [h.t, h.pod, h.count])).toEqual([[1000, 'a', 2], [1000, 'b', 1]]);
    expect(decodeHistogram(latencies[0]!.histogram).totalCount).toBe(2);
    expect(latencies[0]?.maxMs).toBeCloseTo(4, 2);
    expect(latencies[1]?.maxMs).toBeCloseTo(6, 2);
    expect(eventsOfKind(events, 'load-sample')).toEqual([{ kind: 'load-sample', t: 1000, bucketMs: 1000, source: 'http', sent: 3, completed: 3, unattributed: 0, dropped: 0 }]);

    recorder.close();
    const errors = eventsOfKind(events, 'error-sample');
    expect(errors).toEqual([{ kind: 'error-sample', t: 2000, bucketMs: 1000, source: 'http', errorKind: 'http-5xx', pod: 'b', connectionPod: '', via: 'vip:80', count: 1, example: '503', firstAt: 2000, lastAt: 2000 }]);
    const totals = http.totals;
    expect(totals.completed).toBe(4);
    expect(totals.attributed).toBe(4);
    expect(totals.errorsByKind).toEqual({ 'http-5xx': 1 });
    expect(totals.pods.get('b')).toMatchObject({ requests: 2, errorResponses: 1, errors: 1, newConnections: 1 });
  });

  it('GIVEN transport failures and unattributed responses THEN they are counted, the reset charged to the connection\'s pod', () => {
    const recorder = new Recorder();
    const http = recorder.source('http');
    http.response(10, 1, who('a', 1, 1), 'vip:80', undefined);
    http.response(11, 1, undefined, 'vip:80', undefined);
    http.failure(12, 3, 'reset', 'ECONNRESET', 'vip:80', 'a');
    http.failure(13, undefined, 'refused', 'ECONNREFUSED', 'vip:80');
    recorder.close();
    expect(http.totals).toMatchObject({ completed: 4, attributed: 1, unattributed: 1, errors: 2, errorsByKind: { reset: 1, refused: 1 } });
    expect(http.totals.pods.get('a')).toMatchObject({ requests: 1, errors: 1, errorResponses: 0 });
    // Latency holds the response times and the reset (it had waited 3 ms); the refused one had no latency.
    expect(http.totals.latency.totalCount).toBe(3);
  });

  it('GIVEN 200k responses over 200 seconds WHEN recorded THEN at most one bucket stays open and each second is written once per key', () => {
    const { sink, events } = memorySink();
    const recorder = new Recorder({ sink, granularity: 'pod' });
    const http = recorder.source('http');
    let maxOpen = 0;
    for (let i = 0; i < 200_000; i++) {
      http.response(i, 1 + (i % 7), who(['a', 'b', 'c'][i % 3]!, i % 10, (i % 50) + 1), 'vip:80', '10.0.0.9');
      if (http.openBuckets > maxOpen) maxOpen = http.openBuckets;
    }
    expect(maxOpen).toBe(1);
    recorder.close();
    const samples = eventsOfKind(events, 'request-sample');
    expect(samples).toHaveLength(200 * 3);
    expect(samples.reduce((sum, s) => sum + s.requests, 0)).toBe(200_000);
    // Sequence 1 occurs once every 50 responses: 4000 connections' first answers.
    expect(samples.reduce((sum, s) => sum + s.newConnections, 0)).toBe(4000);
    expect(samples.every((s) => s.connectionId === undefined)).toBe(true);
    // Per-pod latency stays bounded: one run-wide histogram per pod, and one per pod per open bucket
    // taken from (and returned to) the spare pool — not one per bucket.
    expect([...http.totals.pods.values()].map((p) => p.latency.totalCount)).toEqual([66_667, 66_667, 66_666]);
    expect((http as unknown as { spareHistograms: unknown[] }).spareHistograms).toHaveLength(3);
    const histograms = eventsOfKind(events, 'latency-histogram');
    expect(histograms).toHaveLength(200 * 3);
    expect(histograms.reduce((sum, h) => sum + h.count, 0)).toBe(200_000);
  });

  it('GIVEN out-of-order events within the lateness window THEN they join their bucket; later ones add a second sample for it', () => {
    const { sink, events } = memorySink();
    const recorder = new Recorder({ sink, latenessMs: 2000 });
    const k6 = recorder.source('k6');
    k6.response(1500, 1, who('a', 1, 1), 'vip:80', undefined);
    k6.response(3200, 1, who('a', 1, 2), 'vip:80', undefined);
    k6.response(1700, 1, who('a', 1, 3), 'vip:80', undefined); // late, bucket 1000 still open (3200 − 2000 < 2000)
    k6.response(4100, 1, who('a', 1, 4), 'vip:80', undefined); // closes bucket 1000
    k6.response(1800, 1, who('a', 1, 5), 'vip:80', undefined); // too late: a second sample for bucket 1000
    recorder.close();
    const bucket1 = eventsOfKind(events, 'request-sample').filter((s) => s.t === 1000);
    expect(bucket1.map((s) => s.requests)).toEqual([2, 1]);
  });

  it('GIVEN IPv4-mapped IPv6 addresses THEN they compare equal to IPv4', () => {
    expect(sameAddress('::ffff:127.0.0.1', '127.0.0.1')).toBe(true);
    expect(sameAddress('::1', '127.0.0.1')).toBe(false);
  });

  it('GIVEN 100 latencies of 1..100 ms in histogram events THEN merged percentiles are p50 = 50 and p99 = 99 ms (to 3 significant digits)', () => {
    const { sink, events } = memorySink();
    const recorder = new Recorder({ sink });
    const http = recorder.source('http');
    for (let i = 1; i <= 100; i++) http.response(i * 20, i, who('a', 1, i), 'vip:80', undefined); // spans buckets 0 and 1
    recorder.close();
    const histograms = eventsOfKind(events, 'latency-histogram');
    expect(histograms).toHaveLength(3);
    const summary = latencyPercentiles(mergeLatency(histograms));
    expect(summary.count).toBe(100);
    // HdrHistogram reports a bucket's highest equivalent value: within 0.1 %.
    expect(summary.p50).toBeGreaterThanOrEqual(50);
    expect(summary.p50).toBeLessThanOrEqual(50.05);
    expect(summary.p99).toBeGreaterThanOrEqual(99);
    expect(summary.p99).toBeLessThanOrEqual(99.1);
    expect(summary.max).toBeCloseTo(100, 1);
  });
});

describe('Recorder per-pod latency', () => {
  // HdrHistogram (3 significant digits) reports a value's bucket's highest equivalent value:
  // 50 ms = 50000 µs sits in a 32 µs-wide bucket [49984, 50015] → 50.015; 90000 µs → [89984, 90047];
  // 99000 µs → [98944, 99007]; 100000 µs → [99968, 100031]; 200000 µs → [199936, 200063];
  // 5 s = 5000000 µs → [4997120, 5001215]. All within 0.1 % above the recorded value. `max` is the
  // exact largest value recorded in the histogram itself (merged or decoded ones may round it up).
  it('GIVEN pod a answering in 1..100 ms and pod b in 200 ms, with a 5 s timeout on b\'s connection THEN each pod\'s histogram has exactly its own latencies', () => {
    const { sink, events } = memorySink();
    const recorder = new Recorder({ sink, granularity: 'pod' });
    const http = recorder.source('http');
    for (let i = 1; i <= 9; i++) http.response(i, 200, who('b', 1, i), 'vip:80', undefined);
    http.failure(10, 5000, 'timeout', 'timed out', 'vip:80', 'b'); // charged to b: the client waited on b's connection
    http.failure(11, 7, 'reset', 'ECONNRESET', 'vip:80', 'z'); // z never answered: no pod to charge
    http.response(12, 3, undefined, 'vip:80', undefined); // unattributed
    for (let i = 1; i <= 100; i++) http.response(i * 30, i, who('a', 1, i), 'vip:80', undefined); // 33 per bucket 0..2, 1 in bucket 3
    recorder.close();

    const a = http.totals.pods.get('a')!;
    const b = http.totals.pods.get('b')!;
    expect(a.latency.totalCount).toBe(100);
    expect(percentilesMs(a.latency)).toEqual({ p50: 50.015, p90: 90.047, p99: 99.007, max: 100 });
    // b: nine 200 ms responses and the 5 s timeout: p50/p90 = 200 ms, p99 (the 10th of 10) = 5 s.
    expect(b.latency.totalCount).toBe(10);
    expect(b.requests).toBe(9);
    expect(b.errors).toBe(1);
    expect(percentilesMs(b.latency)).toEqual({ p50: 200.063, p90: 200.063, p99: 5001.215, max: 5000 });
    expect(http.totals.pods.has('z')).toBe(false);
    // Run-wide: 100 + 10 + the reset + the unattributed response.
    expect(http.totals.latency.totalCount).toBe(112);

    // The per-second events partition each bucket by pod ('' = none); merged, they give the totals.
    const histograms = eventsOfKind(events, 'latency-histogram');
    expect(histograms.filter((h) => h.t === 0).map((h) => [h.pod, h.count])).toEqual([['b', 10], [undefined, 2], ['a', 33]]);
    expect(histograms.every((h) => h.pod !== '')).toBe(true);
    expect(mergeLatency(histograms).totalCount).toBe(112);
    const byPod = mergeLatencyByPod(histograms);
    expect([...byPod.keys()].sort()).toEqual(['', 'a', 'b']);
    expect(percentilesMs(byPod.get('a')!)).toEqual({ p50: 50.015, p90: 90.047, p99: 99.007, max: 100.031 });
    expect(percentilesMs(byPod.get('b')!)).toEqual({ p50: 200.063, p90: 200.063, p99: 5001.215, max: 5001.215 });
    expect(percentilesMs(byPod.get('')!)).toEqual({ p50: 3.001, p90: 7.003, p99: 7.003, max: 7.003 });
    // A window picks buckets: only [1000, 2000) of pod a, i.e. responses 34..66 (34 ms … 66 ms).
    expect(mergeLatencyByPod(histograms, { from: 1000, to: 2000 }).get('a')?.totalCount).toBe(33);
  });

  it('GIVEN a failure on a pod\'s connection before that pod ever answered THEN it is not charged to it (neither in errors nor in latency)', () => {
    const recorder = new Recorder();
    const http = recorder.source('http');
    http.failure(10, 1000, 'timeout', 'timed out', 'vip:80', 'a');
    http.response(20, 2, who('a', 1, 1), 'vip:80', undefined);
    recorder.close();
    expect(http.totals.pods.get('a')).toMatchObject({ requests: 1, errors: 0 });
    expect(http.totals.pods.get('a')?.latency.totalCount).toBe(1);
    expect(http.totals.latency.totalCount).toBe(2);
  });
});

describe('summarizeRun', () => {
  it('GIVEN 3 pods with 50/30/20 responses on 2/1/1 connections, one unseen expected pod THEN shares, errors and metrics are exact', () => {
    const recorder = new Recorder();
    const http = recorder.source('http');
    let t = 0;
    const send = (pod: string, connection: number, count: number) => {
      for (let s = 1; s <= count; s++) http.response(t++, 1, who(pod, connection, s), 'vip:80', '10.0.0.9');
    };
    send('a', 1, 25);
    send('a', 2, 25);
    send('b', 1, 30);
    send('c', 1, 20);
    http.failure(t++, 5, 'reset', 'ECONNRESET', 'vip:80', 'c');
    recorder.close();
    const run = summarizeRun([http.totals], { unit: 'requests', expectedPods: ['a', 'b', 'c', 'd'], serverCounts: new Map([['a', 50], ['b', 30], ['c', 21]]) });
    expect(run.pods.map((p) => [p.name, p.requests, p.connections, p.share, p.errors])).toEqual([
      ['a', 50, 2, 0.5, 0],
      ['b', 30, 1, 0.3, 0],
      ['c', 20, 1, 0.2, 1],
      ['d', 0, 0, 0, 0],
    ]);
    expect(run.totals).toEqual({ requests: 101, attributed: 100, unattributed: 0, errors: 1, dropped: 0, serverCounted: 101 });
    expect(run.errors).toEqual({ total: 1, byKind: { reset: 1 } });
    expect(run.metrics.maxMinRatio).toBeNull();
    expect(run.metrics.starvedPods).toEqual(['d']);
    // Σx = 100, Σx² = 3800, n = 4 → 10000 / 15200.
    expect(run.metrics.jainIndex).toBeCloseTo(10000 / 15200, 12);
    // E = 25 each: (625 + 25 + 25 + 625) / 25 = 52, df = 3.
    expect(run.metrics.chiSquare.statistic).toBeCloseTo(52, 10);
    expect(run.metrics.chiSquare.unit).toBe('requests');
    expect(run.metrics.sourceIpPreservedRatio).toBe(1);
    expect(run.crossCheck?.agree).toBe(false);
    expect(run.crossCheck?.differences).toEqual(['c: server counted 21 requests, clients attributed 20 (difference +1)']);
    expect(run.load.coordinatedOmission).toBe(false);
  });
});
