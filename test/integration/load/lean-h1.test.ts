import { jest } from '@jest/globals';
import net from 'node:net';
import { runHttpLoad } from '../../../harness/load/http/driver.ts';
import { eventsOfKind } from '../../../harness/recorder/events.ts';
import { memorySink, Recorder } from '../../../harness/recorder/recorder.ts';

jest.setTimeout(60_000);

/**
 * A raw TCP server speaking just enough HTTP/1.1 to answer GETs the way a test needs (chunked and
 * split into several writes, Connection: close, cut short mid-body, never): the sample server and
 * node:http cannot produce these byte layouts on demand. `answer(n, socket)` writes the response to
 * the connection's n-th request (1-based).
 */
async function rawServer(answer: (n: number, socket: net.Socket, connection: number) => void) {
  let connections = 0;
  let requests = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    const connection = ++connections;
    let n = 0;
    let pending = '';
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.on('data', (data) => {
      pending += data.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end !== -1; end = pending.indexOf('\r\n\r\n')) {
        pending = pending.slice(end + 4);
        requests++;
        answer(++n, socket, connection);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`,
    requests: () => requests,
    connections: () => connections,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const identity = (connection: number, n: number) => `x-kth-pod: raw\r\nx-kth-connection-id: raw/${connection}\r\nx-kth-sequence: ${n}\r\n`;

describe('lean HTTP/1.1 client (persistent and short-lived models)', () => {
  it('GIVEN chunked responses written in pieces and 4-deep pipelining THEN every response is attributed and counted exactly once', async () => {
    // Each response in two writes a turn apart, in order (pipelined answers must not interleave).
    const queues = new WeakMap<net.Socket, Promise<void>>();
    const server = await rawServer((n, socket, c) => {
      const text = `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n${identity(c, n)}\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n`;
      const cut = 20 + (n % 40);
      const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
      const previous = queues.get(socket) ?? Promise.resolve();
      queues.set(socket, previous.then(async () => {
        socket.write(text.slice(0, cut));
        await turn();
        socket.write(text.slice(cut));
      }));
    });
    try {
      const recorder = new Recorder();
      const result = await runHttpLoad({ target: server.url, model: 'persistent', connections: 2, pipelining: 4, maxRequests: 400, arrival: { executor: 'constant-vus', concurrency: 8, durationMs: 20_000 }, recorder });
      recorder.close();
      expect(result.schedule).toMatchObject({ reason: 'max-requests', sent: 400 });
      expect(result.totals).toMatchObject({ completed: 400, attributed: 400, errors: 0 });
      expect(server.requests()).toBe(400);
      expect(server.connections()).toBe(2);
      expect(result.totals.pods.get('raw')?.newConnections).toBe(2);
    } finally {
      await server.close();
    }
  });

  it('GIVEN a server that answers every 3rd request with Connection: close THEN the persistent lane reconnects, losing nothing, and each close is recorded as the server\'s', async () => {
    const server = await rawServer((n, socket, c) => {
      const close = n === 3;
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 2\r\n${close ? 'Connection: close\r\n' : ''}${identity(c, n)}\r\nok`);
      if (close) socket.end();
    });
    try {
      const { sink, events } = memorySink();
      const recorder = new Recorder({ sink });
      const result = await runHttpLoad({ target: server.url, model: 'persistent', connections: 1, maxRequests: 30, arrival: { executor: 'constant-vus', concurrency: 1, durationMs: 20_000 }, recorder });
      recorder.close();
      expect(result.totals).toMatchObject({ completed: 30, attributed: 30, errors: 0 });
      expect(server.connections()).toBe(10);
      expect(result.totals.pods.get('raw')?.newConnections).toBe(10);
      const closes = eventsOfKind(events, 'connection-close');
      expect(closes).toHaveLength(10);
      expect(closes.map((c) => c.requests)).toEqual(Array(10).fill(3));
      expect(closes.slice(0, 9).every((c) => c.closedBy === 'server')).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('GIVEN a server that closes mid-body THEN each request fails as a reset saying where it was cut, and none is counted as answered', async () => {
    const server = await rawServer((n, socket, c) => {
      socket.end(`HTTP/1.1 200 OK\r\nContent-Length: 100\r\n${identity(c, n)}\r\npartial`);
    });
    try {
      const recorder = new Recorder();
      const result = await runHttpLoad({ target: server.url, model: 'persistent', connections: 2, arrival: { executor: 'constant-arrival-rate', rate: 100, durationMs: 200 }, recorder });
      recorder.close();
      expect(result.totals).toMatchObject({ completed: 20, attributed: 0, errors: 20, errorsByKind: { reset: 20 } });
      expect(server.requests()).toBe(20);
    } finally {
      await server.close();
    }
  });

  it('GIVEN short-lived connections THEN each request gets its own connection, sent with Connection: close and ended by the client', async () => {
    const server = await rawServer((n, socket, c) => socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 0\r\n${identity(c, n)}\r\n`));
    try {
      const { sink, events } = memorySink();
      const recorder = new Recorder({ sink });
      const result = await runHttpLoad({ target: server.url, model: 'short-lived', connections: 3, maxRequests: 60, arrival: { executor: 'constant-vus', concurrency: 3, durationMs: 20_000 }, recorder });
      recorder.close();
      expect(result.totals).toMatchObject({ completed: 60, attributed: 60, errors: 0 });
      expect(server.connections()).toBe(60);
      const closes = eventsOfKind(events, 'connection-close');
      expect(closes).toHaveLength(60);
      expect(closes.every((c) => c.closedBy === 'client' && c.requests === 1)).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('GIVEN Connection: close answers from a server that then keeps the connection open THEN each is still counted once and closed by the client within the linger bound', async () => {
    const server = await rawServer((n, socket, c) => socket.write(`HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n${identity(c, n)}\r\nok`));
    try {
      const { sink, events } = memorySink();
      const recorder = new Recorder({ sink });
      const started = performance.now();
      const result = await runHttpLoad({ target: server.url, model: 'short-lived', connections: 2, maxRequests: 10, arrival: { executor: 'constant-vus', concurrency: 2, durationMs: 20_000 }, recorder });
      recorder.close();
      expect(result.totals).toMatchObject({ completed: 10, attributed: 10, errors: 0 });
      expect(server.connections()).toBe(10);
      expect(eventsOfKind(events, 'connection-close').map((c) => [c.closedBy, c.requests])).toEqual(Array(10).fill(['client', 1]));
      expect(performance.now() - started).toBeLessThan(5000);
    } finally {
      await server.close();
    }
  });

  it('GIVEN a server that never answers THEN requests fail as timeouts and the connection is closed', async () => {
    const server = await rawServer(() => {});
    try {
      const recorder = new Recorder();
      const result = await runHttpLoad({ target: server.url, model: 'persistent', connections: 2, requestTimeoutMs: 300, arrival: { executor: 'constant-arrival-rate', rate: 10, durationMs: 200 }, recorder });
      recorder.close();
      expect(result.totals).toMatchObject({ completed: 2, attributed: 0, errors: 2, errorsByKind: { timeout: 2 } });
    } finally {
      await server.close();
    }
  });
});

describe('client max connection age on held connections', () => {
  it('GIVEN 2 persistent connections with a 250 ms max age over 2 s THEN each lane reconnects about every 250 ms, the client closes each old one after its last answer, and no request fails', async () => {
    const { startHttpServer } = await import('../../../harness/workloads/http/server.ts');
    const server = await startHttpServer({ host: '127.0.0.1', port: 0, pod: 'aged', node: 'n' } as Parameters<typeof startHttpServer>[0]);
    try {
      const { sink, events } = memorySink();
      const recorder = new Recorder({ sink });
      const result = await runHttpLoad({ target: `${server.url}/`, model: 'persistent', connections: 2, maxConnectionAgeMs: 250, arrival: { executor: 'constant-arrival-rate', rate: 100, durationMs: 2000 }, recorder });
      recorder.close();
      expect(result.totals).toMatchObject({ completed: 200, attributed: 200, errors: 0 });
      const opened = eventsOfKind(events, 'connection-open').length;
      // 2 lanes × 2000 / 250 = 16 connections when every age is exact; a connection retires on the
      // first request after its age, so a little later: never more, and not far fewer.
      expect(opened).toBeLessThanOrEqual(16);
      expect(opened).toBeGreaterThanOrEqual(10);
      expect(server.metrics().connectionsTotal).toBe(opened);
      const closes = eventsOfKind(events, 'connection-close');
      expect(closes).toHaveLength(opened);
      expect(closes.every((close) => close.closedBy === 'client')).toBe(true);
      expect(closes.reduce((sum, close) => sum + close.requests, 0)).toBe(200);
    } finally {
      await server.close();
    }
  });
});
