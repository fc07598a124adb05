import { hostname } from 'node:os';
import { z } from 'zod';
import { DownwardEnv } from '../identity.ts';
import { booleanSetting, durationSetting, parseSettings, portSetting, type SettingTable, terminationLogSpec, textSetting } from '../settings.ts';

/** Every gRPC server setting, as a flag and an env var (`kth serve grpc --help` lists them). */
export const grpcSettings = {
  host: { label: 'host', flag: '--host', env: 'KTH_HOST', value: '<address>', description: 'address to listen on (0.0.0.0 = all IPv4)' },
  port: { label: 'port', flag: '--port', env: 'KTH_PORT', value: '<port>', description: 'gRPC port; 0 picks a free one (printed at startup)' },
  metricsPort: {
    label: 'metrics port',
    flag: '--metrics-port',
    env: 'KTH_METRICS_PORT',
    value: '<port>',
    description: 'HTTP side port for /metrics, /healthz, /readyz; 0 picks a free one (printed at startup)',
  },
  pod: { label: 'pod name', flag: '--pod-name', env: DownwardEnv.podName, value: '<name>', description: 'pod name reported in replies; the host name when unset' },
  node: { label: 'node name', flag: '--node-name', env: DownwardEnv.nodeName, value: '<name>', description: 'node name reported in replies' },
  podIp: { label: 'pod IP', flag: '--pod-ip', env: DownwardEnv.podIp, value: '<ip>', description: 'pod IP reported in replies' },
  namespace: { label: 'pod namespace', flag: '--pod-namespace', env: DownwardEnv.podNamespace, value: '<namespace>', description: 'namespace reported in replies' },
  maxConnectionAgeMs: {
    label: 'max connection age',
    flag: '--max-connection-age',
    env: 'KTH_MAX_CONNECTION_AGE',
    value: '<duration>',
    description: 'send GOAWAY to a connection this old (±10% jitter, grpc.max_connection_age_ms); 0 = never',
  },
  maxConnectionAgeGraceMs: {
    label: 'max connection age grace',
    flag: '--max-connection-age-grace',
    env: 'KTH_MAX_CONNECTION_AGE_GRACE',
    value: '<duration>',
    description: 'after that GOAWAY, close the connection this much later even with RPCs running (grpc.max_connection_age_grace_ms); 0 = wait for them',
  },
  keepaliveTimeMs: {
    label: 'keepalive time',
    flag: '--keepalive-time',
    env: 'KTH_KEEPALIVE_TIME',
    value: '<duration>',
    description: 'ping each connection this often (grpc.keepalive_time_ms), at least 1s; 0 = no pings',
  },
  keepaliveTimeoutMs: {
    label: 'keepalive timeout',
    flag: '--keepalive-timeout',
    env: 'KTH_KEEPALIVE_TIMEOUT',
    value: '<duration>',
    description: 'close a connection whose ping is unanswered this long (grpc.keepalive_timeout_ms)',
  },
  shutdownDelayMs: {
    label: 'shutdown delay',
    flag: '--shutdown-delay',
    env: 'KTH_SHUTDOWN_DELAY',
    value: '<duration>',
    description: 'on SIGTERM, report NOT_SERVING and keep serving this long before draining',
  },
  drainTimeoutMs: {
    label: 'drain timeout',
    flag: '--drain-timeout',
    env: 'KTH_DRAIN_TIMEOUT',
    value: '<duration>',
    description: 'tryShutdown deadline; then forceShutdown cancels what is left',
  },
  drain: { label: 'drain', flag: '--no-drain', env: 'KTH_DRAIN', value: '', description: 'on SIGTERM exit at once, cancelling running RPCs (to show the damage)' },
  terminationLog: terminationLogSpec,
} as const satisfies SettingTable;

const s = grpcSettings;

export const grpcServerOptionsSchema = z.strictObject({
  host: textSetting(s.host, () => '0.0.0.0'),
  port: portSetting(s.port, 9090),
  metricsPort: portSetting(s.metricsPort, 9091),
  pod: textSetting(s.pod, () => hostname()),
  node: textSetting(s.node, () => '', { allowEmpty: true }),
  podIp: textSetting(s.podIp, () => '', { allowEmpty: true }),
  namespace: textSetting(s.namespace, () => '', { allowEmpty: true }),
  maxConnectionAgeMs: durationSetting(s.maxConnectionAgeMs, 0),
  maxConnectionAgeGraceMs: durationSetting(s.maxConnectionAgeGraceMs, 0),
  // grpc-go raises a shorter keepalive time to 1 s; both servers refuse it rather than differ.
  keepaliveTimeMs: durationSetting(s.keepaliveTimeMs, 0, { ms: 1000, expectation: "0 (no pings) or ≥ 1s (grpc-go's floor: it never pings more often)" }),
  keepaliveTimeoutMs: durationSetting(s.keepaliveTimeoutMs, 20_000),
  shutdownDelayMs: durationSetting(s.shutdownDelayMs, 0),
  drainTimeoutMs: durationSetting(s.drainTimeoutMs, 30_000),
  drain: booleanSetting(s.drain, true),
  terminationLog: textSetting(s.terminationLog, () => '', { allowEmpty: true }),
});

export type GrpcServerConfig = z.output<typeof grpcServerOptionsSchema>;

/** What callers pass: every field optional; durations as milliseconds or strings ('5s'). */
export type GrpcServerOptions = { [K in keyof GrpcServerConfig]?: GrpcServerConfig[K] | string };

export function parseGrpcServerOptions(options: GrpcServerOptions | Record<string, unknown>): GrpcServerConfig {
  return parseSettings(grpcServerOptionsSchema, grpcSettings, options, 'grpc server');
}

/**
 * grpc-js channel arguments for the settings. 0 means "off" in our settings (as in grpc-go);
 * grpc-js wants the option left out for that.
 */
export function grpcChannelOptions(config: GrpcServerConfig): Record<string, number> {
  const options: Record<string, number> = {};
  if (config.maxConnectionAgeMs > 0) options['grpc.max_connection_age_ms'] = config.maxConnectionAgeMs;
  if (config.maxConnectionAgeGraceMs > 0) options['grpc.max_connection_age_grace_ms'] = config.maxConnectionAgeGraceMs;
  if (config.keepaliveTimeMs > 0) {
    options['grpc.keepalive_time_ms'] = config.keepaliveTimeMs;
    options['grpc.keepalive_timeout_ms'] = config.keepaliveTimeoutMs;
  }
  return options;
}
