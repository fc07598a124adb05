import type { IncomingHttpHeaders } from 'node:http2';
import { harnessVersion } from '../../core/version.ts';
import { attributionFromWhoReply } from '../attribution.ts';
import { grpcErrorKind } from '../errors.ts';
import type { H2Exchange, H2Outcome } from '../http/h2-pool.ts';
import { decodeWhoReply, encodeWhoRequest, firstMessage } from './wire.ts';

/** gRPC status codes used here (grpc/doc/statuscodes.md). */
const Code = { ok: 0, unknown: 2, internal: 13, unavailable: 14, unimplemented: 12, unauthenticated: 16, permissionDenied: 7 } as const;

/** The gRPC code a non-200 HTTP status maps to (grpc/doc/http-grpc-status-mapping.md). */
function codeOfHttpStatus(status: number): number {
  switch (status) {
    case 400:
      return Code.internal;
    case 401:
      return Code.unauthenticated;
    case 403:
      return Code.permissionDenied;
    case 404:
      return Code.unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return Code.unavailable;
    default:
      return Code.unknown;
  }
}

function text(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function failed(code: number, details: string): H2Outcome {
  return { who: undefined, failed: true, errorKind: grpcErrorKind(code, details), example: `${code}: ${details}` };
}

/**
 * kth.v1.Echo/Who as a unary gRPC call on a plain HTTP/2 stream: the request message is encoded
 * once (it never changes), the reply decoded with protobufjs, the status read from the trailers
 * (or from the headers of a trailers-only answer). This is the whole of what a unary call is on the
 * wire; grpc-js adds channels, filters and interceptors around it that cost most of its CPU.
 */
export function grpcUnaryExchange(options: { timeoutMs: number; authority?: string }): H2Exchange {
  const body = encodeWhoRequest({ clientId: 'kth-h2' });
  return {
    headers: {
      ':method': 'POST',
      ':path': '/kth.v1.Echo/Who',
      ...(options.authority ? { ':authority': options.authority } : {}),
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-accept-encoding': 'identity',
      'grpc-timeout': `${Math.max(1, Math.round(options.timeoutMs))}m`,
      'user-agent': `kth-grpc-h2/${harnessVersion()}`,
    },
    body,
    readsBody: true,
    outcome(headers: IncomingHttpHeaders, trailers: IncomingHttpHeaders | undefined, reply: Buffer | undefined): H2Outcome {
      const httpStatus = Number(headers[':status'] ?? 0);
      if (httpStatus !== 200) return failed(codeOfHttpStatus(httpStatus), `HTTP ${httpStatus} instead of a gRPC answer`);
      const status = text(trailers?.['grpc-status']) ?? text(headers['grpc-status']);
      if (status === undefined) return failed(Code.internal, 'the stream ended without a grpc-status');
      const code = Number(status);
      if (code !== Code.ok) {
        const message = text(trailers?.['grpc-message']) ?? text(headers['grpc-message']) ?? '';
        let details = message;
        try {
          details = decodeURIComponent(message);
        } catch {
          // Not percent-encoded after all: keep it as sent.
        }
        return failed(code, details);
      }
      try {
        return { who: attributionFromWhoReply(decodeWhoReply(firstMessage(reply ?? Buffer.alloc(0)))) };
      } catch (error) {
        return failed(Code.internal, (error as Error).message);
      }
    },
  };
}
