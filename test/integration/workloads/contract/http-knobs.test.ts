import { describe, expect, it, jest } from '@jest/globals';
import { serverRuntimes } from '../../../../harness/workloads/runtime.ts';
import { identityHeader } from '../../../support/contract-vectors.ts';
import { startSampleServer } from '../../../support/sample-server-process.ts';
import { h2Connect, h2Request, RawHttp1 } from '../../../support/wire-clients.ts';
import { bodyOf, expectBodyKeys, labelled, metricSum, scrapeOn, testTimeoutMs, value, waitFor } from './contract-helpers.ts';

jest.setTimeout(testTimeoutMs);

describe.each(serverRuntimes)('HTTP contract, response knobs [%s]', (runtime) => {
  it('GIVEN --response-bytes and --response-delay WHEN requests come without and with overrides THEN the settings apply and ?payload_bytes/?delay_ms override them', async () => {
    await using server = await startSampleServer(runtime, 'http', ['--response-bytes', '100', '--response-delay', '200ms']);
    const connection = await RawHttp1.open(server.port);
    try {
      const byDefault = await connection.request('/');
      expect(bodyOf(byDefault).payload).toBe('x'.repeat(100));
      expect(byDefault.elapsedMs).toBeGreaterThanOrEqual(190);
      const overridden = await connection.request('/?payload_bytes=0&delay_ms=0');
      const body = bodyOf(overridden);
      expect(body).not.toHaveProperty('payload');
      expectBodyKeys(body);
      expect(overridden.elapsedMs).toBeLessThan(190);
      const bigger = await connection.request('/?payload_bytes=1000');
      expect(bodyOf(bigger).payload).toBe('x'.repeat(1000));
    } finally {
      connection.close();
    }
  });

  it('GIVEN env KTH_RESPONSE_BYTES and KTH_RESPONSE_DELAY WHEN requested THEN the env settings apply like the flags', async () => {
    await using server = await startSampleServer(runtime, 'http', [], { KTH_RESPONSE_BYTES: '12', KTH_RESPONSE_DELAY: '150' });
    const connection = await RawHttp1.open(server.port);
    try {
      const reply = await connection.request('/');
      expect(bodyOf(reply).payload).toBe('x'.repeat(12));
      expect(reply.elapsedMs).toBeGreaterThanOrEqual(140);
    } finally {
      connection.close();
    }
  });

  it('GIVEN error rate 1 WHEN requests arrive over HTTP/1.1 and h2 THEN every answer is a 500 with error "injected" and full identity, a bad query is still a 400, and the server counts them', async () => {
    await using server = await startSampleServer(runtime, 'http', ['--error-rate', '1', '--pod-name', 'err']);
    const connection = await RawHttp1.open(server.port);
    try {
      for (let i = 1; i <= 4; i += 1) {
        const reply = await connection.request(`/fail/${i}`);
        expect(reply.status).toBe(500);
        expect(reply.headers[identityHeader.pod]).toBe('err');
        expect(reply.headers[identityHeader.sequence]).toBe(String(i));
        const body = bodyOf(reply);
        expectBodyKeys(body);
        expect(body).toMatchObject({ pod: 'err', connectionId: 'err/1', sequence: i, status: 500, error: 'injected', path: `/fail/${i}`, protocol: 'http/1.1' });
      }
      const bad = await connection.request('/?delay_ms=soon');
      expect(bad.status).toBe(400);
      expect(bodyOf(bad).error).toMatch(/^delay_ms=soon: /);
      // Control paths are never failed on purpose.
      expect((await connection.request('/healthz')).status).toBe(200);
      const h2 = await h2Connect(server.url);
      try {
        const reply = await h2Request(h2.session, '/h2');
        expect(reply.status).toBe(500);
        expect(bodyOf(reply)).toMatchObject({ connectionId: 'err/2', protocol: 'h2', status: 500, error: 'injected' });
      } finally {
        h2.close();
      }
      const text = await scrapeOn(connection);
      expect(value(text, 'kth_http_requests_total')).toBe(6);
      expect(value(text, 'kth_http_errors_injected_total')).toBe(5);
      expect(labelled(text, 'kth_http_responses_total', 'code', '500')).toBe(5);
      expect(labelled(text, 'kth_http_responses_total', 'code', '400')).toBe(1);
      expect(labelled(text, 'kth_http_responses_total', 'code', '200')).toBe(0);
    } finally {
      connection.close();
    }
  });

  it('GIVEN a client that hangs up during ?delay_ms WHEN it goes THEN the server stops the work at once: in-flight back to 0, the request counted, no response counted', async () => {
    await using server = await startSampleServer(runtime, 'http', []);
    const connection = await RawHttp1.open(server.port);
    void connection.request('/slow?delay_ms=5000').catch(() => undefined);
    const scraper = await RawHttp1.open(server.port);
    try {
      await waitFor('the request in flight', async () => value(await scrapeOn(scraper), 'kth_http_requests_in_flight') === 1);
      connection.close();
      const text = await waitFor('the abandoned request to stop', async () => {
        const scraped = await scrapeOn(scraper);
        return value(scraped, 'kth_http_requests_in_flight') === 0 && scraped;
      }, 2000);
      expect(value(text, 'kth_http_requests_total')).toBe(1);
      expect(metricSum(text, 'kth_http_responses_total') ?? 0).toBe(0);
    } finally {
      scraper.close();
    }
  });
});
