import { jest } from '@jest/globals';
import { summarizeRun } from '../../../harness/analysis/run-summary.ts';
import { runGrpcLoad, validateGrpcLoad } from '../../../harness/load/grpc/driver.ts';
import { counterDelta, scrapeServer } from '../../../harness/load/server-metrics.ts';
import { eventsOfKind } from '../../../harness/recorder/events.ts';
import { memorySink, Recorder } from '../../../harness/recorder/recorder.ts';
import { startGrpcServer, type RunningGrpcServer } from '../../../harness/workloads/grpc/server.ts';
import { startRoundRobinProxy } from './support/round-robin-proxy.ts';

jest.setTimeout(60_000);

const started: RunningGrpcServer[] = [];
async function server(pod: string, extra: Record<string, unknown> = {}): Promise<RunningGrpcServer> {
  const running = await startGrpcServer({ host: '127.0.0.1', port: 0, metricsPort: 0, pod, node: `node-${pod}`, ...extra } as Parameters<typeof startGrpcServer>[0]);
  started.push(running);
  return running;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()));
});

describe('gRPC driver against the sample server', () => {
  it.each(['h2', 'grpc-js'] as const)('GIVEN 2 pods behind a connection round-robin WHEN 3 channels make unary calls on the %s client THEN each channel sticks to its pod (2:1) and the servers count the same replies', async (client) => {
    const pods = [await server('a'), await server('b')];
    const proxy = await startRoundRobinProxy(pods.map((p) => p.port));
    try {
      const endpoints = pods.map((p) => ({ url: `${p.metricsUrl}/metrics`, pod: p.config.pod }));
      const before = await Promise.all(endpoints.map((e) => scrapeServer(e)));
      const recorder = new Recorder();
      const result = await runGrpcLoad({ target: `127.0.0.1:${proxy.port}`, channels: 3, call: 'unary', client, arrival: { executor: 'constant-arrival-rate', rate: 150, durationMs: 2000 }, recorder });
      recorder.close();
      const after = await Promise.all(endpoints.map((e) => scrapeServer(e)));
      const run = summarizeRun([result.totals], { unit: 'connections', serverCounts: counterDelta(before, after) });
      expect(result.schedule).toMatchObject({ scheduled: 300, sent: 300, dropped: 0 });
      // One connection per channel: channels 1 and 3 on a, channel 2 on b; 100 calls each.
      expect(run.pods.map((p) => [p.name, p.requests, p.connections])).toEqual([['a', 200, 2], ['b', 100, 1]]);
      expect(run.crossCheck?.agree).toBe(true);
      expect(run.totals.serverCounted).toBe(300);
      // Only the h2 client knows its own source address, so only it can check source-IP preservation.
      expect(run.metrics.sourceIpPreservedRatio).toBe(client === 'h2' ? 1 : null);
    } finally {
      await proxy.close();
    }
  });

  it('GIVEN a 300 ms max connection age WHEN unary calls flow THEN reconnects are seen and the inferred GOAWAYs never exceed the server\'s own count', async () => {
    const pod = await server('m', { maxConnectionAgeMs: 300 });
    const { sink, events } = memorySink();
    const recorder = new Recorder({ sink });
    const result = await runGrpcLoad({ target: pod.target, channels: 2, call: 'unary', client: 'grpc-js', arrival: { executor: 'constant-arrival-rate', rate: 100, durationMs: 2000 }, recorder });
    recorder.close();
    expect(result.totals.attributed + result.totals.errors).toBe(200);
    const metrics = pod.metrics();
    const serverGoaways = metrics.goawaysSent?.max_age ?? 0;
    const inferred = eventsOfKind(events, 'goaway').filter((g) => g.inferred).length;
    expect(serverGoaways).toBeGreaterThan(0);
    expect(inferred).toBeGreaterThan(0);
    expect(inferred).toBeLessThanOrEqual(serverGoaways);
    expect(eventsOfKind(events, 'connection-open').length).toBe(metrics.connectionsTotal);
    expect(eventsOfKind(events, 'channel-state').some((e) => e.from === 'READY' && e.to === 'IDLE')).toBe(true);
  });

  it('GIVEN a 300 ms max connection age WHEN unary calls flow on the h2 client THEN every GOAWAY frame is recorded as received (not inferred), no call fails, and each is followed by a new connection', async () => {
    const pod = await server('g', { maxConnectionAgeMs: 300 });
    const { sink, events } = memorySink();
    const recorder = new Recorder({ sink });
    const result = await runGrpcLoad({ target: pod.target, channels: 2, call: 'unary', arrival: { executor: 'constant-arrival-rate', rate: 100, durationMs: 2000 }, recorder });
    recorder.close();
    expect(result.totals).toMatchObject({ completed: 200, attributed: 200, errors: 0 });
    const metrics = pod.metrics();
    const serverGoaways = metrics.goawaysSent?.max_age ?? 0;
    const goaways = eventsOfKind(events, 'goaway');
    expect(serverGoaways).toBeGreaterThan(0);
    expect(goaways.length).toBeGreaterThan(0);
    expect(goaways.every((g) => !g.inferred && g.errorCode === 0 && g.pod === 'g')).toBe(true);
    // The run may end between a server's GOAWAY and its arrival: never more than the server sent.
    expect(goaways.length).toBeLessThanOrEqual(serverGoaways);
    expect(eventsOfKind(events, 'connection-open').length).toBe(metrics.connectionsTotal);
    expect(metrics.connectionsTotal).toBeGreaterThanOrEqual(2 + goaways.length);
  });

  it('GIVEN --client h2 for a streaming call THEN it is refused as bad input naming the client', () => {
    expect(() => validateGrpcLoad({ target: '127.0.0.1:1', channels: 1, call: 'bidi', client: 'h2', arrival: { executor: 'constant-arrival-rate', rate: 1, durationMs: 100 } })).toThrow(/client: h2 makes unary pick_first calls/);
  });

  it('GIVEN server-streaming calls of 5 replies THEN every reply is attributed and counted as the server counted it', async () => {
    const pod = await server('s');
    const recorder = new Recorder();
    const result = await runGrpcLoad({ target: pod.target, channels: 1, call: 'server-stream', streamCount: 5, arrival: { executor: 'constant-arrival-rate', rate: 20, durationMs: 1000 }, recorder });
    recorder.close();
    expect(result.schedule.sent).toBe(20);
    expect(result.totals.attributed).toBe(100);
    expect(pod.metrics().repliesTotal).toBe(100);
    // Only the first reply of the first call on the connection has sequence 1.
    expect(result.totals.pods.get('s')?.newConnections).toBe(1);
  });

  it('GIVEN a bidi stream per channel THEN every message gets its reply', async () => {
    const pod = await server('d');
    const recorder = new Recorder();
    const result = await runGrpcLoad({ target: pod.target, channels: 2, call: 'bidi', arrival: { executor: 'constant-arrival-rate', rate: 100, durationMs: 1000 }, recorder });
    recorder.close();
    expect(result.totals).toMatchObject({ completed: 100, attributed: 100, errors: 0 });
    expect(result.totals.pods.get('d')?.newConnections).toBe(2);
  });

  it.each(['h2', 'grpc-js'] as const)('GIVEN nothing listening WHEN the %s client calls THEN calls fail, classified (refused or unavailable), none attributed', async (client) => {
    const recorder = new Recorder();
    const result = await runGrpcLoad({ target: '127.0.0.1:1', channels: 1, call: 'unary', client, requestTimeoutMs: 1000, arrival: { executor: 'constant-arrival-rate', rate: 10, durationMs: 300 }, recorder });
    recorder.close();
    expect(result.totals.attributed).toBe(0);
    expect(result.totals.errors).toBe(3);
    expect(Object.keys(result.totals.errorsByKind).every((kind) => ['refused', 'grpc-unavailable', 'grpc-deadline-exceeded'].includes(kind))).toBe(true);
  });
});
