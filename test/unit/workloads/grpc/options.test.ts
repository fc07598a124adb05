import { grpcChannelOptions, parseGrpcServerOptions } from '../../../../harness/workloads/grpc/options.ts';

describe('gRPC channel options', () => {
  it('GIVEN max age, grace and keepalive WHEN mapped THEN grpc-js gets the matching grpc.* arguments in ms', () => {
    const config = parseGrpcServerOptions({ maxConnectionAgeMs: '30s', maxConnectionAgeGraceMs: '5s', keepaliveTimeMs: '10s', keepaliveTimeoutMs: '2s' });
    expect(grpcChannelOptions(config)).toEqual({
      'grpc.max_connection_age_ms': 30_000,
      'grpc.max_connection_age_grace_ms': 5000,
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 2000,
    });
  });

  it('GIVEN the defaults (0 = off) WHEN mapped THEN no argument is set, leaving grpc-js unlimited', () => {
    expect(grpcChannelOptions(parseGrpcServerOptions({}))).toEqual({});
  });
});
