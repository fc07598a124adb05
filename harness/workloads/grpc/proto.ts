import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { repoRoot } from '../../core/paths.ts';

/** The shipped contract, `kth.v1.Echo` (clients such as grpcurl, ghz and k6 load this file). */
// From the repository root, not this file: the same path holds when the CLI runs bundled (harness/.bundle).
export const echoProtoPath = join(repoRoot, 'harness/workloads/proto/kth/v1/echo.proto');

export const echoServiceName = 'kth.v1.Echo';

/**
 * How the harness loads the proto everywhere (server and its drivers): camelCase field names,
 * 64-bit integers as numbers (sequences never get near 2^53), defaults filled in.
 */
export const echoLoaderOptions: protoLoader.Options = { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true };

/** `kth.v1.WhoRequest` as proto-loader decodes it. */
export interface WhoRequest {
  clientId: string;
  payloadBytes: number;
  delayMs: number;
}

export interface WhoStreamRequest {
  clientId: string;
  count: number;
  intervalMs: number;
}

/** `kth.v1.WhoReply`: the gRPC form of {@link ServedBy}. */
export interface WhoReply {
  pod: string;
  node: string;
  podIp: string;
  /** `address:port` the server saw, formatted like the HTTP x-kth-peer header. */
  peer: string;
  connectionId: string;
  sequence: number;
  namespace: string;
  clientId: string;
  payload: Buffer;
  /** 1-based position of this reply within its stream (1 for unary calls). */
  streamIndex: number;
}

export function loadEchoPackageDefinition(): protoLoader.PackageDefinition {
  return protoLoader.loadSync(echoProtoPath, echoLoaderOptions);
}

/** The Echo service definition, for servers (`addService`) and clients (`makeGenericClientConstructor`). */
export function echoServiceDefinition(packageDefinition = loadEchoPackageDefinition()): grpc.ServiceDefinition {
  const loaded = grpc.loadPackageDefinition(packageDefinition) as unknown as {
    kth: { v1: { Echo: grpc.ServiceClientConstructor } };
  };
  return loaded.kth.v1.Echo.service;
}

/** A client constructor for `kth.v1.Echo` (tests and the built-in gRPC driver). */
export function echoClientConstructor(packageDefinition = loadEchoPackageDefinition()): grpc.ServiceClientConstructor {
  return grpc.makeGenericClientConstructor(echoServiceDefinition(packageDefinition), 'Echo');
}
