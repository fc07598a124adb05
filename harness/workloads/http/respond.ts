import type { OutgoingHttpHeaders } from 'node:http';
import type { TrackedConnection } from '../connections.ts';
import type { AnyRequest } from '../control.ts';
import { formatPeer, IdentityHeader, type ServedBy } from '../identity.ts';
import type { PodIdentity } from '../pod-identity.ts';
import type { HttpServerConfig } from './options.ts';

/** Why the server asks the client to stop using this connection after the response. */
export type CloseReason = 'max-requests' | 'max-age' | 'draining';

/** Extra response header naming the {@link CloseReason}; absent while the connection stays open. */
export const ClosingHeader = 'x-kth-closing';

/** The JSON body of a workload response: {@link ServedBy} plus what the request was. */
export interface WhoBody extends ServedBy {
  protocol: 'http/1.1' | 'h2';
  method: string;
  path: string;
  status: number;
  /** Present when the response carries payload bytes (`--response-bytes` or `?payload_bytes=`). */
  payload?: string;
  /** Present on responses failed on purpose by the error rate. */
  error?: 'injected';
}

export function servedBy(pod: PodIdentity, connection: TrackedConnection, sequence: number): ServedBy {
  return {
    ...pod,
    peerAddress: connection.peerAddress,
    peerPort: connection.peerPort,
    connectionId: connection.id,
    sequence,
  };
}

export function identityHeaders(served: ServedBy): OutgoingHttpHeaders {
  return {
    [IdentityHeader.pod]: served.pod,
    [IdentityHeader.node]: served.node,
    [IdentityHeader.podIp]: served.podIp,
    [IdentityHeader.namespace]: served.namespace,
    [IdentityHeader.peer]: formatPeer(served.peerAddress, served.peerPort),
    [IdentityHeader.connectionId]: served.connectionId,
    [IdentityHeader.sequence]: String(served.sequence),
  };
}

/**
 * Whether this response should end the connection: max requests reached (counting every request
 * on it), the connection older than the max age, or the server draining.
 */
export function closeReason(connection: TrackedConnection, sequence: number, config: HttpServerConfig): CloseReason | undefined {
  if (connection.closing) return 'draining';
  if (config.maxRequestsPerConnection > 0 && sequence >= config.maxRequestsPerConnection) return 'max-requests';
  if (config.maxConnectionAgeMs > 0 && connection.ageMs() >= config.maxConnectionAgeMs) return 'max-age';
  return undefined;
}

export interface RequestKnobs {
  delayMs: number;
  payloadBytes: number;
}

const maxPayloadBytes = 64 * 1024 * 1024;

/**
 * Per-request overrides from the query string, named like the gRPC WhoRequest fields:
 * `?delay_ms=250&payload_bytes=1024`. Returns an error text for a bad value.
 */
export function requestKnobs(req: AnyRequest, config: HttpServerConfig): RequestKnobs | string {
  const query = new URL(req.url ?? '/', 'http://x').searchParams;
  const knobs: RequestKnobs = { delayMs: config.responseDelayMs, payloadBytes: config.responseBytes };
  for (const [name, key, max] of [
    ['delay_ms', 'delayMs', 3_600_000],
    ['payload_bytes', 'payloadBytes', maxPayloadBytes],
  ] as const) {
    const raw = query.get(name);
    if (raw === null) continue;
    if (!/^\d+$/.test(raw) || Number(raw) > max) return `${name}=${raw}: use a whole number from 0 to ${max}`;
    knobs[key] = Number(raw);
  }
  return knobs;
}
