import { describe, expect, it, jest } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFinalCounters } from '../../../../harness/workloads/final-counters.ts';
import { serverRuntimes } from '../../../../harness/workloads/runtime.ts';
import { startSampleServer } from '../../../support/sample-server-process.ts';
import { echoClient, httpOnce, whoOutcome } from '../../../support/wire-clients.ts';
import { metricByLabel, testTimeoutMs, value } from './contract-helpers.ts';

jest.setTimeout(testTimeoutMs);

async function withDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'kth-final-'));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The termination message both servers leave on exit carries the counts /metrics gave last: the
 * harness reads old pods' counts from it after they are gone (engine/server-counts.ts).
 */
describe.each(serverRuntimes)('final counters in the termination log [%s]', (runtime) => {
  it('GIVEN --termination-log WHEN the HTTP server is stopped by SIGTERM THEN the file holds the last scrape\'s requests and connections as JSON', () =>
    withDir(async (dir) => {
      const path = join(dir, 'termination-log');
      await using server = await startSampleServer(runtime, 'http', ['--termination-log', path, '--pod-name', 'final-http']);
      for (let i = 0; i < 7; i += 1) expect((await httpOnce(server.port, `/?i=${i}`)).status).toBe(200);
      const last = await server.metricsText();
      server.signal('SIGTERM');
      await server.exited;
      const counters = parseFinalCounters(await readFile(path, 'utf8'));
      expect(counters).toEqual({ kth: 'final-counters', pod: 'final-http', requests: 7, connections: value(last, 'kth_http_connections_total'), goaways: null });
      expect(value(last, 'kth_http_requests_total')).toBe(7);
    }));

  it('GIVEN --termination-log WHEN the gRPC server is stopped by SIGTERM THEN the file holds its replies, connections and GOAWAYs by reason', () =>
    withDir(async (dir) => {
      const path = join(dir, 'termination-log');
      await using server = await startSampleServer(runtime, 'grpc', ['--termination-log', path, '--pod-name', 'final-grpc']);
      const client = echoClient(server.target);
      try {
        for (let i = 0; i < 5; i += 1) expect((await whoOutcome(client, { clientId: `c${i}` })).ok).toBe(true);
        const last = await server.metricsText();
        server.signal('SIGTERM');
        await server.exited;
        const counters = parseFinalCounters(await readFile(path, 'utf8'));
        expect(counters?.requests).toBe(value(last, 'kth_grpc_replies_total'));
        expect(counters?.requests).toBe(5);
        expect(counters?.connections).toBe(value(last, 'kth_grpc_connections_total'));
        // The shutdown's GOAWAY is counted after the last scrape: one more, on the one connection.
        expect(counters?.goaways).toEqual({ ...metricByLabel(last, 'kth_grpc_goaways_sent_total', 'reason'), shutdown: 1 });
      } finally {
        client.close();
      }
    }));

  it('GIVEN a termination log in a missing directory WHEN the server exits THEN it says so on stderr and still exits 0', () =>
    withDir(async (dir) => {
      const path = join(dir, 'missing', 'termination-log');
      await using server = await startSampleServer(runtime, 'http', ['--termination-log', path]);
      server.signal('SIGTERM');
      expect((await server.exited).code).toBe(0);
      expect(server.stderr()).toContain(`could not write the final counters to ${path}`);
    }));
});
