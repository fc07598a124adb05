import { jest } from '@jest/globals';
import http2 from 'node:http2';
import { IdentityHeader } from '../../../../harness/workloads/identity.ts';
import { startHttpServer, type WhoBody } from '../../../../harness/workloads/http/server.ts';
import { RawHttpConnection, waitFor } from '../helpers.ts';

jest.setTimeout(30_000);

/** The value of a sample in Prometheus text, summed over its label sets. */
function sample(text: string, name: string, labels = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match && match[1] === name && (match[2] ?? '').includes(labels)) sum += Number(match[3]);
  }
  return sum;
}

async function h2Get(session: http2.ClientHttp2Session, path: string): Promise<WhoBody> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path });
    let text = '';
    stream.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    stream.on('end', () => resolve(JSON.parse(text) as WhoBody));
    stream.on('error', reject);
  });
}

describe('HTTP server counters', () => {
  it('GIVEN a mix of HTTP/1.1 and h2c clients WHEN they finish THEN metrics() and /metrics equal what the clients counted', async () => {
    await using server = await startHttpServer({ host: '127.0.0.1', port: 0, pod: 'm' });
    const clientCounts = new Map<string, number>();
    const count = (id: string) => clientCounts.set(id, (clientCounts.get(id) ?? 0) + 1);

    for (let c = 0; c < 3; c += 1) {
      const connection = await RawHttpConnection.open(server.port);
      for (let r = 0; r <= c; r += 1) count((await connection.request(`/c${c}`)).headers[IdentityHeader.connectionId] ?? '');
      connection.close();
    }
    const session = http2.connect(server.url);
    for (let r = 0; r < 4; r += 1) count((await h2Get(session, '/h2')).connectionId);
    session.close();
    await waitFor('all client connections to close', () => server.metrics().connectionsActive === 0);

    const requests = [...clientCounts.values()].reduce((a, b) => a + b, 0);
    const metrics = server.metrics();
    expect(requests).toBe(10);
    expect(metrics.requestsTotal).toBe(requests);
    expect(metrics.responsesByStatus).toEqual({ '200': requests });
    expect(metrics.connectionsTotal).toBe(clientCounts.size);
    expect(metrics.perConnection).toEqual(Object.fromEntries(clientCounts));
    expect(metrics.connectionsByProtocol).toEqual({ 'http/1.1': 3, h2: 1 });

    // The scrape is a control request on a connection of its own: counted as a connection, not a request.
    const scrape = await RawHttpConnection.open(server.port);
    const text = (await scrape.request('/metrics')).body;
    scrape.close();
    expect(sample(text, 'kth_http_requests_total')).toBe(requests);
    expect(sample(text, 'kth_http_responses_total', 'code="200"')).toBe(requests);
    expect(sample(text, 'kth_http_connections_total')).toBe(clientCounts.size + 1);
    expect(sample(text, 'kth_http_connections_total', 'protocol="h2"')).toBe(1);
    expect(sample(text, 'kth_http_requests_per_connection_count')).toBe(clientCounts.size);
    expect(sample(text, 'kth_http_requests_per_connection_sum')).toBe(requests);
    expect(sample(text, 'kth_http_control_requests_total')).toBe(1); // the scrape itself
    expect(server.metrics().controlRequestsTotal).toBe(1);
    expect(server.metrics().requestsTotal).toBe(requests);
  });

  it('GIVEN error rate 1 WHEN requests arrive THEN every answer is a 500 still carrying identity, and the server counts them', async () => {
    await using server = await startHttpServer({ host: '127.0.0.1', port: 0, errorRate: 1, pod: 'e' });
    const connection = await RawHttpConnection.open(server.port);
    try {
      for (let i = 0; i < 5; i += 1) {
        const response = await connection.request('/');
        expect(response.status).toBe(500);
        expect(response.headers[IdentityHeader.pod]).toBe('e');
        expect(JSON.parse(response.body)).toMatchObject({ error: 'injected', status: 500, sequence: i + 1 });
      }
    } finally {
      connection.close();
    }
    expect(server.metrics()).toMatchObject({ requestsTotal: 5, errorsInjected: 5, responsesByStatus: { '500': 5 } });
  });

  it('GIVEN the readiness toggle WHEN flipped THEN /readyz follows while /healthz stays up, and probes are not workload requests', async () => {
    await using server = await startHttpServer({ host: '127.0.0.1', port: 0 });
    const connection = await RawHttpConnection.open(server.port);
    try {
      expect((await connection.request('/readyz')).status).toBe(200);
      expect(JSON.parse((await connection.request('/admin/readiness?ready=false', 'POST')).body)).toEqual({ ready: false });
      expect((await connection.request('/readyz')).status).toBe(503);
      expect((await connection.request('/healthz')).status).toBe(200);
      expect(JSON.parse((await connection.request('/admin/readiness', 'POST')).body)).toEqual({ ready: true });
      expect((await connection.request('/readyz')).status).toBe(200);
      expect((await connection.request('/admin/readiness?ready=maybe', 'POST')).status).toBe(400);
      expect((await connection.request('/admin/readiness')).status).toBe(405);
      const workload = await connection.request('/');
      expect(workload.headers[IdentityHeader.sequence]).toBe('9');
    } finally {
      connection.close();
    }
    expect(server.metrics()).toMatchObject({ requestsTotal: 1, controlRequestsTotal: 8, ready: true });
    server.setReady(false);
    expect(server.ready).toBe(false);
  });
});
