import { describe, expect, it, jest } from '@jest/globals';
import http2 from 'node:http2';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { serverRuntimes } from '../../../../harness/workloads/runtime.ts';
import { closingHeader } from '../../../support/contract-vectors.ts';
import { startSampleServer } from '../../../support/sample-server-process.ts';
import { h2Connect, h2Request, RawHttp1 } from '../../../support/wire-clients.ts';
import { bodyOf, identityOf, scrapeOn, testTimeoutMs, value, waitFor } from './contract-helpers.ts';

jest.setTimeout(testTimeoutMs);

/** What a response says about its connection: Connection, Keep-Alive and x-kth-closing. */
function closing(reply: { headers: Record<string, string> }) {
  return { connection: reply.headers.connection?.toLowerCase(), keepAlive: reply.headers['keep-alive'], closing: reply.headers[closingHeader] };
}

describe.each(serverRuntimes)('HTTP contract, connection lifetime [%s]', (runtime) => {
  it('GIVEN a 300ms keep-alive timeout WHEN a connection idles after a response THEN the server ends it about 300ms later (not +1s), and counts it closed', async () => {
    await using server = await startSampleServer(runtime, 'http', ['--keepalive-timeout', '300ms']);
    const connection = await RawHttp1.open(server.port);
    const reply = await connection.request('/');
    const answeredAt = performance.now();
    expect(reply.status).toBe(200);
    expect(closing(reply).connection).not.toBe('close');
    expect(closing(reply).closing).toBeUndefined();
    // The server acts; a server that never closes fails on the test timeout.
    expect(await connection.ended).toBe('end');
    const idleMs = (connection.endedAt as number) - answeredAt;
    expect(idleMs).toBeGreaterThanOrEqual(250);
    expect(idleMs).toBeLessThan(1000);
    const scrape = await RawHttp1.open(server.port);
    try {
      // The server learns of the close when our FIN arrives; only the scrape's connection stays.
      await waitFor('the idle connection to be counted closed', async () => value(await scrapeOn(scrape), 'kth_http_connections_active') === 1);
      const text = await scrapeOn(scrape);
      expect(value(text, 'kth_http_requests_per_connection_count')).toBe(1);
      expect(value(text, 'kth_http_requests_per_connection_sum')).toBe(1);
    } finally {
      scrape.close();
    }
  });

  it('GIVEN a request slower than the keep-alive timeout WHEN it runs THEN it is not cut, and the idle clock starts after it', async () => {
    await using server = await startSampleServer(runtime, 'http', ['--keepalive-timeout', '300ms']);
    const connection = await RawHttp1.open(server.port);
    const slow = await connection.request('/?delay_ms=700');
    expect(slow.status).toBe(200);
    const again = await connection.request('/');
    expect(identityOf(again.headers)).toMatchObject({ connectionId: expect.stringMatching(/\/1$/), sequence: '2' });
    expect(await connection.ended).toBe('end');
  });

  it('GIVEN keep-alive timeouts of 5s (default), 2s and 0 WHEN answered THEN Keep-Alive says timeout=<whole seconds>, and with 0 there is none and an idle connection stays open', async () => {
    const servers = await Promise.all([
      startSampleServer(runtime, 'http', []),
      startSampleServer(runtime, 'http', ['--keepalive-timeout', '2s']),
      startSampleServer(runtime, 'http', [], { KTH_KEEPALIVE_TIMEOUT: '0' }),
    ]);
    const connections: RawHttp1[] = [];
    try {
      const replies = [];
      for (const server of servers) {
        const connection = await RawHttp1.open(server.port);
        connections.push(connection);
        replies.push(closing(await connection.request('/')));
      }
      expect(replies.map((r) => r.keepAlive)).toEqual(['timeout=5', 'timeout=2', undefined]);
      expect(replies.every((r) => r.connection !== 'close' && r.closing === undefined)).toBe(true);
      const never = connections[2] as RawHttp1;
      expect(await Promise.race([never.ended, sleep(1200, 'still open' as const)])).toBe('still open');
      expect(identityOf((await never.request('/')).headers).sequence).toBe('2');
    } finally {
      for (const connection of connections) connection.close();
      await Promise.all(servers.map((server) => server[Symbol.asyncDispose]()));
    }
  });

  it('GIVEN pipelined requests and a request body WHEN sent in one write THEN they are answered in order with sequences 1..n, the body skipped, and Connection: close honoured', async () => {
    await using server = await startSampleServer(runtime, 'http', ['--pod-name', 'pipe']);
    const socket = net.connect(server.port, '127.0.0.1');
    let received = '';
    socket.setEncoding('latin1').on('data', (chunk: string) => (received += chunk));
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      'POST /p1 HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nhello' +
        'GET /p2?payload_bytes=1 HTTP/1.1\r\nhost: x\r\n\r\n' +
        'GET /p3 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n',
    );
    await new Promise((resolve) => socket.once('close', resolve));
    const bodies = [...received.matchAll(/^\{.*\}$/gm)].map((match) => JSON.parse(match[0]) as Record<string, unknown>);
    expect(bodies.map((body) => [body.method, body.path, body.sequence, body.connectionId])).toEqual([
      ['POST', '/p1', 1, 'pipe/1'],
      ['GET', '/p2', 2, 'pipe/1'],
      ['GET', '/p3', 3, 'pipe/1'],
    ]);
    expect(received.match(/^HTTP\/1\.1 200 /gm)).toHaveLength(3);
  });

  it('GIVEN max 3 requests per connection WHEN a probe and two requests use a connection THEN the 3rd answer (probes count) says Connection: close, x-kth-closing: max-requests, and the server ends it', async () => {
    await using server = await startSampleServer(runtime, 'http', ['--max-requests-per-connection', '3', '--pod-name', 'mr']);
    const first = await RawHttp1.open(server.port);
    const answers = [await first.request('/healthz'), await first.request('/a'), await first.request('/b')];
    expect(answers.map((a) => [a.status, identityOf(a.headers).sequence, closing(a).closing])).toEqual([
      [200, '1', undefined],
      [200, '2', undefined],
      [200, '3', 'max-requests'],
    ]);
    expect(closing(answers[2]!)).toEqual({ connection: 'close', keepAlive: undefined, closing: 'max-requests' });
    expect(await first.ended).toBe('end');
    // A control answer can be the closing one too.
    const second = await RawHttp1.open(server.port);
    const work = await second.request('/a');
    await second.request('/b');
    const probe = await second.request('/readyz');
    expect([identityOf(work.headers).connectionId, identityOf(probe.headers).sequence, closing(probe)]).toEqual(['mr/2', '3', { connection: 'close', keepAlive: undefined, closing: 'max-requests' }]);
    expect(await second.ended).toBe('end');
  });

  it('GIVEN max 2 requests per connection on h2c WHEN the 2nd stream is answered THEN it says x-kth-closing: max-requests, the server sends GOAWAY NO_ERROR, and the next session is a new connection', async () => {
    await using server = await startSampleServer(runtime, 'http', ['--max-requests-per-connection', '2', '--pod-name', 'mr2']);
    const h2 = await h2Connect(server.url);
    try {
      const one = await h2Request(h2.session, '/1');
      const two = await h2Request(h2.session, '/2');
      expect([one.headers[closingHeader], two.headers[closingHeader]]).toEqual([undefined, 'max-requests']);
      expect([bodyOf(one).sequence, bodyOf(two).sequence]).toEqual([1, 2]);
      const goaway = await h2.firstGoaway;
      expect(goaway.code).toBe(http2.constants.NGHTTP2_NO_ERROR);
      await h2.closed;
    } finally {
      h2.close();
    }
    const next = await h2Connect(server.url);
    try {
      expect(bodyOf(await h2Request(next.session, '/3'))).toMatchObject({ connectionId: 'mr2/2', sequence: 1, protocol: 'h2' });
    } finally {
      next.close();
    }
  });

  it('GIVEN a 400ms max connection age WHEN a request arrives on an older connection THEN it is answered, with Connection: close and x-kth-closing: max-age, and the next connection is new', async () => {
    await using server = await startSampleServer(runtime, 'http', ['--max-connection-age', '400ms', '--keepalive-timeout', '0', '--pod-name', 'age']);
    const connection = await RawHttp1.open(server.port);
    const young = await connection.request('/');
    expect(closing(young).closing).toBeUndefined();
    expect(closing(young).connection).not.toBe('close');
    await sleep(500);
    const old = await connection.request('/');
    expect(old.status).toBe(200);
    expect(closing(old)).toEqual({ connection: 'close', keepAlive: undefined, closing: 'max-age' });
    expect(identityOf(old.headers)).toMatchObject({ connectionId: 'age/1', sequence: '2' });
    expect(await connection.ended).toBe('end');
    const next = await RawHttp1.open(server.port);
    try {
      expect(identityOf((await next.request('/')).headers)).toMatchObject({ connectionId: 'age/2', sequence: '1' });
    } finally {
      next.close();
    }
  });

  it('GIVEN a 400ms max connection age WHEN a stream arrives on an older h2c session THEN it is answered with x-kth-closing: max-age and the session gets GOAWAY NO_ERROR', async () => {
    await using server = await startSampleServer(runtime, 'http', ['--max-connection-age', '400ms', '--keepalive-timeout', '0', '--pod-name', 'h2age']);
    const h2 = await h2Connect(server.url);
    try {
      const young = await h2Request(h2.session, '/young');
      expect(young.headers[closingHeader]).toBeUndefined();
      await sleep(500);
      expect(h2.goaways).toEqual([]);
      const old = await h2Request(h2.session, '/old');
      expect([old.status, old.headers[closingHeader], bodyOf(old).sequence]).toEqual([200, 'max-age', 2]);
      expect((await h2.firstGoaway).code).toBe(http2.constants.NGHTTP2_NO_ERROR);
      await h2.closed;
    } finally {
      h2.close();
    }
  });

  it('GIVEN a 300ms keep-alive timeout WHEN an h2c session idles THEN the server sends it GOAWAY and closes it', async () => {
    await using server = await startSampleServer(runtime, 'http', ['--keepalive-timeout', '300ms']);
    const h2 = await h2Connect(server.url);
    try {
      expect((await h2Request(h2.session, '/')).status).toBe(200);
      const answeredAt = performance.now();
      const goaway = await h2.firstGoaway;
      expect(goaway.code).toBe(http2.constants.NGHTTP2_NO_ERROR);
      expect(goaway.at - answeredAt).toBeGreaterThanOrEqual(200);
      expect(goaway.at - answeredAt).toBeLessThan(2000);
      await h2.closed;
    } finally {
      h2.close();
    }
  });
});
