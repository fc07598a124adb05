import { jest } from '@jest/globals';
import http2 from 'node:http2';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { startGrpcServer } from '../../../../harness/workloads/grpc/server.ts';
import { echoClientConstructor, type WhoReply } from '../../../../harness/workloads/grpc/proto.ts';

jest.setTimeout(30_000);

type EchoClient = grpc.Client & { Who(request: object, callback: (error: grpc.ServiceError | null, reply: WhoReply) => void): void };
const Echo = echoClientConstructor();
const newClient = (target: string) => new Echo(target, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }) as unknown as EchoClient;
const who = (client: EchoClient, request: object) =>
  new Promise<WhoReply>((resolve, reject) => client.Who(request, (error, reply) => (error ? reject(error) : resolve(reply))));

function sample(text: string, name: string, labels = ''): number {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}${labels ? `{${labels}}` : ''} `) || (!labels && line.startsWith(`${name}{`)))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

describe('gRPC MaxConnectionAge', () => {
  it('GIVEN max age 400ms WHEN a raw HTTP/2 client connects THEN the server sends GOAWAY NO_ERROR with max_age debug data', async () => {
    await using server = await startGrpcServer({ host: '127.0.0.1', port: 0, metricsPort: 0, maxConnectionAgeMs: 400, maxConnectionAgeGraceMs: 1000 });
    const session = http2.connect(`http://${server.target}`);
    session.on('error', () => {});
    try {
      const [code, , data] = await new Promise<[number, number, Buffer | undefined]>((resolve) =>
        session.once('goaway', (errorCode, lastStreamID, opaqueData) => resolve([errorCode, lastStreamID, opaqueData])),
      );
      expect(code).toBe(http2.constants.NGHTTP2_NO_ERROR);
      expect(data?.toString()).toBe('max_age');
    } finally {
      session.destroy();
    }
    expect(server.metrics().goawaysSent).toEqual({ max_age: 1, shutdown: 0, other: 0 });
  });

  it('GIVEN max age 300ms and a 5s grace WHEN a client keeps calling for ~2s THEN it reconnects, no RPC fails, and the server counts match the client', async () => {
    await using server = await startGrpcServer({ host: '127.0.0.1', port: 0, metricsPort: 0, pod: 'age', maxConnectionAgeMs: 300, maxConnectionAgeGraceMs: 5000 });
    const client = newClient(server.target);
    const perConnection = new Map<string, number>();
    let failures = 0;
    try {
      // 40 calls of 50ms each: bounded in count, and long enough to outlive several max ages.
      for (let i = 0; i < 40; i += 1) {
        try {
          const reply = await who(client, { delayMs: 50 });
          perConnection.set(reply.connectionId, (perConnection.get(reply.connectionId) ?? 0) + 1);
        } catch {
          failures += 1;
        }
      }
    } finally {
      client.close();
    }
    expect(failures).toBe(0);
    expect(perConnection.size).toBeGreaterThanOrEqual(3);
    const metrics = server.metrics();
    expect(metrics.rpcsTotal).toBe(40);
    // Every connection that served calls and was replaced was told to go away because of its age.
    expect(metrics.goawaysSent?.max_age).toBeGreaterThanOrEqual(perConnection.size - 1);
    expect(Object.fromEntries(Object.entries(metrics.perConnection).filter(([, n]) => n > 0))).toEqual(Object.fromEntries(perConnection));

    const text = await (await fetch(`${server.metricsUrl}/metrics`)).text();
    expect(sample(text, 'kth_grpc_rpcs_total', 'method="Who"')).toBe(40);
    expect(sample(text, 'kth_grpc_replies_total')).toBe(40);
    expect(sample(text, 'kth_grpc_connections_total')).toBe(metrics.connectionsTotal);
    // The last connection's max age can pass while the scrape is on its way: the scrape holds the
    // counter as it was at some moment between the snapshot above and one taken after it.
    const scraped = sample(text, 'kth_grpc_goaways_sent_total', 'reason="max_age"');
    expect(scraped).toBeGreaterThanOrEqual(metrics.goawaysSent?.max_age ?? 0);
    expect(scraped).toBeLessThanOrEqual(server.metrics().goawaysSent?.max_age ?? 0);
  });

  it('GIVEN a grace shorter than a running RPC WHEN the max age passes THEN that RPC is cut off (the damage the grace prevents)', async () => {
    await using server = await startGrpcServer({ host: '127.0.0.1', port: 0, metricsPort: 0, maxConnectionAgeMs: 300, maxConnectionAgeGraceMs: 100 });
    const client = newClient(server.target);
    try {
      const outcome = await who(client, { delayMs: 3000 }).then(
        () => 'ok',
        (error: grpc.ServiceError) => grpc.status[error.code],
      );
      expect(outcome).not.toBe('ok');
      expect(server.metrics().goawaysSent?.max_age).toBe(1);
    } finally {
      client.close();
    }
  });

  it('GIVEN the same long RPC and a grace that covers it WHEN the max age passes THEN it completes on the old connection', async () => {
    await using server = await startGrpcServer({ host: '127.0.0.1', port: 0, metricsPort: 0, maxConnectionAgeMs: 300, maxConnectionAgeGraceMs: 10_000 });
    const client = newClient(server.target);
    try {
      const first = await who(client, {});
      const long = await who(client, { delayMs: 1000 });
      expect(long.connectionId).toBe(first.connectionId);
      await sleep(50);
      expect(server.metrics().goawaysSent?.max_age).toBe(1);
    } finally {
      client.close();
    }
  });
});
