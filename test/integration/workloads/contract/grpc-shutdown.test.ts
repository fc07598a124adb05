import { describe, expect, it, jest } from '@jest/globals';
import http2 from 'node:http2';
import { serverRuntimes } from '../../../../harness/workloads/runtime.ts';
import { echoServiceName, exitCodes, forcedLine, signalLines } from '../../../support/contract-vectors.ts';
import { startSampleServer } from '../../../support/sample-server-process.ts';
import { connectOutcome, echoClient, h2Connect, healthCheck, healthClient, httpOnce, whoOutcome } from '../../../support/wire-clients.ts';
import { metricByLabel, metricValue, testTimeoutMs, value, waitFor } from './contract-helpers.ts';

jest.setTimeout(testTimeoutMs);

function linesIn(text: string, wanted: string[]): string[] {
  return text.split('\n').filter((line) => wanted.some((w) => line === w.trimEnd()));
}

describe.each(serverRuntimes)('gRPC contract, signals and shutdown [%s]', (runtime) => {
  it('GIVEN a shutdown delay WHEN SIGTERM arrives THEN health says NOT_SERVING while calls are still served, then connections get GOAWAY, a running delayed call finishes, and it exits 0', async () => {
    await using server = await startSampleServer(runtime, 'grpc', ['--shutdown-delay', '1200ms', '--pod-name', 'term']);
    const client = echoClient(server.target);
    const health = healthClient(server.target);
    const watcher = await h2Connect(`http://${server.target}`);
    try {
      expect(await healthCheck(health, '')).toBe('SERVING');
      const running = whoOutcome(client, { clientId: 'long', delayMs: 2500 });
      await waitFor('the delayed call in flight', async () => (await metricValue(server, 'kth_grpc_rpcs_in_flight')) === 1);
      const signalledAt = performance.now();
      server.signal('SIGTERM');
      const lines = signalLines('grpc', 'SIGTERM');
      await server.waitForStderr(lines.shuttingDown);
      // During the delay: NOT_SERVING everywhere, calls still served.
      expect([await healthCheck(health, ''), await healthCheck(health, echoServiceName)]).toEqual(['NOT_SERVING', 'NOT_SERVING']);
      expect((await httpOnce(server.metricsPort, '/readyz')).status).toBe(503);
      expect(value(await server.metricsText(), 'kth_grpc_ready')).toBe(0);
      const during = await whoOutcome(client, { clientId: 'during' });
      expect(during.ok && during.value.sequence).toBe(2);
      const callConnection = during.ok ? during.value.connectionId : 'none';
      const newcomer = echoClient(server.target);
      try {
        expect((await whoOutcome(newcomer, { clientId: 'new-during-delay' })).ok).toBe(true);
      } finally {
        newcomer.close();
      }
      expect(performance.now() - signalledAt).toBeLessThan(1200);

      // After the delay: GOAWAY to every connection, the running call still completes.
      const goaway = await watcher.firstGoaway;
      expect(goaway.code).toBe(http2.constants.NGHTTP2_NO_ERROR);
      expect(goaway.at - signalledAt).toBeGreaterThanOrEqual(1100);
      // Draining: no new connections, while the delayed call still runs.
      let finishedAt = Number.POSITIVE_INFINITY;
      void running.then(() => (finishedAt = performance.now()));
      await waitFor('new connections to be refused', async () => (await connectOutcome(server.port)) === 'ECONNREFUSED', 3000);
      expect(finishedAt).toBe(Number.POSITIVE_INFINITY);
      const shutdownGoaways = metricByLabel(await server.metricsText(), 'kth_grpc_goaways_sent_total', 'reason');
      expect(shutdownGoaways?.shutdown).toBeGreaterThanOrEqual(1);
      expect(shutdownGoaways?.max_age).toBe(0);
      const finished = await running;
      expect(finished.ok && [finished.value.clientId, finished.value.connectionId, finished.value.sequence]).toEqual(['long', callConnection, 1]);
      expect(await server.exited).toEqual({ code: exitCodes.SIGTERM, signal: null });
      expect(linesIn(server.stderr(), [lines.shuttingDown, lines.drained])).toEqual([lines.shuttingDown.trimEnd(), lines.drained.trimEnd()]);
      expect(server.stdout()).toBe(`${server.listeningLine}\n`);
      expect(await connectOutcome(server.port)).toBe('ECONNREFUSED');
    } finally {
      client.close();
      health.close();
      watcher.close();
    }
  });

  it('GIVEN --no-drain WHEN SIGTERM arrives with a call running THEN the call fails at once and it exits 0 saying how many connections it closed', async () => {
    await using server = await startSampleServer(runtime, 'grpc', ['--no-drain', '--shutdown-delay', '5s']);
    const client = echoClient(server.target);
    try {
      const running = whoOutcome(client, { delayMs: 20_000 });
      await waitFor('the call in flight', async () => (await metricValue(server, 'kth_grpc_rpcs_in_flight')) === 1);
      const signalledAt = performance.now();
      server.signal('SIGTERM');
      const outcome = await running;
      expect(outcome.ok).toBe(false);
      // At once: neither the shutdown delay (ignored without drain) nor the 20s call is waited for.
      expect(performance.now() - signalledAt).toBeLessThan(3000);
      expect(await server.exited).toEqual({ code: exitCodes.SIGTERM, signal: null });
      expect(Number(forcedLine('grpc').exec(server.stderr())?.[1])).toBeGreaterThanOrEqual(1);
    } finally {
      client.close();
    }
  });

  it('GIVEN a drain timeout shorter than a running call WHEN SIGTERM arrives THEN the call is cancelled after the timeout and it exits 0 saying so', async () => {
    await using server = await startSampleServer(runtime, 'grpc', ['--drain-timeout', '300ms']);
    const client = echoClient(server.target);
    try {
      const running = whoOutcome(client, { delayMs: 10_000 });
      await waitFor('the call in flight', async () => (await metricValue(server, 'kth_grpc_rpcs_in_flight')) === 1);
      const signalledAt = performance.now();
      server.signal('SIGTERM');
      const outcome = await running;
      expect(outcome.ok).toBe(false);
      const elapsed = performance.now() - signalledAt;
      expect(elapsed).toBeGreaterThanOrEqual(250);
      expect(elapsed).toBeLessThan(3000);
      expect(await server.exited).toEqual({ code: exitCodes.SIGTERM, signal: null });
      expect(Number(forcedLine('grpc').exec(server.stderr())?.[1])).toBeGreaterThanOrEqual(1);
    } finally {
      client.close();
    }
  });

  it('GIVEN SIGINT WHEN a call is running THEN it drains (the call completes) and exits 130 with the SIGINT lines', async () => {
    await using server = await startSampleServer(runtime, 'grpc', []);
    const client = echoClient(server.target);
    try {
      const running = whoOutcome(client, { delayMs: 600 });
      await waitFor('the call in flight', async () => (await metricValue(server, 'kth_grpc_rpcs_in_flight')) === 1);
      server.signal('SIGINT');
      expect((await running).ok).toBe(true);
      expect(await server.exited).toEqual({ code: exitCodes.SIGINT, signal: null });
      const lines = signalLines('grpc', 'SIGINT');
      expect(linesIn(server.stderr(), [lines.shuttingDown, lines.drained])).toEqual([lines.shuttingDown.trimEnd(), lines.drained.trimEnd()]);
    } finally {
      client.close();
    }
  });

  it('GIVEN a drain in progress WHEN a second signal arrives THEN the process exits at once', async () => {
    await using server = await startSampleServer(runtime, 'grpc', ['--drain-timeout', '30s']);
    const client = echoClient(server.target);
    try {
      const running = whoOutcome(client, { delayMs: 20_000 });
      await waitFor('the call in flight', async () => (await metricValue(server, 'kth_grpc_rpcs_in_flight')) === 1);
      server.signal('SIGTERM');
      await server.waitForStderr(signalLines('grpc', 'SIGTERM').shuttingDown);
      const againAt = performance.now();
      server.signal('SIGTERM');
      const exit = await server.exited;
      expect(performance.now() - againAt).toBeLessThan(2000);
      expect(exit).toEqual({ code: exitCodes.SIGTERM, signal: null });
      expect((await running).ok).toBe(false);
    } finally {
      client.close();
    }
  });
});
