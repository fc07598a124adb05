import protobuf from 'protobufjs';
import { echoProtoPath } from '../../workloads/grpc/proto.ts';
import type { WhoReplyFields } from '../attribution.ts';

/**
 * The gRPC wire format for the h2 unary client: length-prefixed messages (1 byte "compressed"
 * flag, 4 bytes big-endian length) encoded with protobufjs from the shipped echo.proto, the same
 * file the servers, ghz and k6 load.
 */
const root = protobuf.loadSync(echoProtoPath);
const whoRequest = root.lookupType('kth.v1.WhoRequest');
const whoReply = root.lookupType('kth.v1.WhoReply');

/** One length-prefixed, uncompressed message. */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

/** A framed kth.v1.WhoRequest. */
export function encodeWhoRequest(fields: { clientId?: string; payloadBytes?: number; delayMs?: number }): Buffer {
  return grpcFrame(whoRequest.encode(whoRequest.create(fields)).finish());
}

export class GrpcWireError extends Error {
  readonly code = 'KTH_GRPC_WIRE';
}

/**
 * The first message of a unary reply body. Throws on a compressed or truncated frame (the client
 * asks for no compression, so either is a protocol error worth reporting).
 */
export function firstMessage(body: Buffer): Buffer {
  if (body.length < 5) throw new GrpcWireError(`reply body of ${body.length} bytes is shorter than a message header`);
  if (body[0] !== 0) throw new GrpcWireError('reply message is compressed, but none was asked for');
  const length = body.readUInt32BE(1);
  if (body.length < 5 + length) throw new GrpcWireError(`reply message cut short: ${body.length - 5} of ${length} bytes`);
  return body.subarray(5, 5 + length);
}

/** Decodes a kth.v1.WhoReply (camelCase fields; uint64 sequence as protobufjs gives it). */
export function decodeWhoReply(message: Uint8Array): WhoReplyFields {
  return whoReply.decode(message) as unknown as WhoReplyFields;
}
