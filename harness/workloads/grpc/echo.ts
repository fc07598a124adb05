import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import type { TrackedConnection } from '../connections.ts';
import { formatPeer } from '../identity.ts';
import type { PodIdentity } from '../pod-identity.ts';
import type { GrpcCounters } from './metrics.ts';
import type { WhoReply, WhoRequest, WhoStreamRequest } from './proto.ts';

/** Largest payload a reply may carry: below grpc's default 4 MiB receive limit, with room for the rest. */
export const maxPayloadBytes = 4 * 1024 * 1024 - 64 * 1024;

export interface EchoContext {
  pod: PodIdentity;
  counters: GrpcCounters;
  /** The connection a call arrived on, from `call.getPeer()`. */
  connectionOf(peer: string): TrackedConnection | undefined;
  /** Counts a call against its connection's per-connection total. */
  countCall(connection: TrackedConnection): void;
}

interface CallScope {
  reply(index: number, clientId: string, payloadBytes: number): WhoReply;
  /** Waits `ms` unless the call is cancelled first (a cancelled call leaves no timer behind). */
  pause(ms: number): Promise<void>;
  done(): void;
}

/** The kth.v1.Echo handlers: every reply says which pod and which connection served the call. */
export function echoImplementation(context: EchoContext): grpc.UntypedServiceImplementation {
  const { counters } = context;

  function begin(method: string, call: { getPeer(): string; on(event: 'cancelled', listener: () => void): unknown }): CallScope {
    const connection = context.connectionOf(call.getPeer());
    const sequence = connection ? connection.nextSequence() : 0;
    if (connection) context.countCall(connection);
    counters.started(method);
    counters.inFlight += 1;
    if (connection) connection.inFlight += 1;
    let finished = false;
    const cancelled = new AbortController();
    call.on('cancelled', () => cancelled.abort());
    return {
      pause: (ms) => (ms > 0 ? sleep(ms, undefined, { signal: cancelled.signal }).catch(() => {}) : Promise.resolve()),
      reply(index, clientId, payloadBytes) {
        counters.replies += 1;
        return {
          ...context.pod,
          peer: connection ? formatPeer(connection.peerAddress, connection.peerPort) : call.getPeer(),
          connectionId: connection?.id ?? '',
          sequence,
          clientId,
          payload: Buffer.alloc(payloadBytes),
          streamIndex: index,
        };
      },
      done() {
        if (finished) return;
        finished = true;
        counters.inFlight -= 1;
        if (connection) connection.inFlight -= 1;
      },
    };
  }

  const tooLarge = (bytes: number): grpc.ServiceError | undefined =>
    bytes > maxPayloadBytes
      ? Object.assign(new Error(`payload_bytes ${bytes} exceeds ${maxPayloadBytes}`), {
          code: grpc.status.INVALID_ARGUMENT,
          details: `payload_bytes ${bytes} exceeds ${maxPayloadBytes}`,
          metadata: new grpc.Metadata(),
        })
      : undefined;

  return {
    Who: (call: grpc.ServerUnaryCall<WhoRequest, WhoReply>, callback: grpc.sendUnaryData<WhoReply>) => {
      const scope = begin('Who', call);
      const request = call.request;
      const invalid = tooLarge(request.payloadBytes);
      if (invalid) {
        scope.done();
        return callback(invalid);
      }
      void (async () => {
        await scope.pause(request.delayMs);
        if (!call.cancelled) callback(null, scope.reply(1, request.clientId, request.payloadBytes));
        scope.done();
      })();
    },

    WhoStream: (call: grpc.ServerWritableStream<WhoStreamRequest, WhoReply>) => {
      const scope = begin('WhoStream', call);
      const { clientId, intervalMs } = call.request;
      const count = Math.max(1, call.request.count);
      void (async () => {
        for (let index = 1; index <= count && !call.cancelled; index += 1) {
          if (index > 1) await scope.pause(intervalMs);
          if (!call.cancelled) call.write(scope.reply(index, clientId, 0));
        }
        if (!call.cancelled) call.end();
        scope.done();
      })();
    },

    WhoChat: (call: grpc.ServerDuplexStream<WhoRequest, WhoReply>) => {
      const scope = begin('WhoChat', call);
      let index = 0;
      // Replies leave in request order even when requests ask for different delays.
      let queue = Promise.resolve();
      call.on('data', (request: WhoRequest) => {
        index += 1;
        const at = index;
        queue = queue.then(async () => {
          await scope.pause(request.delayMs);
          // Capped rather than refused: one oversized message should not end the whole stream.
          if (!call.cancelled) call.write(scope.reply(at, request.clientId, Math.min(request.payloadBytes, maxPayloadBytes)));
        });
      });
      call.on('end', () => {
        void queue.then(() => {
          if (!call.cancelled) call.end();
          scope.done();
        });
      });
      call.on('cancelled', () => scope.done());
      call.on('error', () => scope.done());
    },
  };
}
