import { IdentityHeader, parsePeer } from '../workloads/identity.ts';
import type { Attribution } from '../recorder/recorder.ts';

type HeaderValue = string | string[] | undefined;

function first(value: HeaderValue): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The client an X-Forwarded-For list names: its first address (each proxy appends the peer it saw). */
export function forwardedClient(list: string | undefined): string | undefined {
  return list?.split(',')[0]?.trim() || undefined;
}

/**
 * Who served a response, from its x-kth-* headers (lower-case names, as undici and node:http2
 * give them). Undefined when there is no pod header: the response is then counted as unattributed.
 */
export function attributionFromHeaders(headers: Readonly<Record<string, HeaderValue>>): Attribution | undefined {
  const pod = first(headers[IdentityHeader.pod]);
  if (!pod) return undefined;
  const sequence = Number(first(headers[IdentityHeader.sequence]) ?? 0);
  const peer = first(headers[IdentityHeader.peer]);
  const forwardedFor = forwardedClient(first(headers[IdentityHeader.forwardedFor]));
  return {
    pod,
    node: first(headers[IdentityHeader.node]) ?? '',
    podIp: first(headers[IdentityHeader.podIp]) ?? '',
    connectionId: first(headers[IdentityHeader.connectionId]) ?? '',
    sequence: Number.isFinite(sequence) ? sequence : 0,
    peerAddress: peer ? (parsePeer(peer)?.address ?? '') : '',
    ...(forwardedFor ? { forwardedFor } : {}),
  };
}

/** The fields of a kth.v1.WhoReply as proto-loader decodes them (longs as strings or numbers). */
export interface WhoReplyFields {
  pod?: string;
  node?: string;
  pod_ip?: string;
  podIp?: string;
  peer?: string;
  connection_id?: string;
  connectionId?: string;
  sequence?: string | number | { toString(): string };
}

/** Who served a gRPC call, from its WhoReply. Undefined when the reply names no pod. */
export function attributionFromWhoReply(reply: WhoReplyFields | undefined): Attribution | undefined {
  if (!reply?.pod) return undefined;
  const sequence = Number(reply.sequence === undefined ? 0 : String(reply.sequence));
  return {
    pod: reply.pod,
    node: reply.node ?? '',
    podIp: reply.pod_ip ?? reply.podIp ?? '',
    connectionId: reply.connection_id ?? reply.connectionId ?? '',
    sequence: Number.isFinite(sequence) ? sequence : 0,
    peerAddress: reply.peer ? (parsePeer(reply.peer)?.address ?? '') : '',
  };
}
