import { jest } from '@jest/globals';
import http2 from 'node:http2';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'undici';
import { IdentityHeader } from '../../../../harness/workloads/identity.ts';
import { ClosingHeader } from '../../../../harness/workloads/http/respond.ts';
import { startHttpServer } from '../../../../harness/workloads/http/server.ts';
import { RawHttpConnection, waitFor } from '../helpers.ts';

jest.setTimeout(30_000);

describe('HTTP connection limits', () => {
  it('GIVEN a 300ms keep-alive timeout WHEN a connection sits idle after a response THEN the server ends it', async () => {
    await using server = await startHttpServer({ host: '127.0.0.1', port: 0, keepAliveTimeoutMs: 300 });
    const connection = await RawHttpConnection.open(server.port);
    const response = await connection.request('/');
    expect(response.headers.connection).toBe('keep-alive');
    // The test waits for the server to act; a server that never closes fails on the jest timeout.
    expect(await connection.ended).toBe('end');
    // The server learns the connection is fully closed when the client's FIN arrives: wait for it.
    await waitFor('the server to count the connection closed', () => server.metrics().connectionsActive === 0);
    expect(server.metrics()).toMatchObject({ connectionsTotal: 1, requestsTotal: 1 });
  });

  it('GIVEN keep-alive timeout 0 WHEN a connection idles THEN it is not closed for idleness (checked over 1s)', async () => {
    await using server = await startHttpServer({ host: '127.0.0.1', port: 0, keepAliveTimeoutMs: 0 });
    const connection = await RawHttpConnection.open(server.port);
    try {
      await connection.request('/');
      const outcome = await Promise.race([connection.ended, sleep(1000, 'still open' as const)]);
      expect(outcome).toBe('still open');
      expect(Number((await connection.request('/')).headers[IdentityHeader.sequence])).toBe(2);
    } finally {
      connection.close();
    }
  });

  it('GIVEN max 3 requests per connection WHEN a keep-alive client sends 7 in a row THEN connections carry 3+3+1, the 3rd answer says close, none fails', async () => {
    await using server = await startHttpServer({ host: '127.0.0.1', port: 0, maxRequestsPerConnection: 3 });
    const client = new Client(server.url, { pipelining: 1 });
    let connects = 0;
    client.on('connect', () => (connects += 1));
    const answers: Array<{ id: string; sequence: number; connection: string | undefined; closing: string | undefined }> = [];
    try {
      for (let i = 0; i < 7; i += 1) {
        const { statusCode, headers, body } = await client.request({ path: '/', method: 'GET' });
        await body.text();
        expect(statusCode).toBe(200);
        answers.push({
          id: String(headers[IdentityHeader.connectionId]),
          sequence: Number(headers[IdentityHeader.sequence]),
          connection: headers.connection as string | undefined,
          closing: headers[ClosingHeader] as string | undefined,
        });
      }
    } finally {
      await client.close();
    }
    expect(answers.map((a) => a.sequence)).toEqual([1, 2, 3, 1, 2, 3, 1]);
    expect(new Set(answers.map((a) => a.id)).size).toBe(3);
    expect(answers.map((a) => a.closing)).toEqual([undefined, undefined, 'max-requests', undefined, undefined, 'max-requests', undefined]);
    expect(answers[2]?.connection).toBe('close');
    expect(connects).toBe(3);
    expect(server.metrics()).toMatchObject({ connectionsTotal: 3, requestsTotal: 7, perConnection: { [answers[0]!.id]: 3, [answers[3]!.id]: 3, [answers[6]!.id]: 1 } });
  });

  it('GIVEN a 300ms max connection age WHEN a request arrives on an older connection THEN it is answered with Connection: close and the connection ends', async () => {
    await using server = await startHttpServer({ host: '127.0.0.1', port: 0, maxConnectionAgeMs: 300, keepAliveTimeoutMs: 0 });
    const connection = await RawHttpConnection.open(server.port);
    const young = await connection.request('/');
    expect(young.headers.connection).toBe('keep-alive');
    await sleep(400);
    const old = await connection.request('/');
    expect(old.status).toBe(200);
    expect(old.headers.connection).toBe('close');
    expect(old.headers[ClosingHeader]).toBe('max-age');
    expect(await connection.ended).toBe('end');
    const next = await RawHttpConnection.open(server.port);
    try {
      const fresh = await next.request('/');
      expect(fresh.headers[IdentityHeader.connectionId]).not.toBe(old.headers[IdentityHeader.connectionId]);
      expect(fresh.headers[IdentityHeader.sequence]).toBe('1');
    } finally {
      next.close();
    }
  });

  it('GIVEN max 2 requests per connection on h2c WHEN the 2nd stream is answered THEN the server sends GOAWAY', async () => {
    await using server = await startHttpServer({ host: '127.0.0.1', port: 0, maxRequestsPerConnection: 2 });
    const session = http2.connect(server.url);
    session.on('error', () => {});
    const goaway = new Promise<number>((resolve) => session.once('goaway', (code) => resolve(code)));
    const get = () =>
      new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
        const stream = session.request({ ':path': '/' });
        stream.on('response', resolve);
        stream.on('error', reject);
        stream.resume();
      });
    try {
      expect((await get())[ClosingHeader]).toBeUndefined();
      expect((await get())[ClosingHeader]).toBe('max-requests');
      expect(await goaway).toBe(http2.constants.NGHTTP2_NO_ERROR);
    } finally {
      session.destroy();
    }
  });
});
