import { describe, expect, it, jest } from '@jest/globals';
import http2 from 'node:http2';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { serverRuntimes } from '../../../../harness/workloads/runtime.ts';
import { maxAgeJitter } from '../../../support/contract-vectors.ts';
import { startSampleServer } from '../../../support/sample-server-process.ts';
import { echoClient, h2Connect, whoOutcome } from '../../../support/wire-clients.ts';
import { metricByLabel, testTimeoutMs, value, waitFor } from './contract-helpers.ts';

jest.setTimeout(testTimeoutMs);

const ageMs = 1000;
/** Latest moment a GOAWAY may come: the age with its jitter, plus slack for a loaded host. */
const latestGoawayMs = ageMs * (1 + maxAgeJitter) + 700;

describe.each(serverRuntimes)('gRPC contract, connection lifetime [%s]', (runtime) => {
  it('GIVEN a 1s max age WHEN an HTTP/2 client just holds a connection THEN the server sends GOAWAY NO_ERROR "max_age" after about 1s (±10%), closes it after the grace, and counts it once', async () => {
    await using server = await startSampleServer(runtime, 'grpc', ['--max-connection-age', '1s', '--max-connection-age-grace', '300ms']);
    const h2 = await h2Connect(`http://${server.target}`);
    try {
      const goaway = await Promise.race([h2.firstGoaway, sleep(latestGoawayMs + 2000, undefined)]);
      expect(goaway).toBeDefined();
      const afterMs = (goaway?.at ?? 0) - h2.connectedAt;
      expect(afterMs).toBeGreaterThanOrEqual(ageMs * (1 - maxAgeJitter) - 50);
      expect(afterMs).toBeLessThan(latestGoawayMs);
      expect({ code: goaway?.code, debugData: goaway?.debugData }).toEqual({ code: http2.constants.NGHTTP2_NO_ERROR, debugData: 'max_age' });
      await h2.closed;
    } finally {
      h2.close();
    }
    // However many GOAWAY frames the server sent, the connection is counted once.
    const text = await waitFor('the connection to be counted closed', async () => {
      const scraped = await server.metricsText();
      return value(scraped, 'kth_grpc_connections_active') === 0 && scraped;
    });
    expect(metricByLabel(text, 'kth_grpc_goaways_sent_total', 'reason')).toEqual({ max_age: 1, shutdown: 0, other: 0 });
    expect(value(text, 'kth_grpc_connections_total')).toBe(1);
  });

  it('GIVEN clients that close their own connections (grpc-js close, HTTP/2 GOAWAY, TCP close) WHEN counted THEN no GOAWAY is counted: the server told no one to go away', async () => {
    await using server = await startSampleServer(runtime, 'grpc', []);
    const client = echoClient(server.target);
    expect((await whoOutcome(client, {})).ok).toBe(true);
    client.close();
    const graceful = await h2Connect(`http://${server.target}`);
    graceful.session.close();
    await graceful.closed;
    const abrupt = await h2Connect(`http://${server.target}`);
    abrupt.session.destroy();
    const text = await waitFor('the 3 connections to be counted closed', async () => {
      const scraped = await server.metricsText();
      return value(scraped, 'kth_grpc_connections_total') === 3 && value(scraped, 'kth_grpc_connections_active') === 0 && scraped;
    });
    expect(metricByLabel(text, 'kth_grpc_goaways_sent_total', 'reason')).toEqual({ max_age: 0, shutdown: 0, other: 0 });
  });

  it('GIVEN a 1s max age WHEN a grpc-js client calls, waits past the age and calls again THEN no call fails, the later calls land on a new connection id from sequence 1, and max_age is counted once', async () => {
    await using server = await startSampleServer(runtime, 'grpc', ['--max-connection-age', '1s', '--max-connection-age-grace', '5s', '--pod-name', 'age']);
    const client = echoClient(server.target);
    const seen: Array<[string, number] | string> = [];
    let text = '';
    try {
      for (let i = 0; i < 3; i += 1) {
        const outcome = await whoOutcome(client, {});
        seen.push(outcome.ok ? [outcome.value.connectionId, outcome.value.sequence] : outcome.code);
      }
      await sleep(latestGoawayMs + 100);
      for (let i = 0; i < 3; i += 1) {
        const outcome = await whoOutcome(client, {});
        seen.push(outcome.ok ? [outcome.value.connectionId, outcome.value.sequence] : outcome.code);
      }
      // Scraped while the client still holds its second connection: closing it is the client's GOAWAY, not the server's.
      text = await server.metricsText();
    } finally {
      client.close();
    }
    expect(seen).toEqual([
      ['age/1', 1],
      ['age/1', 2],
      ['age/1', 3],
      ['age/2', 1],
      ['age/2', 2],
      ['age/2', 3],
    ]);
    expect(metricByLabel(text, 'kth_grpc_goaways_sent_total', 'reason')).toEqual({ max_age: 1, shutdown: 0, other: 0 });
    expect(value(text, 'kth_grpc_connections_total')).toBe(2);
    expect(metricByLabel(text, 'kth_grpc_rpcs_total', 'method')).toEqual({ Who: 6 });
  });

  it('GIVEN a grace longer than a running call WHEN the max age passes during it THEN the call completes on the old connection, and the next call uses a new one', async () => {
    await using server = await startSampleServer(runtime, 'grpc', ['--max-connection-age', '1s', '--max-connection-age-grace', '10s', '--pod-name', 'grace']);
    const client = echoClient(server.target);
    try {
      const first = await whoOutcome(client, {});
      const long = await whoOutcome(client, { delayMs: 1800 });
      const next = await whoOutcome(client, {});
      expect([first, long, next].map((o) => (o.ok ? [o.value.connectionId, o.value.sequence] : o.code))).toEqual([
        ['grace/1', 1],
        ['grace/1', 2],
        ['grace/2', 1],
      ]);
    } finally {
      client.close();
    }
    expect(metricByLabel(await server.metricsText(), 'kth_grpc_goaways_sent_total', 'reason')).toMatchObject({ max_age: 1 });
  });

  it('GIVEN a grace shorter than a running call WHEN the max age passes during it THEN the call is cut off after the grace (the damage the grace prevents)', async () => {
    await using server = await startSampleServer(runtime, 'grpc', ['--max-connection-age', '500ms', '--max-connection-age-grace', '200ms']);
    const client = echoClient(server.target);
    try {
      const outcome = await whoOutcome(client, { delayMs: 4000 });
      expect(outcome.ok).toBe(false);
      expect(outcome.elapsedMs).toBeLessThan(2500);
    } finally {
      client.close();
    }
    expect(metricByLabel(await server.metricsText(), 'kth_grpc_goaways_sent_total', 'reason')).toMatchObject({ max_age: 1 });
  });

  it('GIVEN --keepalive-time 1s WHEN a connection idles THEN the server pings it about every second; without the setting it does not ping', async () => {
    const [pinging, quiet] = await Promise.all([startSampleServer(runtime, 'grpc', ['--keepalive-time', '1s']), startSampleServer(runtime, 'grpc', [])]);
    await using _p = pinging;
    await using _q = quiet;
    const [a, b] = await Promise.all([h2Connect(`http://${pinging.target}`), h2Connect(`http://${quiet.target}`)]);
    const pingsAt: number[] = [];
    let quietPings = 0;
    a.session.on('ping', () => pingsAt.push(performance.now() - a.connectedAt));
    b.session.on('ping', () => (quietPings += 1));
    try {
      await sleep(2600);
      expect(pingsAt.length).toBeGreaterThanOrEqual(2);
      expect(pingsAt.length).toBeLessThanOrEqual(3);
      expect(pingsAt[0]).toBeGreaterThanOrEqual(900);
      expect(pingsAt[0]).toBeLessThan(1600);
      expect(quietPings).toBe(0);
      expect(a.goaways).toEqual([]);
    } finally {
      a.close();
      b.close();
    }
  });

  it('GIVEN --keepalive-time 1s and --keepalive-timeout 500ms WHEN a client never answers the pings THEN the server closes its connection about 1.5s in', async () => {
    await using server = await startSampleServer(runtime, 'grpc', ['--keepalive-time', '1s', '--keepalive-timeout', '500ms']);
    // A raw HTTP/2 client that sends its preface and empty SETTINGS, then stays silent: no PING ACKs.
    const socket = net.connect(server.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.resume();
    const connectedAt = await new Promise<number>((resolve) => socket.once('connect', () => resolve(performance.now())));
    socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
    try {
      const closedAt = await new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now())));
      expect(closedAt - connectedAt).toBeGreaterThanOrEqual(1300);
      expect(closedAt - connectedAt).toBeLessThan(3500);
    } finally {
      socket.destroy();
    }
  });
});
