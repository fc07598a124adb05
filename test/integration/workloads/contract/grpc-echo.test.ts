import { describe, expect, it, jest } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import type * as grpc from '@grpc/grpc-js';
import { serverRuntimes } from '../../../../harness/workloads/runtime.ts';
import {
  echoServiceName,
  goawayReasons,
  grpcMetricTypes,
  healthServiceName,
  maxGrpcPayloadBytes,
  podEnv,
  podFlagArgs,
  podFromEnv,
  podFromFlags,
  readinessSteps,
  sidePortNotFound,
  whoChatVector,
  whoStreamVectors,
  whoVectors,
} from '../../../support/contract-vectors.ts';
import { startSampleServer } from '../../../support/sample-server-process.ts';
import {
  echoClient,
  h2Connect,
  healthCheck,
  healthClient,
  httpOnce,
  metricTypes,
  RawHttp1,
  rawGrpcCall,
  rawGrpcWho,
  rawHealthCheck,
  reflect,
  statusName,
  whoChat,
  whoOutcome,
  whoStream,
  type WhoReply,
} from '../../../support/wire-clients.ts';
import { bodyOf, labelled, metricByLabel, testTimeoutMs, value, waitFor } from './contract-helpers.ts';

jest.setTimeout(testTimeoutMs);

/** A reply with its payload summarized (a 4 MB buffer makes an unreadable diff). */
function summarized(reply: WhoReply) {
  const { payload, ...rest } = reply;
  const bytes = Buffer.from(payload ?? []);
  return { ...rest, payload: { length: bytes.length, zeros: bytes.every((b) => b === 0) } };
}

describe.each(serverRuntimes)('gRPC contract, kth.v1.Echo [%s]', (runtime) => {
  it('GIVEN identity flags WHEN the Who vectors are called on one channel THEN replies name the pod, connection <pod>/1, sequence n (refused calls too), echo the client id and carry zero-filled payloads', async () => {
    await using server = await startSampleServer(runtime, 'grpc', podFlagArgs);
    const client = echoClient(server.target);
    const actual: unknown[] = [];
    const expected: unknown[] = [];
    const peers = new Set<string>();
    try {
      for (const [index, vector] of whoVectors.entries()) {
        const outcome = await whoOutcome(client, vector.request);
        if (outcome.ok) peers.add(outcome.value.peer);
        actual.push({
          vector: vector.name,
          status: outcome.ok ? 'OK' : outcome.code,
          reply: outcome.ok ? summarized(outcome.value) : undefined,
          details: outcome.ok ? undefined : outcome.details,
          slowEnough: outcome.elapsedMs >= (vector.minElapsedMs ?? 0),
        });
        expected.push({
          vector: vector.name,
          status: vector.status,
          reply:
            vector.status === 'OK'
              ? {
                  ...podFromFlags,
                  peer: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
                  connectionId: `${podFromFlags.pod}/1`,
                  sequence: index + 1,
                  clientId: vector.request.clientId ?? '',
                  payload: { length: vector.payloadBytes ?? 0, zeros: true },
                  streamIndex: 1,
                }
              : undefined,
          details: vector.details,
          slowEnough: true,
        });
      }
    } finally {
      client.close();
    }
    expect(actual).toEqual(expected);
    expect(peers.size).toBe(1);
    const text = await server.metricsText();
    expect(labelled(text, 'kth_grpc_rpcs_total', 'method', 'Who')).toBe(whoVectors.length);
    expect(value(text, 'kth_grpc_replies_total')).toBe(whoVectors.filter((v) => v.status === 'OK').length);
  });

  it('GIVEN identity from the downward-API env WHEN called THEN replies name that pod, node, IP and namespace', async () => {
    await using server = await startSampleServer(runtime, 'grpc', [], podEnv);
    const client = echoClient(server.target);
    try {
      const outcome = await whoOutcome(client, { clientId: 'env' });
      expect(outcome.ok && summarized(outcome.value)).toMatchObject({ ...podFromEnv, connectionId: `${podFromEnv.pod}/1`, sequence: 1, clientId: 'env' });
    } finally {
      client.close();
    }
  });

  it('GIVEN raw HTTP/2 gRPC calls on two sessions WHEN answered THEN the peer is exactly each client socket, each session is its own connection id with its own sequence, and an oversized payload is INVALID_ARGUMENT', async () => {
    await using server = await startSampleServer(runtime, 'grpc', ['--pod-name', 'raw']);
    const a = await h2Connect(`http://${server.target}`);
    const b = await h2Connect(`http://${server.target}`);
    try {
      const calls = [
        await rawGrpcWho(a.session, { clientId: 'a1' }),
        await rawGrpcWho(b.session, { clientId: 'b1' }),
        await rawGrpcWho(a.session, { clientId: 'a2', payloadBytes: 3 }),
        await rawGrpcWho(b.session, { clientId: 'b2', payloadBytes: maxGrpcPayloadBytes + 1 }),
        await rawGrpcWho(b.session, { clientId: 'b3' }),
      ];
      expect(calls.map((call) => [call.grpcStatus, call.reply?.clientId, call.reply?.peer, call.reply?.connectionId, call.reply?.sequence])).toEqual([
        [0, 'a1', `127.0.0.1:${a.localPort}`, 'raw/1', 1],
        [0, 'b1', `127.0.0.1:${b.localPort}`, 'raw/2', 1],
        [0, 'a2', `127.0.0.1:${a.localPort}`, 'raw/1', 2],
        [3, undefined, undefined, undefined, undefined],
        [0, 'b3', `127.0.0.1:${b.localPort}`, 'raw/2', 3],
      ]);
      expect(calls[2]?.reply?.payload).toEqual(Buffer.alloc(3));
      expect((await rawGrpcCall(a.session, '/kth.v1.Echo/NoSuchMethod', new Uint8Array(0))).grpcStatus).toBe(12); // UNIMPLEMENTED
      expect(calls[3]?.grpcMessage).toBe(`payload_bytes ${maxGrpcPayloadBytes + 1} exceeds ${maxGrpcPayloadBytes}`);
    } finally {
      a.close();
      b.close();
    }
  });

  it('GIVEN the WhoStream vectors on one channel WHEN streamed THEN each stream takes the next sequence, its replies share it with stream index 1..n, at least one reply, interval apart', async () => {
    await using server = await startSampleServer(runtime, 'grpc', ['--pod-name', 'ws']);
    const client = echoClient(server.target);
    try {
      for (const [index, vector] of whoStreamVectors.entries()) {
        const startedAt = performance.now();
        const replies = await whoStream(client, vector.request);
        const elapsed = performance.now() - startedAt;
        expect({ vector: vector.name, replies: replies.map(summarized), slowEnough: elapsed >= vector.minElapsedMs }).toEqual({
          vector: vector.name,
          replies: Array.from({ length: vector.replies }, (_, i) => ({
            pod: 'ws',
            node: '',
            podIp: '',
            namespace: '',
            peer: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
            connectionId: 'ws/1',
            sequence: index + 1,
            clientId: vector.request.clientId,
            payload: { length: 0, zeros: true },
            streamIndex: i + 1,
          })),
          slowEnough: true,
        });
      }
    } finally {
      client.close();
    }
    const text = await server.metricsText();
    expect(labelled(text, 'kth_grpc_rpcs_total', 'method', 'WhoStream')).toBe(whoStreamVectors.length);
    expect(value(text, 'kth_grpc_replies_total')).toBe(whoStreamVectors.reduce((sum, v) => sum + v.replies, 0));
  });

  it('GIVEN a WhoChat stream WHEN messages with different delays are sent THEN one reply per message comes back in message order, one sequence for the stream, payload sizes echoed', async () => {
    await using server = await startSampleServer(runtime, 'grpc', ['--pod-name', 'chat']);
    const client = echoClient(server.target);
    try {
      const first = await whoOutcome(client, { clientId: 'before' });
      const replies = await whoChat(client, whoChatVector.requests);
      expect(first.ok && first.value.sequence).toBe(1);
      expect(replies.map((reply) => ({ clientId: reply.clientId, streamIndex: reply.streamIndex, payloadBytes: Buffer.from(reply.payload ?? []).length, sequence: reply.sequence, connectionId: reply.connectionId }))).toEqual(
        whoChatVector.replies.map((reply) => ({ ...reply, sequence: 2, connectionId: 'chat/1' })),
      );
      const empty = await whoChat(client, []);
      expect(empty).toEqual([]);
    } finally {
      client.close();
    }
    const text = await server.metricsText();
    expect(labelled(text, 'kth_grpc_rpcs_total', 'method', 'WhoChat')).toBe(2);
    expect(value(text, 'kth_grpc_replies_total')).toBe(1 + whoChatVector.replies.length);
    expect(value(text, 'kth_grpc_rpcs_in_flight')).toBe(0);
  });

  it('GIVEN calls the client gives up on (deadline, cancelled stream) WHEN they go THEN the server stops their work at once: in-flight back to 0, no further replies', async () => {
    await using server = await startSampleServer(runtime, 'grpc', []);
    const client = echoClient(server.target);
    try {
      const expired = await new Promise<string>((resolve) =>
        client.Who!({ delayMs: 3000 }, { deadline: Date.now() + 200 }, (error: grpc.ServiceError | null) => resolve(error ? statusName(error.code) : 'OK')),
      );
      expect(expired).toBe('DEADLINE_EXCEEDED');
      await waitFor('the expired call to stop', async () => value(await server.metricsText(), 'kth_grpc_rpcs_in_flight') === 0, 1500);
      expect(value(await server.metricsText(), 'kth_grpc_replies_total')).toBe(0);

      const stream = client.WhoStream!({ count: 100, intervalMs: 50 }) as grpc.ClientReadableStream<WhoReply>;
      let received = 0;
      await new Promise<void>((resolve) => {
        stream.on('data', () => {
          received += 1;
          if (received === 3) {
            stream.cancel();
            resolve();
          }
        });
        stream.on('error', () => resolve());
      });
      const settled = await waitFor('the cancelled stream to stop', async () => {
        const text = await server.metricsText();
        return value(text, 'kth_grpc_rpcs_in_flight') === 0 && text;
      }, 1500);
      const replies = value(settled, 'kth_grpc_replies_total');
      expect(replies).toBeGreaterThanOrEqual(3);
      expect(replies).toBeLessThan(10);
      await sleep(200);
      expect(value(await server.metricsText(), 'kth_grpc_replies_total')).toBe(replies);
    } finally {
      client.close();
    }
  });

  it('GIVEN health checks and reflection on the same connection as Echo calls WHEN counted THEN only Echo calls are RPCs with sequences', async () => {
    await using server = await startSampleServer(runtime, 'grpc', ['--pod-name', 'seq']);
    const h2 = await h2Connect(`http://${server.target}`);
    try {
      expect(await rawHealthCheck(h2.session)).toBe(0);
      const first = await rawGrpcWho(h2.session, { clientId: 'after-health' });
      expect(await rawHealthCheck(h2.session)).toBe(0);
      const second = await rawGrpcWho(h2.session, { clientId: 'after-second-health' });
      expect([first.reply?.connectionId, first.reply?.sequence, second.reply?.sequence]).toEqual(['seq/1', 1, 2]);
    } finally {
      h2.close();
    }
    await reflect(server.target, { list_services: '' });
    const text = await server.metricsText();
    expect(metricByLabel(text, 'kth_grpc_rpcs_total', 'method')).toEqual({ Who: 2 });
    expect(value(text, 'kth_grpc_replies_total')).toBe(2);
  });

  it('GIVEN grpc.health.v1 WHEN checked while the readiness toggle on the side port flips THEN health, /readyz and kth_grpc_ready follow it; an unknown service is NOT_FOUND', async () => {
    await using server = await startSampleServer(runtime, 'grpc', []);
    const health = healthClient(server.target);
    const side = await RawHttp1.open(server.metricsPort);
    try {
      expect([await healthCheck(health, ''), await healthCheck(health, echoServiceName), await healthCheck(health, 'no.such.Service')]).toEqual(['SERVING', 'SERVING', 'NOT_FOUND']);
      // Watchers hear every change.
      const watch = health.Watch!({ service: echoServiceName }) as grpc.ClientReadableStream<{ status: string }>;
      const heard: string[] = [];
      watch.on('data', (reply: { status: string }) => heard.push(reply.status));
      watch.on('error', () => {});
      expect((await side.request('/healthz')).status).toBe(200);
      expect((await side.request('/readyz')).status).toBe(200);
      const steps: unknown[] = [];
      for (const step of readinessSteps) {
        const reply = await side.request(step.target, { method: step.method });
        steps.push({
          step: `${step.method} ${step.target}`,
          status: reply.status,
          body: bodyOf(reply),
          health: [await healthCheck(health, ''), await healthCheck(health, echoServiceName)],
          readyz: (await side.request('/readyz')).status,
          ready: value((await side.request('/metrics')).body, 'kth_grpc_ready'),
        });
      }
      expect(steps).toEqual(
        readinessSteps.map((step) => ({
          step: `${step.method} ${step.target}`,
          status: step.status,
          body: step.body,
          health: step.readyAfter ? ['SERVING', 'SERVING'] : ['NOT_SERVING', 'NOT_SERVING'],
          readyz: step.readyAfter ? 200 : 503,
          ready: step.readyAfter ? 1 : 0,
        })),
      );
      // Initial SERVING, then the state after each change. (Consecutive repeats are collapsed: the
      // Node.js server resends an unchanged status when it is set again, grpc-go does not.)
      const expectedHeard = ['SERVING'];
      for (const step of readinessSteps) {
        const status = step.readyAfter ? 'SERVING' : 'NOT_SERVING';
        if (expectedHeard.at(-1) !== status) expectedHeard.push(status);
      }
      const collapsed = () => heard.filter((status, i) => status !== heard[i - 1]);
      await waitFor('the watcher to hear the last change', () => collapsed().length >= expectedHeard.length, 2000).catch(() => undefined);
      watch.cancel();
      expect(collapsed()).toEqual(expectedHeard);
      // The side port serves only the control paths.
      const other = await httpOnce(server.metricsPort, '/');
      expect({ status: other.status, body: other.body }).toEqual(sidePortNotFound);
    } finally {
      health.close();
      side.close();
    }
  });

  it('GIVEN server reflection WHEN services are listed and kth.v1.Echo is looked up THEN Echo and Health are listed and Echo is described', async () => {
    await using server = await startSampleServer(runtime, 'grpc', []);
    const listed = await reflect(server.target, { list_services: '' });
    expect((listed.list_services_response?.service ?? []).map((s) => s.name)).toEqual(expect.arrayContaining([echoServiceName, healthServiceName]));
    const described = await reflect(server.target, { file_containing_symbol: echoServiceName });
    const files = Buffer.concat(described.file_descriptor_response?.file_descriptor_proto ?? []).toString('latin1');
    for (const word of ['kth.v1', 'Echo', 'WhoRequest', 'WhoReply', 'WhoStreamRequest', 'WhoChat']) expect(files).toContain(word);
  });
});

describe.each(serverRuntimes)('gRPC contract, counters [%s]', (runtime) => {
  it('GIVEN a fresh server WHEN scraped THEN every kth_grpc_* series exists with its contract type, GOAWAY reasons at 0, ready 1', async () => {
    await using server = await startSampleServer(runtime, 'grpc', []);
    const client = echoClient(server.target);
    try {
      // Scraped after one call: a labelled series without samples may be left out before its first one.
      await whoOutcome(client, {});
      const text = await server.metricsText();
      expect(metricTypes(text)).toEqual(grpcMetricTypes);
      expect(metricByLabel(text, 'kth_grpc_goaways_sent_total', 'reason')).toEqual(Object.fromEntries(goawayReasons.map((reason) => [reason, 0])));
      expect(value(text, 'kth_grpc_ready')).toBe(1);
    } finally {
      client.close();
    }
  });

  it('GIVEN two clients on their own connections WHEN they call all three methods THEN rpcs by method, replies, connections and per-connection counts equal what the clients did, open and then closed', async () => {
    await using server = await startSampleServer(runtime, 'grpc', ['--pod-name', 'cnt']);
    const a = echoClient(server.target);
    const b = echoClient(server.target);
    let idA = '';
    let idB = '';
    try {
      for (let i = 0; i < 3; i += 1) {
        const outcome = await whoOutcome(a, { clientId: `a${i}` });
        if (outcome.ok) idA = outcome.value.connectionId;
      }
      const streamed = await whoStream(a, { count: 2, intervalMs: 1 });
      expect(streamed).toHaveLength(2);
      const chatted = await whoChat(b, [{ clientId: 'b1' }, { clientId: 'b2' }]);
      idB = chatted[0]?.connectionId ?? '';
      expect([idA, idB].sort()).toEqual(['cnt/1', 'cnt/2']);
      const text = await server.metricsText();
      expect({
        rpcs: metricByLabel(text, 'kth_grpc_rpcs_total', 'method'),
        replies: value(text, 'kth_grpc_replies_total'),
        inFlight: value(text, 'kth_grpc_rpcs_in_flight'),
        connections: value(text, 'kth_grpc_connections_total'),
        active: value(text, 'kth_grpc_connections_active'),
        perConnection: metricByLabel(text, 'kth_grpc_connection_rpcs', 'connection_id'),
      }).toEqual({
        rpcs: { Who: 3, WhoStream: 1, WhoChat: 1 },
        replies: 3 + 2 + 2,
        inFlight: 0,
        connections: 2,
        active: 2,
        perConnection: { [idA]: 4, [idB]: 1 },
      });
    } finally {
      a.close();
      b.close();
    }
    const text = await waitFor('both connections to be counted closed', async () => {
      const scraped = await server.metricsText();
      return value(scraped, 'kth_grpc_connections_active') === 0 && scraped;
    });
    expect({
      count: value(text, 'kth_grpc_rpcs_per_connection_count'),
      sum: value(text, 'kth_grpc_rpcs_per_connection_sum'),
      openSeries: metricByLabel(text, 'kth_grpc_connection_rpcs', 'connection_id') ?? {},
    }).toEqual({ count: 2, sum: 5, openSeries: {} });
  });
});
