import { jest } from '@jest/globals';
import net from 'node:net';
import { summarizeRun } from '../../../harness/analysis/run-summary.ts';
import { runHttpLoad } from '../../../harness/load/http/driver.ts';
import { counterDelta, scrapeServer } from '../../../harness/load/server-metrics.ts';
import { eventsOfKind } from '../../../harness/recorder/events.ts';
import { memorySink, Recorder } from '../../../harness/recorder/recorder.ts';
import { startHttpServer, type RunningHttpServer } from '../../../harness/workloads/http/server.ts';
import { startRoundRobinProxy } from './support/round-robin-proxy.ts';

jest.setTimeout(60_000);

const started: RunningHttpServer[] = [];
async function server(pod: string, extra: Record<string, unknown> = {}): Promise<RunningHttpServer> {
  const running = await startHttpServer({ host: '127.0.0.1', port: 0, pod, node: `node-${pod}`, podIp: '127.0.0.1', ...extra } as Parameters<typeof startHttpServer>[0]);
  started.push(running);
  return running;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()));
});

describe('HTTP driver against the sample servers', () => {
  it('GIVEN 3 pods behind a connection round-robin WHEN 4 persistent connections share 400 requests THEN pod a (connections 1 and 4) serves exactly half, and client and server counts agree', async () => {
    const pods = [await server('a'), await server('b'), await server('c')];
    const proxy = await startRoundRobinProxy(pods.map((p) => p.port));
    try {
      const endpoints = pods.map((p) => ({ url: `${p.url}/metrics` }));
      const before = await Promise.all(endpoints.map((e) => scrapeServer(e)));
      const { sink, events } = memorySink();
      const recorder = new Recorder({ sink });
      const result = await runHttpLoad({ target: `http://127.0.0.1:${proxy.port}/`, model: 'persistent', connections: 4, arrival: { executor: 'constant-arrival-rate', rate: 200, durationMs: 2000 }, recorder });
      recorder.close();
      const after = await Promise.all(endpoints.map((e) => scrapeServer(e)));
      const run = summarizeRun([result.totals], { unit: 'connections', serverCounts: counterDelta(before, after) });

      expect(result.schedule).toMatchObject({ scheduled: 400, sent: 400, dropped: 0, abandoned: 0 });
      // Each connection carries its own 100 requests (arrival i → connection i mod 4); the proxy
      // put connections 1 and 4 on a, 2 on b, 3 on c.
      expect(run.pods.map((p) => [p.name, p.requests, p.connections])).toEqual([['a', 200, 2], ['b', 100, 1], ['c', 100, 1]]);
      expect(run.pods.map((p) => p.share)).toEqual([0.5, 0.25, 0.25]);
      expect(run.totals).toMatchObject({ requests: 400, attributed: 400, unattributed: 0, errors: 0, serverCounted: 400 });
      expect(run.crossCheck?.agree).toBe(true);
      expect(run.metrics.chiSquare.unit).toBe('connections');
      expect(eventsOfKind(events, 'connection-open')).toHaveLength(4);
      expect(eventsOfKind(events, 'connection-close').map((e) => e.requests).sort()).toEqual([100, 100, 100, 100]);
      expect(eventsOfKind(events, 'request-sample').reduce((sum, s) => sum + s.requests, 0)).toBe(400);
    } finally {
      await proxy.close();
    }
  });

  it('GIVEN 3 pods behind the round-robin WHEN every request opens its own connection THEN 300 requests split 100/100/100 and the chi-square test passes', async () => {
    const pods = [await server('a'), await server('b'), await server('c')];
    const proxy = await startRoundRobinProxy(pods.map((p) => p.port));
    try {
      const recorder = new Recorder();
      const result = await runHttpLoad({ target: `http://127.0.0.1:${proxy.port}/`, model: 'short-lived', connections: 1, arrival: { executor: 'constant-vus', concurrency: 1, durationMs: 30_000 }, maxRequests: 300, recorder });
      recorder.close();
      const run = summarizeRun([result.totals], { unit: 'requests' });
      expect(result.schedule.reason).toBe('max-requests');
      expect(run.pods.map((p) => [p.name, p.requests, p.connections])).toEqual([['a', 100, 100], ['b', 100, 100], ['c', 100, 100]]);
      expect(run.metrics.chiSquare.statistic).toBe(0);
      expect(run.metrics.chiSquareP).toBe(1);
      expect(run.metrics.jainIndex).toBe(1);
      expect(run.load.coordinatedOmission).toBe(true);
      expect(proxy.accepted()).toBe(300);
      expect(pods.map((p) => p.metrics().connectionsTotal)).toEqual([100, 100, 100]);
    } finally {
      await proxy.close();
    }
  });

  it('GIVEN the h2 model with 2 connections THEN every stream is attributed and the server saw exactly 2 h2 connections', async () => {
    const pod = await server('h');
    const recorder = new Recorder();
    const result = await runHttpLoad({ target: `${pod.url}/`, model: 'h2', connections: 2, arrival: { executor: 'constant-arrival-rate', rate: 300, durationMs: 1000 }, recorder });
    recorder.close();
    expect(result.totals).toMatchObject({ sent: 300, completed: 300, attributed: 300, errors: 0 });
    expect(pod.metrics().connectionsByProtocol.h2).toBe(2);
    expect(pod.metrics().requestsTotal).toBe(300);
    expect(result.totals.pods.get('h')?.newConnections).toBe(2);
  });

  it('GIVEN an h2 server that sends GOAWAY after 20 requests per connection THEN GOAWAYs are recorded and the driver reconnects without losing requests', async () => {
    const pod = await server('g', { maxRequestsPerConnection: 20 });
    const { sink, events } = memorySink();
    const recorder = new Recorder({ sink });
    const result = await runHttpLoad({ target: `${pod.url}/`, model: 'h2', connections: 1, arrival: { executor: 'constant-arrival-rate', rate: 100, durationMs: 1000 }, recorder });
    recorder.close();
    const goaways = eventsOfKind(events, 'goaway');
    expect(goaways.length).toBeGreaterThanOrEqual(4);
    expect(goaways.every((g) => !g.inferred && g.errorCode === 0)).toBe(true);
    expect(result.totals.attributed + result.totals.errors).toBe(100);
    expect(pod.metrics().requestsTotal).toBe(result.totals.attributed);
    expect(eventsOfKind(events, 'connection-open').length).toBe(pod.metrics().connectionsTotal);
  });

  it('GIVEN the pooled model with a 200 ms max connection age THEN connections are retired and re-opened, and both sides count the same connections', async () => {
    const pod = await server('p');
    const { sink, events } = memorySink();
    const recorder = new Recorder({ sink });
    const result = await runHttpLoad({ target: `${pod.url}/`, model: 'pooled', connections: 2, maxConnectionAgeMs: 200, arrival: { executor: 'constant-arrival-rate', rate: 100, durationMs: 1000 }, recorder });
    recorder.close();
    const opens = eventsOfKind(events, 'connection-open').length;
    expect(opens).toBeGreaterThanOrEqual(4);
    expect(pod.metrics().connectionsTotal).toBe(opens);
    expect(result.totals.attributed).toBe(100);
    // Every connection's end is recorded: retired by age or at the end (client), or by the server's
    // keep-alive timeout when the LIFO pool left one idle; none by an error.
    const closes = eventsOfKind(events, 'connection-close');
    expect(closes).toHaveLength(opens);
    expect(closes.filter((c) => c.closedBy !== 'client')).toEqual([]);
    expect(closes.filter((c) => c.closedBy === 'client').length).toBeGreaterThanOrEqual(3);
  });

  it('GIVEN a pod answering 500 to every request THEN each is an http-5xx error attributed to that pod', async () => {
    const pod = await server('e', { errorRate: 1 });
    const recorder = new Recorder();
    const result = await runHttpLoad({ target: `${pod.url}/`, model: 'persistent', connections: 1, arrival: { executor: 'constant-arrival-rate', rate: 50, durationMs: 400 }, recorder });
    recorder.close();
    expect(result.totals).toMatchObject({ completed: 20, attributed: 20, errors: 20, errorsByKind: { 'http-5xx': 20 } });
    expect(result.totals.pods.get('e')).toMatchObject({ requests: 20, errorResponses: 20, errors: 20 });
  });

  it('GIVEN a closed port THEN every request fails as refused', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const recorder = new Recorder();
    const result = await runHttpLoad({ target: `http://127.0.0.1:${port}/`, model: 'short-lived', connections: 2, arrival: { executor: 'constant-arrival-rate', rate: 50, durationMs: 200 }, recorder });
    recorder.close();
    expect(result.totals).toMatchObject({ completed: 10, attributed: 0, errors: 10, errorsByKind: { refused: 10 } });
  });

  it('GIVEN a pod slower than the request timeout THEN requests fail as timeouts', async () => {
    const pod = await server('slow', { responseDelayMs: 2000 });
    const recorder = new Recorder();
    const result = await runHttpLoad({ target: `${pod.url}/`, model: 'pooled', connections: 5, requestTimeoutMs: 300, arrival: { executor: 'constant-arrival-rate', rate: 10, durationMs: 500 }, recorder });
    recorder.close();
    expect(result.totals).toMatchObject({ completed: 5, attributed: 0, errors: 5, errorsByKind: { timeout: 5 } });
  });
});
