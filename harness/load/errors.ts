import type { ErrorKind } from '../recorder/events.ts';

const refused = new Set(['ECONNREFUSED']);
const reset = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNABORTED', 'ERR_HTTP2_STREAM_CANCEL', 'ERR_HTTP2_SESSION_ERROR', 'ERR_HTTP2_INVALID_SESSION', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED', 'KTH_CLOSED_MID_RESPONSE']);
const timeout = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ERR_HTTP2_STREAM_TIMEOUT', 'KTH_TIMEOUT']);
const dns = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_NODATA', 'EAI_FAIL']);
const unreachable = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN']);
const goaway = new Set(['ERR_HTTP2_GOAWAY_SESSION', 'KTH_GOAWAY']);

/** Error codes along an error's cause chain (undici wraps socket errors; AggregateError holds several). */
function codesOf(error: unknown, depth = 0): string[] {
  if (!error || typeof error !== 'object' || depth > 5) return [];
  const codes: string[] = [];
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') codes.push(code);
  const cause = (error as { cause?: unknown }).cause;
  if (cause) codes.push(...codesOf(cause, depth + 1));
  const errors = (error as { errors?: unknown }).errors;
  if (Array.isArray(errors)) for (const inner of errors) codes.push(...codesOf(inner, depth + 1));
  return codes;
}

/**
 * Classifies a transport failure: refused, reset, timeout, goaway, dns, unreachable, or other.
 * HTTP statuses and gRPC codes are classified by {@link classifyStatus} / {@link grpcErrorKind}.
 */
export function classifyError(error: unknown): ErrorKind {
  const codes = codesOf(error);
  const message = error instanceof Error ? error.message : String(error);
  // GOAWAY first: undici reports it as a socket error whose message names the frame.
  if (codes.some((code) => goaway.has(code)) || /GOAWAY/i.test(message) || /NGHTTP2_REFUSED_STREAM/.test(message)) return 'goaway';
  for (const code of codes) {
    if (refused.has(code)) return 'refused';
    if (timeout.has(code)) return 'timeout';
    if (dns.has(code)) return 'dns';
    if (unreachable.has(code)) return 'unreachable';
  }
  for (const code of codes) if (reset.has(code)) return 'reset';
  if ((error as { name?: string } | null)?.name === 'TimeoutError') return 'timeout';
  if (/other side closed|socket hang up|ECONNRESET/i.test(message)) return 'reset';
  return 'other';
}

/** Error kind of an HTTP status, or undefined for success (1xx–3xx). */
export function classifyStatus(status: number): ErrorKind | undefined {
  if (status >= 500) return 'http-5xx';
  if (status >= 400) return 'http-4xx';
  return undefined;
}

const grpcNames = ['ok', 'cancelled', 'unknown', 'invalid-argument', 'deadline-exceeded', 'not-found', 'already-exists', 'permission-denied', 'resource-exhausted', 'failed-precondition', 'aborted', 'out-of-range', 'unimplemented', 'internal', 'unavailable', 'data-loss', 'unauthenticated'];

/**
 * Error kind of a failed gRPC call: `grpc-<status name>` (grpc-unavailable, grpc-deadline-exceeded…),
 * except that a call failed by a GOAWAY or a refused connection is classified by that cause, since
 * grpc-js reports both as UNAVAILABLE and only its details tell them apart.
 */
export function grpcErrorKind(code: number, details: string): ErrorKind {
  if (/GOAWAY/i.test(details)) return 'goaway';
  if (code === 14) {
    if (/ECONNREFUSED|connection refused/i.test(details)) return 'refused';
    if (/ECONNRESET|reset/i.test(details)) return 'reset';
    if (/ENOTFOUND|EAI_AGAIN|name resolution|DNS resolution failed/i.test(details)) return 'dns';
  }
  return `grpc-${grpcNames[code] ?? `code-${code}`}`;
}
