import { jest } from '@jest/globals';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { type RunningGrpcServer, startGrpcServer } from '../../../../harness/workloads/grpc/server.ts';
import { echoClientConstructor, type WhoReply } from '../../../../harness/workloads/grpc/proto.ts';
import { parsePeer } from '../../../../harness/workloads/identity.ts';

jest.setTimeout(30_000);

type EchoClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;
const Echo = echoClientConstructor();
// A channel of its own per client: grpc-js would otherwise share one subchannel (one connection) between clients.
const ownConnection = { 'grpc.use_local_subchannel_pool': 1 };
const newClient = (target: string) => new Echo(target, grpc.credentials.createInsecure(), ownConnection) as unknown as EchoClient;

function who(client: EchoClient, request: object = {}): Promise<WhoReply> {
  return new Promise((resolve, reject) =>
    client.Who!(request, (error: grpc.ServiceError | null, reply: WhoReply) => (error ? reject(error) : resolve(reply))),
  );
}

function collect(stream: grpc.ClientReadableStream<WhoReply>): Promise<WhoReply[]> {
  return new Promise((resolve, reject) => {
    const replies: WhoReply[] = [];
    stream.on('data', (reply: WhoReply) => replies.push(reply));
    stream.on('end', () => resolve(replies));
    stream.on('error', reject);
  });
}

const pod = { pod: 'grpc-5d8-xyz', node: 'node-3', podIp: '10.244.3.9', namespace: 'kth-run2' };
let server: RunningGrpcServer;
beforeEach(async () => {
  server = await startGrpcServer({ host: '127.0.0.1', port: 0, metricsPort: 0, ...pod });
});
afterEach(async () => {
  await server.close();
});

describe('gRPC Echo identity', () => {
  it('GIVEN unary calls on one channel WHEN answered THEN replies carry the pod and one connection id with sequences 1..n', async () => {
    const client = newClient(server.target);
    try {
      const replies = [await who(client, { clientId: 'a' }), await who(client, { clientId: 'b' }), await who(client, { clientId: 'c', payloadBytes: 16 })];
      expect(replies[0]).toMatchObject({ ...pod, connectionId: `${pod.pod}/1`, sequence: 1, clientId: 'a', streamIndex: 1 });
      expect(replies.map((r) => [r.connectionId, r.sequence])).toEqual([
        [`${pod.pod}/1`, 1],
        [`${pod.pod}/1`, 2],
        [`${pod.pod}/1`, 3],
      ]);
      expect(replies[2]?.payload).toHaveLength(16);
      expect(parsePeer(replies[0]!.peer)?.address).toBe('127.0.0.1');
    } finally {
      client.close();
    }
  });

  it('GIVEN two clients with their own connections WHEN they call THEN each has its own connection id and peer port', async () => {
    const a = newClient(server.target);
    const b = newClient(server.target);
    try {
      const [ra, rb] = [await who(a), await who(b)];
      expect(ra.connectionId).not.toBe(rb.connectionId);
      expect(parsePeer(ra.peer)?.port).not.toBe(parsePeer(rb.peer)?.port);
      expect((await who(a)).connectionId).toBe(ra.connectionId);
      expect(server.metrics()).toMatchObject({ connectionsTotal: 2, rpcsTotal: 3, perConnection: { [ra.connectionId]: 2, [rb.connectionId]: 1 } });
    } finally {
      a.close();
      b.close();
    }
  });

  it('GIVEN WhoStream count 3 WHEN streamed THEN three replies share the call sequence with stream index 1..3', async () => {
    const client = newClient(server.target);
    try {
      const replies = await collect(client.WhoStream!({ clientId: 's', count: 3, intervalMs: 5 }) as grpc.ClientReadableStream<WhoReply>);
      expect(replies.map((r) => r.streamIndex)).toEqual([1, 2, 3]);
      expect(new Set(replies.map((r) => `${r.connectionId}#${r.sequence}`)).size).toBe(1);
    } finally {
      client.close();
    }
  });

  it('GIVEN a WhoChat stream WHEN three messages are sent THEN three replies come back in order', async () => {
    const client = newClient(server.target);
    try {
      const call = client.WhoChat!() as grpc.ClientDuplexStream<object, WhoReply>;
      const replies = collect(call);
      for (const [clientId, delayMs] of [['x', 30], ['y', 0], ['z', 10]] as const) call.write({ clientId, delayMs });
      call.end();
      const got = await replies;
      expect(got.map((r) => [r.clientId, r.streamIndex])).toEqual([
        ['x', 1],
        ['y', 2],
        ['z', 3],
      ]);
      expect(server.metrics()).toMatchObject({ rpcsByMethod: { WhoChat: 1 }, repliesTotal: 3, inFlight: 0 });
    } finally {
      client.close();
    }
  });

  it('GIVEN the standard health service WHEN checked THEN it is SERVING, and NOT_SERVING once readiness is turned off', async () => {
    const definition = protoLoader.loadSync(healthProtoPath, { keepCase: true, enums: String });
    const Health = (grpc.loadPackageDefinition(definition) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } }).grpc.health.v1.Health;
    const health = new Health(server.target, grpc.credentials.createInsecure()) as unknown as EchoClient;
    const check = (service: string) =>
      new Promise<string>((resolve, reject) =>
        health.Check!({ service }, (error: grpc.ServiceError | null, reply: { status: string }) => (error ? reject(error) : resolve(reply.status))),
      );
    try {
      expect(await check('')).toBe('SERVING');
      expect(await check('kth.v1.Echo')).toBe('SERVING');
      server.setReady(false);
      expect(await check('')).toBe('NOT_SERVING');
      expect((await fetch(`${server.metricsUrl}/readyz`)).status).toBe(503);
    } finally {
      health.close();
    }
  });

  it('GIVEN server reflection WHEN services are listed THEN Echo and Health are described', async () => {
    const require = createRequire(import.meta.url);
    const reflectionProto = join(dirname(require.resolve('@grpc/reflection/package.json')), 'build/proto/grpc/reflection/v1/reflection.proto');
    const definition = protoLoader.loadSync(reflectionProto, { keepCase: true });
    const Reflection = (grpc.loadPackageDefinition(definition) as unknown as { grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } } }).grpc.reflection.v1
      .ServerReflection;
    const client = new Reflection(server.target, grpc.credentials.createInsecure()) as unknown as EchoClient;
    try {
      const call = client.ServerReflectionInfo!() as grpc.ClientDuplexStream<object, { list_services_response?: { service: Array<{ name: string }> } }>;
      const reply = new Promise<string[]>((resolve, reject) => {
        call.on('data', (response: { list_services_response?: { service: Array<{ name: string }> } }) =>
          resolve((response.list_services_response?.service ?? []).map((s) => s.name)),
        );
        call.on('error', reject);
      });
      call.write({ list_services: '' });
      const services = await reply;
      call.end();
      expect(services).toEqual(expect.arrayContaining(['kth.v1.Echo', 'grpc.health.v1.Health']));
    } finally {
      client.close();
    }
  });
});
