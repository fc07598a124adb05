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
    const counts: FoldCounts = { served: 0, httpReqs: 0, dropped: 0, skipped: 0 };
    const tags = { pod: 'p1', node: 'n1', pod_ip: '10.1.0.1', status: '200' };
    foldPoint(point('kth_served', 4.5, tags, { kth_connection: 'p1/1', kth_sequence: '1', kth_peer: '10.0.0.9:4000', kth_via: '10.96.0.10:80' }), source, 'vip:80', counts);
    foldPoint(point('kth_served', 2, { ...tags, status: '503' }, { kth_connection: 'p1/1', kth_sequence: '2' }), source, 'vip:80', counts);
    foldPoint(point('kth_served', 1, { status: '0' }, { kth_error: '1212 dial: connection refused' }), source, 'vip:80', counts);
    foldPoint(point('http_reqs', 1), source, 'vip:80', counts);
    foldPoint(point('http_reqs', 1), source, 'vip:80', counts);
    foldPoint(point('http_reqs', 1), source, 'vip:80', counts);
    foldPoint(point('dropped_iterations', 2), source, 'vip:80', counts);
    expect(counts).toEqual({ served: 3, httpReqs: 3, dropped: 2, skipped: 0 });
    expect(source.totals).toMatchObject({ sent: 3, completed: 3, attributed: 2, unattributed: 0, dropped: 2, errors: 2, errorsByKind: { 'http-5xx': 1, refused: 1 } });
    expect(source.totals.pods.get('p1')).toMatchObject({ requests: 2, newConnections: 1, errorResponses: 1, node: 'n1', podIp: '10.1.0.1' });
    expect(source.totals.latency.totalCount).toBe(3);
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
      expect(liveCounts).toEqual({ served: 3, httpReqs: 3, dropped: 0, skipped: 2 });
      expect(afterCounts).toEqual(liveCounts);
      expect(live.events).toEqual(after.events);
      expect(liveSource.totals).toMatchObject({ sent: 3, completed: 3, attributed: 3 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
