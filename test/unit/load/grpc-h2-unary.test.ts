import type { IncomingHttpHeaders } from 'node:http2';
import protobuf from 'protobufjs';
import { echoProtoPath } from '../../../harness/workloads/grpc/proto.ts';
import { grpcUnaryExchange } from '../../../harness/load/grpc/h2-unary.ts';
import { decodeWhoReply, encodeWhoRequest, firstMessage, grpcFrame } from '../../../harness/load/grpc/wire.ts';

// Messages built by protobufjs from the same echo.proto the servers load, independently of wire.ts.
const root = protobuf.loadSync(echoProtoPath);
const WhoReply = root.lookupType('kth.v1.WhoReply');
const WhoRequest = root.lookupType('kth.v1.WhoRequest');
/** node:http2 gives :status as a number, whatever its header type says. */
const h = (headers: Record<string, unknown>) => headers as IncomingHttpHeaders;
const reply = (fields: Record<string, unknown>) => grpcFrame(WhoReply.encode(WhoReply.create(fields)).finish());

describe('gRPC wire format', () => {
  it('GIVEN a WhoRequest THEN it is framed: flag 0, big-endian length, then the message', () => {
    const frame = encodeWhoRequest({ clientId: 'abc' });
    expect(frame[0]).toBe(0);
    expect(frame.readUInt32BE(1)).toBe(frame.length - 5);
    expect(WhoRequest.decode(frame.subarray(5)).toJSON()).toEqual({ clientId: 'abc' });
  });

  it('GIVEN a framed reply THEN the first message is found and decoded with every identity field', () => {
    const body = reply({ pod: 'web-1', node: 'n2', podIp: '10.0.0.7', peer: '10.0.1.2:40000', connectionId: 'web-1/c9', sequence: 12 });
    const decoded = decodeWhoReply(firstMessage(body));
    expect(decoded).toMatchObject({ pod: 'web-1', node: 'n2', podIp: '10.0.0.7', peer: '10.0.1.2:40000', connectionId: 'web-1/c9' });
    expect(Number(String(decoded.sequence))).toBe(12);
  });

  it.each([
    [Buffer.from([0, 0, 0]), /shorter than a message header/],
    [Buffer.from([1, 0, 0, 0, 0]), /compressed/],
    [Buffer.from([0, 0, 0, 0, 9, 1, 2]), /cut short: 2 of 9 bytes/],
  ])('GIVEN a malformed reply body %j THEN it is a protocol error saying what is wrong', (body, message) => {
    expect(() => firstMessage(body)).toThrow(message);
  });
});

describe('gRPC unary over an HTTP/2 stream: reading the outcome', () => {
  const exchange = grpcUnaryExchange({ timeoutMs: 2500 });

  it('GIVEN the request THEN it is a POST to /kth.v1.Echo/Who with gRPC content type, trailers and a deadline', () => {
    expect(exchange.headers).toMatchObject({ ':method': 'POST', ':path': '/kth.v1.Echo/Who', 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '2500m' });
    expect(exchange.readsBody).toBe(true);
  });

  it('GIVEN status 0 in the trailers THEN the reply is attributed to its pod and connection', () => {
    const outcome = exchange.outcome(h({ ':status': 200, 'content-type': 'application/grpc' }), { 'grpc-status': '0' }, reply({ pod: 'p', node: 'n', connectionId: 'p/c1', sequence: 1, peer: '198.18.48.2:5000' }));
    expect(outcome.failed).toBeUndefined();
    expect(outcome.who).toMatchObject({ pod: 'p', node: 'n', connectionId: 'p/c1', sequence: 1, peerAddress: '198.18.48.2' });
  });

  it('GIVEN a trailers-only UNAVAILABLE with a percent-encoded message THEN the call failed, classified, with the message decoded', () => {
    const outcome = exchange.outcome(h({ ':status': 200, 'grpc-status': '14', 'grpc-message': 'draining%20now' }), undefined, Buffer.alloc(0));
    expect(outcome).toMatchObject({ failed: true, errorKind: 'grpc-unavailable', example: '14: draining now' });
  });

  it('GIVEN HTTP 503 instead of a gRPC answer THEN it maps to UNAVAILABLE (the gRPC HTTP status mapping)', () => {
    expect(exchange.outcome(h({ ':status': 503 }), undefined, undefined)).toMatchObject({ failed: true, errorKind: 'grpc-unavailable' });
  });

  it('GIVEN a stream that ended without grpc-status THEN the call failed as INTERNAL', () => {
    expect(exchange.outcome(h({ ':status': 200 }), undefined, reply({ pod: 'p' }))).toMatchObject({ failed: true, errorKind: 'grpc-internal', example: '13: the stream ended without a grpc-status' });
  });
});
