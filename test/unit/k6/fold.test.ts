import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { foldK6Output, foldPoint, k6ErrorKind, k6Time, type FoldCounts, type K6Point } from '../../../harness/k6/fold.ts';
import { memorySink, Recorder } from '../../../harness/recorder/recorder.ts';

const point = (metric: string, value: number, tags: Record<string, string> = {}, metadata: Record<string, string> = {}, time = '2026-11-25T17:07:20.617120667Z'): K6Point => ({ type: 'Point', metric, data: { time, value, tags, metadata } });

describe('k6 JSON output fold', () => {
  it('GIVEN an RFC 3339 time with nanoseconds THEN epoch ms keeps the sub-millisecond part', () => {
    expect(k6Time('2026-11-25T17:07:20.617120667Z')).toBeCloseTo(Date.UTC(2026, 10, 25, 17, 7, 20) + 617.120667, 4);
    expect(k6Time('2026-11-25T17:07:20Z')).toBe(Date.UTC(2026, 10, 25, 17, 7, 20));
  });
  it('GIVEN k6 error codes THEN our kinds', () => {
    expect([1050, 1101, 1211, 1212, 1220, 1610, 1000].map(k6ErrorKind)).toEqual(['timeout', 'dns', 'timeout', 'refused', 'reset', 'goaway', 'other']);
  });
  it('GIVEN served points (a 200, a 503, a refused) plus http_reqs and dropped_iterations THEN the same totals the built-in drivers keep', () => {
    const source = new Recorder().source('k6');
    const counts: FoldCounts = { served: 0, httpReqs: 0, grpcReqs: 0, grpcRetries: 0, dropped: 0, skipped: 0 };
    const tags = { pod: 'p1', node: 'n1', pod_ip: '10.1.0.1', status: '200' };
    foldPoint(point('kth_served', 4.5, tags, { kth_connection: 'p1/1', kth_sequence: '1', kth_peer: '10.0.0.9:4000', kth_via: '10.96.0.10:80' }), source, 'vip:80', counts);
    foldPoint(point('kth_served', 2, { ...tags, status: '503' }, { kth_connection: 'p1/1', kth_sequence: '2' }), source, 'vip:80', counts);
    foldPoint(point('kth_served', 1, { status: '0' }, { kth_error: '1212 dial: connection refused' }), source, 'vip:80', counts);
    foldPoint(point('http_reqs', 1), source, 'vip:80', counts);
    foldPoint(point('http_reqs', 1), source, 'vip:80', counts);
    foldPoint(point('http_reqs', 1), source, 'vip:80', counts);
    foldPoint(point('dropped_iterations', 2), source, 'vip:80', counts);
    expect(counts).toEqual({ served: 3, httpReqs: 3, grpcReqs: 0, grpcRetries: 0, dropped: 2, skipped: 0 });
    expect(source.totals).toMatchObject({ sent: 3, completed: 3, attributed: 2, unattributed: 0, dropped: 2, errors: 2, errorsByKind: { 'http-5xx': 1, refused: 1 } });
    expect(source.totals.pods.get('p1')).toMatchObject({ requests: 2, newConnections: 1, errorResponses: 1, node: 'n1', podIp: '10.1.0.1' });
    expect(source.totals.latency.totalCount).toBe(3);
  });

  describe('gRPC points (grpc-shares.ts)', () => {
    const at = (ms: number) => `2026-11-25T17:07:20.${String(ms).padStart(3, '0')}500000Z`;
    const attempt = (call: string, ms: number, durationMs: number) => point('grpc_req_duration', durationMs, { status: '0', name: 'kth' }, { kth_call: call }, at(ms));
    const served = (call: string, ms: number, grpcStatus: number, tags: Record<string, string>, metadata: Record<string, string> = {}) =>
      point('kth_served', 9, { ...tags, grpc_status: String(grpcStatus) }, { kth_call: call, ...metadata }, at(ms));
    const fresh = () => ({ source: new Recorder().source('k6'), counts: { served: 0, httpReqs: 0, grpcReqs: 0, grpcRetries: 0, dropped: 0, skipped: 0 } as FoldCounts });
    const who = { pod: 'g1', node: 'n1', pod_ip: '10.1.0.7' };

    it('GIVEN an OK call THEN it is sent once (its grpc_req_duration point), attributed from its reply, with grpc-go\'s latency rather than the script\'s ms clock', () => {
      const { source, counts } = fresh();
      foldPoint(attempt('1:0', 100, 1.25), source, '10.96.0.20:9090', counts);
      foldPoint(served('1:0', 101, 0, who, { kth_connection: 'g1/3', kth_sequence: '1', kth_peer: '10.0.0.9:4100', kth_error: '' }), source, '10.96.0.20:9090', counts);
      foldPoint(attempt('1:1', 200, 0.5), source, '10.96.0.20:9090', counts);
      foldPoint(served('1:1', 200, 0, who, { kth_connection: 'g1/3', kth_sequence: '2', kth_peer: '10.0.0.9:4100', kth_error: '' }), source, '10.96.0.20:9090', counts);
      expect(counts).toEqual({ served: 2, httpReqs: 0, grpcReqs: 2, grpcRetries: 0, dropped: 0, skipped: 0 });
      expect(source.totals).toMatchObject({ sent: 2, completed: 2, attributed: 2, unattributed: 0, errors: 0 });
      expect(source.totals.pods.get('g1')).toMatchObject({ requests: 2, newConnections: 1, node: 'n1', podIp: '10.1.0.7' });
      // Latencies 1.25 and 0.5 ms, not the kth_served value (9).
      expect(source.totals.latency.maxValue / 1000).toBeLessThan(2);
      expect(source.totals.latency.totalCount).toBe(2);
    });

    it('GIVEN error statuses THEN failures of the harness\'s gRPC kinds (deadline, GOAWAY, refused connect), never mistaken for HTTP statuses', () => {
      const { source, counts } = fresh();
      foldPoint(attempt('2:0', 100, 10), source, 'vip:9090', counts);
      foldPoint(served('2:0', 100, 4, {}, { kth_error: 'context deadline exceeded' }), source, 'vip:9090', counts);
      foldPoint(attempt('2:1', 200, 1), source, 'vip:9090', counts);
      foldPoint(served('2:1', 200, 14, {}, { kth_error: 'the connection is draining due to GOAWAY' }), source, 'vip:9090', counts);
      // connect() threw: no RPC attempt, so no grpc_req_duration; the call is sent with its kth_served point.
      foldPoint(served('3:0', 300, 14, {}, { kth_error: 'GoError: connection error: desc = "transport: error while dialing: dial tcp 10.96.0.20:9090: connect: connection refused"' }), source, 'vip:9090', counts);
      foldPoint(attempt('2:2', 400, 1), source, 'vip:9090', counts);
      foldPoint(served('2:2', 400, 13, {}, { kth_error: 'boom' }), source, 'vip:9090', counts);
      expect(counts).toEqual({ served: 4, httpReqs: 0, grpcReqs: 3, grpcRetries: 0, dropped: 0, skipped: 0 });
      expect(source.totals).toMatchObject({ sent: 4, completed: 4, attributed: 0, errors: 4, errorsByKind: { 'grpc-deadline-exceeded': 1, goaway: 1, refused: 1, 'grpc-internal': 1 } });
    });

    it('GIVEN a call grpc-go retried transparently (two grpc_req_duration points) THEN it is sent once, the retry counted, and its latency spans both attempts', () => {
      const { source, counts } = fresh();
      foldPoint(attempt('4:0', 100, 2), source, 'vip:9090', counts);
      foldPoint(attempt('4:0', 105, 3), source, 'vip:9090', counts);
      foldPoint(served('4:0', 106, 0, who, { kth_connection: 'g1/4', kth_sequence: '1' }), source, 'vip:9090', counts);
      expect(counts).toMatchObject({ served: 1, grpcReqs: 2, grpcRetries: 1 });
      expect(source.totals).toMatchObject({ sent: 1, completed: 1, attributed: 1 });
      // From 98 ms (the first attempt's start) to 105 ms (the second's end).
      expect(source.totals.latency.maxValue / 1000).toBeGreaterThanOrEqual(6.9);
      expect(source.totals.latency.maxValue / 1000).toBeLessThanOrEqual(7.1);
    });

    it('GIVEN a script without kth_call metadata THEN grpc_req_duration alone counts as sent (like http_reqs)', () => {
      const { source, counts } = fresh();
      foldPoint(point('grpc_req_duration', 1, { status: '0' }, {}, at(100)), source, 'vip:9090', counts);
      foldPoint(point('kth_served', 1, { ...who, grpc_status: '0' }, {}, at(100)), source, 'vip:9090', counts);
      expect(source.totals).toMatchObject({ sent: 1, completed: 1, attributed: 1 });
    });
  });

  it('GIVEN an output file with a metric declaration, points, a malformed line, a non-point and a last line without newline WHEN folded live as it is written THEN counts and events equal the fold of the finished file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kth-fold-'));
    try {
      const file = join(dir, 'k6.json');
      const second = (s: number) => `2026-11-25T17:07:${String(20 + s).padStart(2, '0')}.5Z`;
      const served = (s: number) => JSON.stringify(point('kth_served', 3, { pod: 'p1', node: 'n1', status: '200' }, { kth_connection: 'p1/1', kth_sequence: String(s + 1) }, second(s)));
      const pieces = [
        '{"type":"Metric","data":{"name":"kth_served"},"metric":"kth_served"}\n',
        `${JSON.stringify(point('http_reqs', 1, {}, {}, second(0)))}\n${served(0)}\n`,
        'not json\n{"type":"Summary"}\n\n',
        `${JSON.stringify(point('http_reqs', 1, {}, {}, second(1)))}\n${served(1).slice(0, 40)}`,
        `${served(1).slice(40)}\n${JSON.stringify(point('http_reqs', 1, {}, {}, second(2)))}\n`,
        served(2),
      ];
      writeFileSync(file, '');
      const live = memorySink();
      const liveSource = new Recorder({ sink: live.sink }).source('k6');
      const writer = (async () => {
        for (const piece of pieces) {
          appendFileSync(file, piece);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })();
      const liveCounts = await foldK6Output(file, liveSource, 'vip:80', { until: writer, intervalMs: 3 });
      liveSource.flushAll();
      expect(readFileSync(file, 'utf8')).toBe(pieces.join(''));

      const after = memorySink();
      const afterSource = new Recorder({ sink: after.sink }).source('k6');
      const afterCounts = await foldK6Output(file, afterSource, 'vip:80');
      afterSource.flushAll();
      expect(liveCounts).toEqual({ served: 3, httpReqs: 3, grpcReqs: 0, grpcRetries: 0, dropped: 0, skipped: 2 });
      expect(afterCounts).toEqual(liveCounts);
      expect(live.events).toEqual(after.events);
      expect(liveSource.totals).toMatchObject({ sent: 3, completed: 3, attributed: 3 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
