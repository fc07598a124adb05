import { jest } from '@jest/globals';
import http2 from 'node:http2';
import { Client } from 'undici';
import { IdentityHeader, parsePeer } from '../../../../harness/workloads/identity.ts';
import { type RunningHttpServer, startHttpServer, type WhoBody } from '../../../../harness/workloads/http/server.ts';
import { RawHttpConnection } from '../helpers.ts';

jest.setTimeout(30_000);

const pod = { pod: 'web-7f9c-abcde', node: 'node-2', podIp: '10.244.2.17', namespace: 'kth-run1' };
let server: RunningHttpServer;
beforeEach(async () => {
  server = await startHttpServer({ host: '127.0.0.1', port: 0, ...pod });
});
afterEach(async () => {
  await server.close();
});

describe('HTTP server identity', () => {
  it('GIVEN a request WHEN answered THEN headers and JSON body say which pod, node, peer, connection and sequence served it', async () => {
    const connection = await RawHttpConnection.open(server.port);
    try {
      const response = await connection.request('/hello');
      expect(response.status).toBe(200);
      const body = JSON.parse(response.body) as WhoBody;
      expect(body).toMatchObject({
        ...pod,
        peerAddress: '127.0.0.1',
        peerPort: connection.localPort,
        connectionId: `${pod.pod}/1`,
        sequence: 1,
        protocol: 'http/1.1',
        method: 'GET',
        path: '/hello',
        status: 200,
      });
      expect(response.headers[IdentityHeader.pod]).toBe(pod.pod);
      expect(response.headers[IdentityHeader.node]).toBe(pod.node);
      expect(response.headers[IdentityHeader.podIp]).toBe(pod.podIp);
      expect(response.headers[IdentityHeader.namespace]).toBe(pod.namespace);
      expect(parsePeer(response.headers[IdentityHeader.peer] ?? '')).toEqual({ address: '127.0.0.1', port: connection.localPort });
      expect(response.headers[IdentityHeader.connectionId]).toBe(`${pod.pod}/1`);
      expect(response.headers[IdentityHeader.sequence]).toBe('1');
    } finally {
      connection.close();
    }
  });

  it('GIVEN requests over several TCP connections WHEN answered THEN the id changes exactly when the connection does and sequences restart at 1', async () => {
    const seen: Array<{ localPort: number; id: string; sequence: number }> = [];
    for (let c = 0; c < 3; c += 1) {
      const connection = await RawHttpConnection.open(server.port);
      for (let r = 0; r < 4; r += 1) {
        const response = await connection.request('/');
        seen.push({ localPort: connection.localPort, id: response.headers[IdentityHeader.connectionId] ?? '', sequence: Number(response.headers[IdentityHeader.sequence]) });
      }
      connection.close();
      await connection.ended;
    }
    const idsByPort = new Map<number, Set<string>>();
    for (const s of seen) idsByPort.set(s.localPort, (idsByPort.get(s.localPort) ?? new Set()).add(s.id));
    expect([...idsByPort.values()].map((ids) => ids.size)).toEqual([1, 1, 1]);
    expect(new Set(seen.map((s) => s.id))).toEqual(new Set([`${pod.pod}/1`, `${pod.pod}/2`, `${pod.pod}/3`]));
    expect(seen.map((s) => s.sequence)).toEqual([1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4]);
  });

  it('GIVEN an undici client WHEN it opens connections THEN every client-side connect matches one new server connection id', async () => {
    const client = new Client(server.url, { pipelining: 1 });
    let connects = 0;
    client.on('connect', () => (connects += 1));
    const ids = new Set<string>();
    try {
      for (let i = 0; i < 5; i += 1) {
        const { headers, body } = await client.request({ path: '/', method: 'GET' });
        await body.text();
        ids.add(String(headers[IdentityHeader.connectionId]));
      }
    } finally {
      await client.close();
    }
    expect(connects).toBe(1);
    expect(ids.size).toBe(1);
    expect(server.metrics().connectionsTotal).toBe(connects);
  });

  it('GIVEN prior-knowledge h2c on the same port WHEN streams share one session THEN they share one connection id with distinct sequences', async () => {
    const session = http2.connect(server.url);
    try {
      await new Promise<void>((resolve, reject) => session.once('connect', () => resolve()).once('error', reject));
      const replies = await Promise.all(
        Array.from({ length: 5 }, () =>
          new Promise<{ headers: http2.IncomingHttpHeaders; body: WhoBody }>((resolve, reject) => {
            const stream = session.request({ ':path': '/h2' });
            let text = '';
            let headers: http2.IncomingHttpHeaders = {};
            stream.on('response', (h) => (headers = h));
            stream.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
            stream.on('end', () => resolve({ headers, body: JSON.parse(text) as WhoBody }));
            stream.on('error', reject);
          }),
        ),
      );
      expect(new Set(replies.map((r) => r.body.connectionId))).toEqual(new Set([`${pod.pod}/1`]));
      expect(replies.map((r) => r.body.sequence).sort()).toEqual([1, 2, 3, 4, 5]);
      expect(replies.every((r) => r.body.protocol === 'h2' && r.body.peerPort === session.socket.localPort)).toBe(true);
      expect(replies.every((r) => r.headers[IdentityHeader.connectionId] === `${pod.pod}/1`)).toBe(true);
      expect(server.metrics().connectionsByProtocol).toEqual({ 'http/1.1': 0, h2: 1 });
    } finally {
      session.close();
    }
  });

  it('GIVEN h2c turned off WHEN an h2 client connects THEN it is not served as HTTP/2', async () => {
    await using plain = await startHttpServer({ host: '127.0.0.1', port: 0, h2c: false });
    const session = http2.connect(plain.url);
    const outcome = await new Promise<string>((resolve) => {
      session.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      session.once('close', () => resolve('closed'));
      const stream = session.request({ ':path': '/' });
      stream.on('response', () => resolve('answered'));
      stream.on('error', () => {});
    });
    session.destroy();
    expect(outcome).not.toBe('answered');
    expect(plain.metrics().connectionsByProtocol.h2).toBe(0);
  });

  it('GIVEN payload and delay knobs WHEN requested THEN the body carries that many payload bytes', async () => {
    await using sized = await startHttpServer({ host: '127.0.0.1', port: 0, responseBytes: 100 });
    const connection = await RawHttpConnection.open(sized.port);
    try {
      expect((JSON.parse((await connection.request('/')).body) as WhoBody).payload).toHaveLength(100);
      expect((JSON.parse((await connection.request('/?payload_bytes=7&delay_ms=10')).body) as WhoBody).payload).toHaveLength(7);
      expect((await connection.request('/?payload_bytes=lots')).status).toBe(400);
    } finally {
      connection.close();
    }
  });
});
