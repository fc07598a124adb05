import { jest } from '@jest/globals';
import net from 'node:net';
import { HarnessError } from '../../../harness/core/errors.ts';
import { settle } from '../../../harness/load/settle.ts';
import { startGrpcServer, type RunningGrpcServer } from '../../../harness/workloads/grpc/server.ts';
import { startHttpServer, type RunningHttpServer } from '../../../harness/workloads/http/server.ts';
import { startRoundRobinProxy } from './support/round-robin-proxy.ts';

jest.setTimeout(60_000);

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function httpPod(pod: string, port = 0): Promise<RunningHttpServer> {
  const running = await startHttpServer({ host: '127.0.0.1', port, pod, node: 'node-1', podIp: '127.0.0.1' } as Parameters<typeof startHttpServer>[0]);
  closers.push(() => running.close());
  return running;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe('settle: waiting for the data path before measuring', () => {
  it('GIVEN nothing listens yet (connections refused) WHEN the server comes up 400 ms later THEN settle counts the refused probes and returns once the pod answers', async () => {
    const port = await freePort();
    const late = new Promise<void>((resolve) => setTimeout(() => void httpPod('late', port).then(() => resolve()), 400));
    const result = await settle({ kind: 'http', target: `http://127.0.0.1:${port}/`, expectPods: ['late'], timeoutMs: 10_000 });
    await late;
    expect(result.failures).toBeGreaterThan(0);
    expect(result.lastFailure).toMatch(/ECONNREFUSED/);
    expect(result.answeredBy.late).toBeGreaterThanOrEqual(3); // three good answers in a row
    expect(result.settledMs).toBeGreaterThanOrEqual(350);
    expect(result.probes).toBe(result.failures + result.answeredBy.late!);
  });

  it('GIVEN 3 pods behind a connection round-robin WHEN settle expects them by name THEN each answered, on connections of its own', async () => {
    const pods = [await httpPod('a'), await httpPod('b'), await httpPod('c')];
    const proxy = await startRoundRobinProxy(pods.map((p) => p.port));
    closers.push(() => proxy.close());
    const result = await settle({ kind: 'http', target: `http://127.0.0.1:${proxy.port}/`, expectPods: ['a', 'b', 'c'], timeoutMs: 10_000 });
    expect(Object.keys(result.answeredBy).sort()).toEqual(['a', 'b', 'c']);
    expect(result.failures).toBe(0);
    // One probe per connection: the proxy accepted exactly as many connections as there were probes.
    expect(proxy.accepted()).toBe(result.probes);
    // The servers counted the probes too: that is why baselines are read after settling.
    const served = await Promise.all(pods.map(async (p) => Number(/kth_http_requests_total(?:\{[^}]*\})? (\d+)/.exec(await (await fetch(`${p.url}/metrics`)).text())?.[1])));
    expect(served.reduce((a, b) => a + b, 0)).toBe(result.probes);
  });

  it('GIVEN one of four paths failing until 600 ms (a node whose proxy lags behind a load balancer) THEN the default streak of 3 can end while it still fails, and a streak of 8 waits until it answers', async () => {
    const pods = [await httpPod('a'), await httpPod('b'), await httpPod('c')];
    const port = await freePort();
    const proxy = await startRoundRobinProxy([...pods.map((p) => p.port), port]);
    closers.push(() => proxy.close());
    const target = `http://127.0.0.1:${proxy.port}/`;
    const short = await settle({ kind: 'http', target, expectPods: ['a', 'b', 'c'], timeoutMs: 10_000 });
    // Done on a, b, c in a row: the fourth path was never shown to work.
    expect(short.answeredBy).not.toHaveProperty('d');

    const started = performance.now();
    const late = new Promise<void>((resolve) => setTimeout(() => void httpPod('d', port).then(() => resolve()), 600));
    const long = await settle({ kind: 'http', target, expectPods: ['a', 'b', 'c'], timeoutMs: 10_000, consecutive: 8 });
    await late;
    expect(long.failures).toBeGreaterThan(0);
    expect(long.answeredBy.d).toBeGreaterThanOrEqual(1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(550);
  });

  it('GIVEN an expected pod that never answers THEN settle fails within its bound, as an environment error naming that pod', async () => {
    const pod = await httpPod('present');
    const started = performance.now();
    const failure = await settle({ kind: 'http', target: `${pod.url}/`, expectPods: ['present', 'ghost'], timeoutMs: 800 }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(HarnessError);
    expect((failure as HarnessError).kind).toBe('environment');
    expect((failure as HarnessError).message).toMatch(/never answered: ghost/);
    expect((failure as HarnessError).message).toMatch(/"present":\d+/);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('GIVEN a gRPC pod THEN settle probes with unary Who calls on fresh channels', async () => {
    const server: RunningGrpcServer = await startGrpcServer({ host: '127.0.0.1', port: 0, metricsPort: 0, pod: 'g', node: 'node-1' } as Parameters<typeof startGrpcServer>[0]);
    closers.push(() => server.close());
    const result = await settle({ kind: 'grpc', target: server.target, expectPods: 1, timeoutMs: 10_000 });
    expect(result.answeredBy).toEqual({ g: 3 });
    expect(server.metrics().connectionsTotal).toBe(3); // a channel, so a connection, per probe
    expect(server.metrics().rpcsTotal).toBe(3);
  });
});
