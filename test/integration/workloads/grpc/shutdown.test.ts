import { jest } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import { startGrpcServer } from '../../../../harness/workloads/grpc/server.ts';
import { echoClientConstructor, type WhoReply } from '../../../../harness/workloads/grpc/proto.ts';
import { spawnKth, waitFor } from '../helpers.ts';

jest.setTimeout(60_000);

type EchoClient = grpc.Client & { Who(request: object, callback: (error: grpc.ServiceError | null, reply: WhoReply) => void): void };
const Echo = echoClientConstructor();
const newClient = (target: string) => new Echo(target, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }) as unknown as EchoClient;
const outcome = (client: EchoClient, request: object) =>
  new Promise<string>((resolve) => client.Who(request, (error) => resolve(error ? grpc.status[error.code] ?? String(error.code) : 'OK')));

describe('gRPC graceful shutdown', () => {
  it('GIVEN RPCs in flight WHEN shut down THEN tryShutdown lets them finish, GOAWAY is counted as shutdown, new calls fail', async () => {
    const server = await startGrpcServer({ host: '127.0.0.1', port: 0, metricsPort: 0 });
    const client = newClient(server.target);
    try {
      const running = Array.from({ length: 3 }, () => outcome(client, { delayMs: 800 }));
      await waitFor('3 RPCs in flight', () => server.metrics().inFlight === 3);
      expect(await server.shutdown()).toEqual({ drained: true, connectionsForced: 0 });
      expect(await Promise.all(running)).toEqual(['OK', 'OK', 'OK']);
      expect(server.metrics().goawaysSent).toMatchObject({ shutdown: 1, max_age: 0 });
      expect(await outcome(client, {})).toBe('UNAVAILABLE');
    } finally {
      client.close();
    }
  });

  it('GIVEN an RPC longer than the drain timeout WHEN shut down THEN forceShutdown cancels it after the deadline', async () => {
    const server = await startGrpcServer({ host: '127.0.0.1', port: 0, metricsPort: 0, drainTimeoutMs: 200 });
    const client = newClient(server.target);
    try {
      const running = outcome(client, { delayMs: 10_000 });
      await waitFor('the RPC in flight', () => server.metrics().inFlight === 1);
      expect(await server.shutdown()).toEqual({ drained: false, connectionsForced: 1 });
      expect(await running).not.toBe('OK');
    } finally {
      client.close();
    }
  });

  it('GIVEN kth serve grpc as a process WHEN it gets SIGTERM with RPCs in flight THEN they complete and it exits 0', async () => {
    await using kth = spawnKth(['serve', 'grpc', '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0', '--pod-name', 'proc']);
    const { port, metricsPort } = await kth.listening;
    expect(metricsPort).toBeGreaterThan(0);
    const client = newClient(`127.0.0.1:${port}`);
    try {
      const running = Array.from({ length: 3 }, () => outcome(client, { delayMs: 1000 }));
      await waitFor('3 RPCs in flight', async () => /^kth_grpc_rpcs_in_flight 3$/m.test(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()));
      process.kill(kth.pid, 'SIGTERM');
      expect(await Promise.all(running)).toEqual(['OK', 'OK', 'OK']);
      expect(await kth.exited).toEqual({ code: 0, signal: null });
    } finally {
      client.close();
    }
  });
});
