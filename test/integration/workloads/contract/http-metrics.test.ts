import { describe, expect, it, jest } from '@jest/globals';
import { serverRuntimes } from '../../../../harness/workloads/runtime.ts';
import { httpMetricTypes, readinessSteps, readyzBody } from '../../../support/contract-vectors.ts';
import { startSampleServer } from '../../../support/sample-server-process.ts';
import { h2Connect, h2Request, metricTypes, nonZero, RawHttp1 } from '../../../support/wire-clients.ts';
import { bodyOf, identityOf, labelled, metricByLabel, testTimeoutMs, value, waitFor } from './contract-helpers.ts';

jest.setTimeout(testTimeoutMs);

describe.each(serverRuntimes)('HTTP contract, /metrics and readiness [%s]', (runtime) => {
  it('GIVEN a mix of HTTP/1.1 and h2c clients WHEN scraped THEN every kth_http_* series has the contract name and type and equals what the clients did', async () => {
    await using server = await startSampleServer(runtime, 'http', ['--pod-name', 'm']);
    // 3 HTTP/1.1 connections carrying 1, 2 and 3 requests, closed.
    for (let c = 1; c <= 3; c += 1) {
      const connection = await RawHttp1.open(server.port);
      for (let r = 1; r <= c; r += 1) expect((await connection.request(`/c${c}`)).status).toBe(200);
      connection.close();
    }
    // 1 h2c connection carrying 4 streams, closed.
    const h2 = await h2Connect(server.url);
    for (let r = 0; r < 4; r += 1) expect((await h2Request(h2.session, '/h2')).status).toBe(200);
    h2.session.close();
    await h2.closed;
    // 1 connection that stays open: a 200 and a 400.
    const open = await RawHttp1.open(server.port);
    const openId = identityOf((await open.request('/')).headers).connectionId as string;
    expect((await open.request('/?payload_bytes=many')).status).toBe(400);
    // The scraper: a connection of its own, only control requests.
    const scraper = await RawHttp1.open(server.port);
    try {
      let scrape = await scraper.request('/metrics');
      await waitFor('the closed connections to be counted closed', async () => {
        scrape = await scraper.request('/metrics');
        return value(scrape.body, 'kth_http_connections_active') === 2;
      });
      const text = scrape.body;
      const scraperId = identityOf(scrape.headers).connectionId as string;
      const scrapes = Number(identityOf(scrape.headers).sequence);
      expect(scrape.headers['content-type']).toMatch(/^text\/plain/);
      expect(metricTypes(text)).toEqual(httpMetricTypes);
      expect({
        requests: value(text, 'kth_http_requests_total'),
        responses: metricByLabel(text, 'kth_http_responses_total', 'code'),
        errorsInjected: value(text, 'kth_http_errors_injected_total'),
        control: value(text, 'kth_http_control_requests_total'),
        inFlight: value(text, 'kth_http_requests_in_flight'),
        connections: {
          'http/1.1': labelled(text, 'kth_http_connections_total', 'protocol', 'http/1.1'),
          h2: labelled(text, 'kth_http_connections_total', 'protocol', 'h2'),
          pending: labelled(text, 'kth_http_connections_total', 'protocol', 'pending'),
        },
        active: value(text, 'kth_http_connections_active'),
        perOpenConnection: nonZero(metricByLabel(text, 'kth_http_connection_requests', 'connection_id')),
        openConnectionSeries: Object.keys(metricByLabel(text, 'kth_http_connection_requests', 'connection_id') ?? {}).sort(),
        closedCount: value(text, 'kth_http_requests_per_connection_count'),
        closedSum: value(text, 'kth_http_requests_per_connection_sum'),
        closedBuckets: metricByLabel(text, 'kth_http_requests_per_connection_bucket', 'le'),
        ready: value(text, 'kth_http_ready'),
      }).toEqual({
        requests: 12,
        responses: { '200': 11, '400': 1 },
        errorsInjected: 0,
        control: scrapes,
        inFlight: 0,
        connections: { 'http/1.1': 5, h2: 1, pending: 0 },
        active: 2,
        perOpenConnection: { [openId]: 2 },
        // Only open connections have a series; the scraper's may be there with 0.
        openConnectionSeries: expect.arrayContaining([openId]),
        closedCount: 4,
        closedSum: 10,
        closedBuckets: { '0': 0, '1': 1, '2': 2, '5': 4, '10': 4, '20': 4, '50': 4, '100': 4, '200': 4, '500': 4, '1000': 4, '5000': 4, '10000': 4, '+Inf': 4 },
        ready: 1,
      });
      const series = Object.keys(metricByLabel(text, 'kth_http_connection_requests', 'connection_id') ?? {});
      expect(series.filter((id) => id !== openId && id !== scraperId)).toEqual([]);
    } finally {
      open.close();
      scraper.close();
    }
  });

  it('GIVEN the readiness toggle WHEN flipped THEN /readyz and kth_http_ready follow, /healthz and workload requests keep working, and none of it counts as workload', async () => {
    await using server = await startSampleServer(runtime, 'http', []);
    const connection = await RawHttp1.open(server.port);
    try {
      const steps: unknown[] = [];
      for (const step of readinessSteps) {
        const reply = await connection.request(step.target, { method: step.method });
        const body = bodyOf(reply);
        const readyz = await connection.request('/readyz');
        expect(readyz.body).toBe(step.readyAfter ? readyzBody.ready : readyzBody.notReady);
        const metrics = await connection.request('/metrics');
        steps.push({
          step: `${step.method} ${step.target}`,
          status: reply.status,
          body,
          readyz: readyz.status,
          ready: value(metrics.body, 'kth_http_ready'),
        });
      }
      expect(steps).toEqual(
        readinessSteps.map((step) => ({
          step: `${step.method} ${step.target}`,
          status: step.status,
          body: step.body,
          readyz: step.readyAfter ? 200 : 503,
          ready: step.readyAfter ? 1 : 0,
        })),
      );
      expect(JSON.parse((await connection.request('/admin/readiness?ready=false', { method: 'POST' })).body)).toEqual({ ready: false });
      expect((await connection.request('/healthz')).status).toBe(200);
      const work = await connection.request('/while-not-ready');
      expect(work.status).toBe(200);
      const text = (await connection.request('/metrics')).body;
      expect(value(text, 'kth_http_requests_total')).toBe(1);
      // 3 per step, then the toggle, /healthz and this scrape.
      expect(value(text, 'kth_http_control_requests_total')).toBe(readinessSteps.length * 3 + 3);
      expect(bodyOf(work).sequence).toBe(readinessSteps.length * 3 + 3);
    } finally {
      connection.close();
    }
  });
});
