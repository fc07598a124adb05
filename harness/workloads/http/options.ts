import { hostname } from 'node:os';
import { z } from 'zod';
import { DownwardEnv } from '../identity.ts';
import {
  booleanSetting,
  durationSetting,
  integerSetting,
  parseSettings,
  portSetting,
  ratioSetting,
  textSetting,
  type SettingTable,
  terminationLogSpec,
} from '../settings.ts';

/** Every HTTP server setting, as a flag and an env var (`kth serve http --help` lists them). */
export const httpSettings = {
  host: { label: 'host', flag: '--host', env: 'KTH_HOST', value: '<address>', description: 'address to listen on (0.0.0.0 = all IPv4)' },
  port: { label: 'port', flag: '--port', env: 'KTH_PORT', value: '<port>', description: 'port to listen on; 0 picks a free one (printed at startup)' },
  pod: { label: 'pod name', flag: '--pod-name', env: DownwardEnv.podName, value: '<name>', description: 'pod name reported in responses; the host name when unset' },
  node: { label: 'node name', flag: '--node-name', env: DownwardEnv.nodeName, value: '<name>', description: 'node name reported in responses' },
  podIp: { label: 'pod IP', flag: '--pod-ip', env: DownwardEnv.podIp, value: '<ip>', description: 'pod IP reported in responses' },
  namespace: { label: 'pod namespace', flag: '--pod-namespace', env: DownwardEnv.podNamespace, value: '<namespace>', description: 'namespace reported in responses' },
  keepAliveTimeoutMs: {
    label: 'keep-alive timeout',
    flag: '--keepalive-timeout',
    env: 'KTH_KEEPALIVE_TIMEOUT',
    value: '<duration>',
    description: 'close a connection idle this long after a response (HTTP/1.1), or GOAWAY an idle h2 connection; 0 = never',
  },
  maxRequestsPerConnection: {
    label: 'max requests per connection',
    flag: '--max-requests-per-connection',
    env: 'KTH_MAX_REQUESTS_PER_CONNECTION',
    value: '<count>',
    description: 'the Nth request on a connection is answered with Connection: close (h2: GOAWAY); 0 = unlimited',
  },
  maxConnectionAgeMs: {
    label: 'max connection age',
    flag: '--max-connection-age',
    env: 'KTH_MAX_CONNECTION_AGE',
    value: '<duration>',
    description: 'a request on a connection older than this is answered with Connection: close (h2: GOAWAY); 0 = unlimited',
  },
  responseDelayMs: {
    label: 'response delay',
    flag: '--response-delay',
    env: 'KTH_RESPONSE_DELAY',
    value: '<duration>',
    description: 'wait this long before answering (?delay_ms=N overrides it per request)',
  },
  responseBytes: {
    label: 'response size',
    flag: '--response-bytes',
    env: 'KTH_RESPONSE_BYTES',
    value: '<bytes>',
    description: 'payload bytes added to each response body (?payload_bytes=N overrides it per request)',
  },
  errorRate: { label: 'error rate', flag: '--error-rate', env: 'KTH_ERROR_RATE', value: '<fraction>', description: 'fraction of workload requests answered with 500 (identity still attached)' },
  h2c: { label: 'h2c', flag: '--no-h2c', env: 'KTH_H2C', value: '', description: 'refuse HTTP/2 cleartext (prior knowledge) on the port; HTTP/1.1 only' },
  shutdownDelayMs: {
    label: 'shutdown delay',
    flag: '--shutdown-delay',
    env: 'KTH_SHUTDOWN_DELAY',
    value: '<duration>',
    description: 'on SIGTERM, report not-ready and keep serving this long before draining',
  },
  drainTimeoutMs: {
    label: 'drain timeout',
    flag: '--drain-timeout',
    env: 'KTH_DRAIN_TIMEOUT',
    value: '<duration>',
    description: 'longest wait for in-flight requests while draining; then remaining connections are closed',
  },
  drain: { label: 'drain', flag: '--no-drain', env: 'KTH_DRAIN', value: '', description: 'on SIGTERM exit at once, dropping in-flight requests (to show the damage)' },
  terminationLog: terminationLogSpec,
} as const satisfies SettingTable;

const s = httpSettings;

export const httpServerOptionsSchema = z.strictObject({
  host: textSetting(s.host, () => '0.0.0.0'),
  port: portSetting(s.port, 8080),
  pod: textSetting(s.pod, () => hostname()),
  node: textSetting(s.node, () => '', { allowEmpty: true }),
  podIp: textSetting(s.podIp, () => '', { allowEmpty: true }),
  namespace: textSetting(s.namespace, () => '', { allowEmpty: true }),
  keepAliveTimeoutMs: durationSetting(s.keepAliveTimeoutMs, 5_000),
  maxRequestsPerConnection: integerSetting(s.maxRequestsPerConnection, 0),
  maxConnectionAgeMs: durationSetting(s.maxConnectionAgeMs, 0),
  responseDelayMs: durationSetting(s.responseDelayMs, 0),
  responseBytes: integerSetting(s.responseBytes, 0, 0, 64 * 1024 * 1024),
  errorRate: ratioSetting(s.errorRate, 0),
  h2c: booleanSetting(s.h2c, true),
  shutdownDelayMs: durationSetting(s.shutdownDelayMs, 0),
  drainTimeoutMs: durationSetting(s.drainTimeoutMs, 30_000),
  drain: booleanSetting(s.drain, true),
  terminationLog: textSetting(s.terminationLog, () => '', { allowEmpty: true }),
});

/**
 * What callers pass: every field optional; durations as milliseconds or strings ('5s'), numbers
 * also as strings (env values pass through unchanged).
 */
export type HttpServerOptions = { [K in keyof HttpServerConfig]?: HttpServerConfig[K] | string };

/** The validated settings a running server uses (durations in milliseconds). */
export type HttpServerConfig = z.output<typeof httpServerOptionsSchema>;

export function parseHttpServerOptions(options: HttpServerOptions | Record<string, unknown>): HttpServerConfig {
  return parseSettings(httpServerOptionsSchema, httpSettings, options, 'http server');
}
