import { jest } from '@jest/globals';
import { summarizeRun } from '../../../harness/analysis/run-summary.ts';
import { runK6 } from '../../../harness/k6/runner.ts';
import { runHttpLoad } from '../../../harness/load/http/driver.ts';
import { eventsOfKind } from '../../../harness/recorder/events.ts';
import { memorySink, Recorder } from '../../../harness/recorder/recorder.ts';
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
});
