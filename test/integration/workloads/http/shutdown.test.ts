import { jest } from '@jest/globals';
import { ClosingHeader } from '../../../../harness/workloads/http/respond.ts';
import { startHttpServer } from '../../../../harness/workloads/http/server.ts';
import { connectOutcome } from '../../../support/wire-clients.ts';
import { RawHttpConnection, type RawResponse, spawnKth, waitFor } from '../helpers.ts';

jest.setTimeout(60_000);

type Outcome = { ok: true; response: RawResponse } | { ok: false; code: string };

function settle(promise: Promise<RawResponse>): Promise<Outcome> {
  return promise.then(
    (response) => ({ ok: true as const, response }),
    (error: NodeJS.ErrnoException) => ({ ok: false as const, code: error.code ?? 'ERROR' }),
  );
}

/** `n` slow requests, each on its own connection, started and confirmed in flight at the server. */
async function slowRequests(port: number, n: number, inFlight: () => Promise<number> | number, delayMs = 1500) {
  const connections = await Promise.all(Array.from({ length: n }, () => RawHttpConnection.open(port)));
  const outcomes = connections.map((c) => settle(c.request(`/slow?delay_ms=${delayMs}`)));
  await waitFor(`${n} requests in flight`, async () => (await inFlight()) === n);
  return { connections, outcomes };
}

describe('HTTP graceful shutdown (in process)', () => {
  it('GIVEN in-flight requests and an idle keep-alive connection WHEN shut down THEN every request completes with Connection: close, idle is closed, new connections are refused', async () => {
    const server = await startHttpServer({ host: '127.0.0.1', port: 0 });
    const idle = await RawHttpConnection.open(server.port);
    await idle.request('/');
    const { outcomes } = await slowRequests(server.port, 4, () => server.metrics().inFlight);

    const result = await server.shutdown();
    const settled = await Promise.all(outcomes);
    expect(result).toEqual({ drained: true, connectionsForced: 0 });
    expect(settled.map((o) => (o.ok ? o.response.status : o.code))).toEqual([200, 200, 200, 200]);
    expect(settled.every((o) => o.ok && o.response.headers.connection === 'close' && o.response.headers[ClosingHeader] === 'draining')).toBe(true);
    expect(await idle.ended).toBe('end');
    expect(await connectOutcome(server.port)).toBe('ECONNREFUSED');
    expect(server.metrics()).toMatchObject({ requestsTotal: 5, responsesByStatus: { '200': 5 }, connectionsActive: 0 });
  });

  it('GIVEN a shutdown delay WHEN shutting down THEN it reports not-ready yet still serves during the delay, then drains', async () => {
    const server = await startHttpServer({ host: '127.0.0.1', port: 0, shutdownDelayMs: 800 });
    const done = server.shutdown();
    const during = await RawHttpConnection.open(server.port);
    expect((await during.request('/readyz')).status).toBe(503);
    expect((await during.request('/')).status).toBe(200);
    expect(await done).toEqual({ drained: true, connectionsForced: 0 });
    expect(await connectOutcome(server.port)).toBe('ECONNREFUSED');
  });

  it('GIVEN a request longer than the drain timeout WHEN shut down THEN the server gives up, resets it and says so', async () => {
    const server = await startHttpServer({ host: '127.0.0.1', port: 0, drainTimeoutMs: 200 });
    const { outcomes } = await slowRequests(server.port, 1, () => server.metrics().inFlight, 10_000);
    expect(await server.shutdown()).toEqual({ drained: false, connectionsForced: 1 });
    expect(await outcomes[0]).toEqual({ ok: false, code: 'ECONNRESET' });
  });
});

describe('kth serve http on SIGTERM (child process)', () => {
  async function inFlightOf(port: number): Promise<number> {
    const scrape = await RawHttpConnection.open(port);
    try {
      const text = (await scrape.request('/metrics')).body;
      return Number(/^kth_http_requests_in_flight (\d+)$/m.exec(text)?.[1] ?? -1);
    } finally {
      scrape.close();
    }
  }

  it('GIVEN 5 requests in flight WHEN SIGTERM arrives THEN all 5 complete (none lost) and the process exits 0', async () => {
    await using kth = spawnKth(['serve', 'http', '--host', '127.0.0.1', '--port', '0']);
    const { port } = await kth.listening;
    const { outcomes } = await slowRequests(port, 5, () => inFlightOf(port));
    process.kill(kth.pid, 'SIGTERM');
    const settled = await Promise.all(outcomes);
    expect(settled.map((o) => (o.ok ? o.response.status : o.code))).toEqual([200, 200, 200, 200, 200]);
    expect(await kth.exited).toEqual({ code: 0, signal: null });
    expect(kth.stderr()).toContain('drained');
  });

  it('GIVEN --no-drain and 5 requests in flight WHEN SIGTERM arrives THEN all 5 are reset and the process exits 0 at once', async () => {
    await using kth = spawnKth(['serve', 'http', '--host', '127.0.0.1', '--port', '0', '--no-drain']);
    const { port } = await kth.listening;
    const { outcomes } = await slowRequests(port, 5, () => inFlightOf(port), 20_000);
    process.kill(kth.pid, 'SIGTERM');
    const settled = await Promise.all(outcomes);
    expect(settled).toEqual(Array.from({ length: 5 }, () => ({ ok: false, code: 'ECONNRESET' })));
    expect(await kth.exited).toEqual({ code: 0, signal: null });
    // The 5 slow connections, plus the last /metrics scrape when its close has not reached the server yet.
    expect(Number(/closed (\d+) connection\(s\) without draining/.exec(kth.stderr())?.[1])).toBeGreaterThanOrEqual(5);
  });
});
