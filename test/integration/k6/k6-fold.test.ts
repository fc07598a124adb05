import { jest } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summarizeRun } from '../../../harness/analysis/run-summary.ts';
import { foldK6Output } from '../../../harness/k6/fold.ts';
import { runK6 } from '../../../harness/k6/runner.ts';
import { runHttpLoad } from '../../../harness/load/http/driver.ts';
import { eventsOfKind, type TimelineEvent } from '../../../harness/recorder/events.ts';
import { epochNow, memorySink, Recorder } from '../../../harness/recorder/recorder.ts';
import { startHttpServer, type RunningHttpServer } from '../../../harness/workloads/http/server.ts';
import { startRoundRobinProxy } from '../load/support/round-robin-proxy.ts';

jest.setTimeout(120_000);

const started: RunningHttpServer[] = [];
async function server(pod: string): Promise<RunningHttpServer> {
  const running = await startHttpServer({ host: '127.0.0.1', port: 0, pod, node: `node-${pod}` } as Parameters<typeof startHttpServer>[0]);
  started.push(running);
  return running;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()));
});

describe('k6 (the real binary) folded into the recorder', () => {
  it('GIVEN k6 at 50/s for 2 s against one pod THEN every response k6 sent is attributed in the same events the built-in drivers produce, and the server counted as many', async () => {
    const pod = await server('k6-a');
    const { sink, events } = memorySink();
    const recorder = new Recorder({ sink, latenessMs: 5000 });
    const result = await runK6({ target: `${pod.url}/`, rate: 50, durationMs: 2000, vus: 5, recorder });
    recorder.close();
    expect(result.exitCode).toBe(0);
    // k6 schedules an iteration at t = 0 and one every 20 ms up to and including the end (100 or
    // 101); on a busy host it may drop some (dropped_iterations). Whatever k6 says it sent must be
    // exactly what was attributed and what the server counted.
    const sent = result.counts.httpReqs;
    expect(sent + result.counts.dropped).toBeGreaterThanOrEqual(90);
    expect(sent + result.counts.dropped).toBeLessThanOrEqual(101);
    expect(result.counts).toMatchObject({ served: sent, skipped: 0 });
    expect(result.totals).toMatchObject({ sent, completed: sent, attributed: sent, errors: 0, dropped: result.counts.dropped });
    expect(pod.metrics().requestsTotal).toBe(sent);
    const samples = eventsOfKind(events, 'request-sample').filter((s) => s.source === 'k6');
    expect(samples.reduce((sum, s) => sum + s.requests, 0)).toBe(sent);
    expect(samples.every((s) => s.pod === 'k6-a' && s.node === 'node-k6-a')).toBe(true);
    // New connections: as many as the server accepted.
    expect(result.totals.pods.get('k6-a')?.newConnections).toBe(pod.metrics().connectionsTotal);
    expect(eventsOfKind(events, 'latency-histogram').some((h) => h.source === 'k6')).toBe(true);
  });

  it('GIVEN 3 pods behind a connection round-robin WHEN k6 and the built-in driver each open a connection per request THEN both see even shares (χ² p > 0.05)', async () => {
    const pods = [await server('a'), await server('b'), await server('c')];
    const proxy = await startRoundRobinProxy(pods.map((p) => p.port));
    try {
      const k6Recorder = new Recorder({ latenessMs: 5000 });
      const k6 = await runK6({ target: `http://127.0.0.1:${proxy.port}/`, rate: 45, durationMs: 2000, vus: 5, noConnectionReuse: true, recorder: k6Recorder });
      k6Recorder.close();
      const builtInRecorder = new Recorder();
      const builtIn = await runHttpLoad({ target: `http://127.0.0.1:${proxy.port}/`, model: 'short-lived', connections: 5, arrival: { executor: 'constant-arrival-rate', rate: 45, durationMs: 2000 }, recorder: builtInRecorder });
      builtInRecorder.close();
      const k6Run = summarizeRun([k6.totals], { unit: 'requests' });
      const builtInRun = summarizeRun([builtIn.totals], { unit: 'requests' });
      expect(k6Run.totals.attributed).toBe(k6.counts.httpReqs);
      expect(builtInRun.totals.attributed).toBe(90);
      for (const run of [k6Run, builtInRun]) {
        expect(run.pods.map((p) => p.name)).toEqual(['a', 'b', 'c']);
        expect(run.metrics.chiSquareP!).toBeGreaterThan(0.05);
        for (const p of run.pods) expect(Math.abs(p.requests - 30)).toBeLessThanOrEqual(2);
      }
      expect(proxy.accepted()).toBe(90 + k6.counts.httpReqs);
    } finally {
      await proxy.close();
    }
  });

  it('GIVEN a 4 s k6 run WHEN its output is folded live THEN the first seconds reach the sink while k6 still runs, and the totals equal the server\'s counters and the fold of the finished file', async () => {
    const pod = await server('k6-live');
    const dir = mkdtempSync(join(tmpdir(), 'kth-k6-live-'));
    try {
      const outFile = join(dir, 'k6.json');
      const emitted: Array<{ event: TimelineEvent; at: number }> = [];
      // 1 s lateness: a second is written once k6's points are a second past its end.
      const recorder = new Recorder({ latenessMs: 1000, sink: (event) => emitted.push({ event, at: epochNow() }) });
      const result = await runK6({ target: `${pod.url}/`, rate: 50, durationMs: 4000, vus: 5, recorder, outFile });
      recorder.close();
      expect(result.exitCode).toBe(0);

      const samples = emitted.filter(({ event }) => event.kind === 'request-sample' && event.source === 'k6');
      const beforeExit = samples.filter(({ at }) => at < result.exitedAt);
      expect(beforeExit.length).toBeGreaterThan(0);
      // Not just a hair before exit: the first second was written well inside the run.
      expect(samples[0]!.at).toBeLessThan(result.exitedAt - 1000);
      const firstSecond = Math.min(...samples.map(({ event }) => event.t));
      expect(beforeExit.some(({ event }) => event.t === firstSecond)).toBe(true);

      const sent = result.counts.httpReqs;
      expect(sent + result.counts.dropped).toBeGreaterThanOrEqual(180);
      expect(result.counts).toMatchObject({ served: sent, skipped: 0 });
      expect(result.totals).toMatchObject({ sent, completed: sent, attributed: sent, errors: 0 });
      expect(pod.metrics().requestsTotal).toBe(sent);
      const live = emitted.map(({ event }) => event);
      expect(eventsOfKind(live, 'request-sample').reduce((sum, s) => sum + s.requests, 0)).toBe(sent);

      // The same file folded after the fact: same counts, same totals, the very same events.
      const afterSink = memorySink();
      const afterRecorder = new Recorder({ latenessMs: 1000, sink: afterSink.sink });
      const afterSource = afterRecorder.source('k6', 'intended');
      const afterCounts = await foldK6Output(outFile, afterSource, `127.0.0.1:${pod.port}`);
      afterRecorder.close();
      expect(afterCounts).toEqual(result.counts);
      expect(afterSource.totals).toMatchObject({ sent, completed: sent, attributed: sent, dropped: result.totals.dropped, errors: 0 });
      expect(afterSource.totals.latency.totalCount).toBe(result.totals.latency.totalCount);
      expect(afterSink.events).toEqual(live);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
