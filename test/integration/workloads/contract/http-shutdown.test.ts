import { describe, expect, it, jest } from '@jest/globals';
import http2 from 'node:http2';
import { serverRuntimes } from '../../../../harness/workloads/runtime.ts';
import { closingHeader, exitCodes, forcedLine, signalLines } from '../../../support/contract-vectors.ts';
import { startSampleServer } from '../../../support/sample-server-process.ts';
import { connectOutcome, h2Connect, h2Request, RawHttp1, settle } from '../../../support/wire-clients.ts';
import { scrapeOn, testTimeoutMs, value, waitFor } from './contract-helpers.ts';

jest.setTimeout(testTimeoutMs);

/** Lines of `text` that contain one of `needles`, in order of appearance. */
function linesIn(text: string, needles: string[]): string[] {
  return text.split('\n').filter((line) => needles.some((needle) => line === needle.trimEnd()));
}

describe.each(serverRuntimes)('HTTP contract, signals and shutdown [%s]', (runtime) => {
  it('GIVEN a shutdown delay WHEN SIGTERM arrives THEN /readyz says 503 while requests are still served, then new connections are refused, the in-flight request completes with x-kth-closing: draining, idle connections end, and it exits 0', async () => {
    await using server = await startSampleServer(runtime, 'http', ['--shutdown-delay', '1200ms', '--pod-name', 'term']);
    const idle = await RawHttp1.open(server.port);
    expect((await idle.request('/')).status).toBe(200);
    const busy = await RawHttp1.open(server.port);
    const inFlight = settle(busy.request('/slow?delay_ms=2500'));
    let settledAt = Number.POSITIVE_INFINITY;
    void inFlight.then(() => (settledAt = performance.now()));
    await waitFor('the slow request to be in flight', async () => value(await scrapeOn(idle), 'kth_http_requests_in_flight') === 1);

    const signalledAt = performance.now();
    server.signal('SIGTERM');
    const lines = signalLines('http', 'SIGTERM');
    await server.waitForStderr(lines.shuttingDown);
    // During the delay: not ready, still serving, on old and new connections.
    expect((await idle.request('/readyz')).status).toBe(503);
    expect((await idle.request('/during-delay')).status).toBe(200);
    const late = await RawHttp1.open(server.port);
    expect((await late.request('/new-during-delay')).status).toBe(200);
    expect(performance.now() - signalledAt).toBeLessThan(1200);

    // After the delay: no new connections, while the slow request is still running.
    await waitFor('new connections to be refused', async () => (await connectOutcome(server.port)) === 'ECONNREFUSED', 3000);
    const refusedAt = performance.now();
    expect(refusedAt - signalledAt).toBeGreaterThanOrEqual(1100);
    expect(settledAt).toBe(Number.POSITIVE_INFINITY);

    const outcome = await inFlight;
    expect(outcome.ok && [outcome.reply.status, outcome.reply.headers.connection?.toLowerCase(), outcome.reply.headers[closingHeader]]).toEqual([200, 'close', 'draining']);
    expect(settledAt - signalledAt).toBeGreaterThanOrEqual(1000);
    expect(await busy.ended).toBe('end');
    expect(await idle.ended).toBe('end');
    expect(await late.ended).toBe('end');
    expect(await server.exited).toEqual({ code: exitCodes.SIGTERM, signal: null });
    expect(linesIn(server.stderr(), [lines.shuttingDown, lines.drained])).toEqual([lines.shuttingDown.trimEnd(), lines.drained.trimEnd()]);
    expect(server.stdout()).toBe(`${server.listeningLine}\n`);
  });

  it('GIVEN an h2c stream in flight WHEN SIGTERM arrives THEN the session gets GOAWAY NO_ERROR, the stream completes with x-kth-closing: draining, and it exits 0', async () => {
    await using server = await startSampleServer(runtime, 'http', []);
    const h2 = await h2Connect(server.url);
    try {
      const inFlight = h2Request(h2.session, '/slow?delay_ms=1200');
      let repliedAt = Number.POSITIVE_INFINITY;
      void inFlight.then(() => (repliedAt = performance.now()), () => undefined);
      const scraper = await RawHttp1.open(server.port);
      await waitFor('the stream in flight', async () => value(await scrapeOn(scraper), 'kth_http_requests_in_flight') === 1);
      scraper.close();
      server.signal('SIGTERM');
      const goaway = await h2.firstGoaway;
      expect(goaway.code).toBe(http2.constants.NGHTTP2_NO_ERROR);
      const reply = await inFlight;
      expect([reply.status, reply.headers[closingHeader]]).toEqual([200, 'draining']);
      // The GOAWAY came first (at drain start), the answer after it.
      expect(goaway.at).toBeLessThan(repliedAt);
      expect(await server.exited).toEqual({ code: exitCodes.SIGTERM, signal: null });
      expect(server.stderr()).toContain(signalLines('http', 'SIGTERM').drained);
    } finally {
      h2.close();
    }
  });

  it('GIVEN --no-drain (and a shutdown delay it ignores) WHEN SIGTERM arrives with requests in flight THEN they are reset (ECONNRESET) at once and it exits 0 saying how many connections it closed', async () => {
    await using server = await startSampleServer(runtime, 'http', ['--no-drain', '--shutdown-delay', '5s']);
    const connections = await Promise.all([RawHttp1.open(server.port), RawHttp1.open(server.port)]);
    const outcomes = connections.map((connection) => settle(connection.request('/slow?delay_ms=20000')));
    const scraper = await RawHttp1.open(server.port);
    await waitFor('2 requests in flight', async () => value(await scrapeOn(scraper), 'kth_http_requests_in_flight') === 2);
    const signalledAt = performance.now();
    server.signal('SIGTERM');
    expect(await Promise.all(outcomes)).toEqual([
      { ok: false, code: 'ECONNRESET' },
      { ok: false, code: 'ECONNRESET' },
    ]);
    expect(await server.exited).toEqual({ code: exitCodes.SIGTERM, signal: null });
    expect(performance.now() - signalledAt).toBeLessThan(3000);
    expect(server.stderr()).toContain(signalLines('http', 'SIGTERM').shuttingDown);
    // The 2 busy connections, plus the scraper's if its close has not reached the server yet.
    expect(Number(forcedLine('http').exec(server.stderr())?.[1])).toBeGreaterThanOrEqual(2);
    scraper.close();
  });

  it('GIVEN a drain timeout shorter than a running request WHEN SIGTERM arrives THEN the server gives up after the timeout, resets it, and exits 0 saying so', async () => {
    await using server = await startSampleServer(runtime, 'http', ['--drain-timeout', '300ms']);
    const connection = await RawHttp1.open(server.port);
    const outcome = settle(connection.request('/slow?delay_ms=10000'));
    const scraper = await RawHttp1.open(server.port);
    await waitFor('the request in flight', async () => value(await scrapeOn(scraper), 'kth_http_requests_in_flight') === 1);
    scraper.close();
    const signalledAt = performance.now();
    server.signal('SIGTERM');
    expect(await outcome).toEqual({ ok: false, code: 'ECONNRESET' });
    const elapsed = performance.now() - signalledAt;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(3000);
    expect(await server.exited).toEqual({ code: exitCodes.SIGTERM, signal: null });
    expect(Number(forcedLine('http').exec(server.stderr())?.[1])).toBeGreaterThanOrEqual(1);
  });

  it('GIVEN SIGINT WHEN idle THEN it drains like SIGTERM but exits 130, with the SIGINT lines', async () => {
    await using server = await startSampleServer(runtime, 'http', []);
    const connection = await RawHttp1.open(server.port);
    expect((await connection.request('/')).status).toBe(200);
    server.signal('SIGINT');
    expect(await connection.ended).toBe('end');
    expect(await server.exited).toEqual({ code: exitCodes.SIGINT, signal: null });
    const lines = signalLines('http', 'SIGINT');
    expect(linesIn(server.stderr(), [lines.shuttingDown, lines.drained])).toEqual([lines.shuttingDown.trimEnd(), lines.drained.trimEnd()]);
  });

  it('GIVEN a drain in progress WHEN a second signal arrives THEN the process exits at once', async () => {
    await using server = await startSampleServer(runtime, 'http', ['--drain-timeout', '30s']);
    const connection = await RawHttp1.open(server.port);
    const outcome = settle(connection.request('/slow?delay_ms=20000'));
    const scraper = await RawHttp1.open(server.port);
    await waitFor('the request in flight', async () => value(await scrapeOn(scraper), 'kth_http_requests_in_flight') === 1);
    scraper.close();
    server.signal('SIGTERM');
    await server.waitForStderr(signalLines('http', 'SIGTERM').shuttingDown);
    const againAt = performance.now();
    server.signal('SIGTERM');
    const exit = await server.exited;
    expect(performance.now() - againAt).toBeLessThan(2000);
    expect(exit).toEqual({ code: exitCodes.SIGTERM, signal: null });
    expect((await outcome).ok).toBe(false);
  });
});
