/**
 * The sample servers' contract as data: the requests the contract suite sends and what every
 * implementation (Node.js and Go) must answer. Names are written out here rather than imported
 * from the Node.js implementation, so a rename on either side shows up as a failing vector.
 */

/** Response headers carrying who served a request (identity.ts), lower-case. */
export const identityHeader = {
  pod: 'x-kth-pod',
  node: 'x-kth-node',
  podIp: 'x-kth-pod-ip',
  namespace: 'x-kth-namespace',
  peer: 'x-kth-peer',
  connectionId: 'x-kth-connection-id',
  sequence: 'x-kth-sequence',
} as const;

export const closingHeader = 'x-kth-closing';

/** The keys of a workload response's JSON body, beyond optional `payload` and `error`. */
export const whoBodyKeys = ['pod', 'node', 'podIp', 'namespace', 'peerAddress', 'peerPort', 'connectionId', 'sequence', 'protocol', 'method', 'path', 'status'];

export interface PodIdentityVector {
  pod: string;
  node: string;
  podIp: string;
  namespace: string;
}

export const podFromFlags: PodIdentityVector = { pod: 'ctr-web-7f9c-abcde', node: 'ctr-node-2', podIp: '10.244.2.17', namespace: 'kth-contract' };
export const podFlagArgs = ['--pod-name', podFromFlags.pod, '--node-name', podFromFlags.node, '--pod-ip', podFromFlags.podIp, '--pod-namespace', podFromFlags.namespace];

export const podFromEnv: PodIdentityVector = { pod: 'env-pod-0', node: 'env-node-9', podIp: 'fd00::17', namespace: 'kth-env' };
/** The downward-API env vars a pod gets. */
export const podEnv = { POD_NAME: podFromEnv.pod, NODE_NAME: podFromEnv.node, POD_IP: podFromEnv.podIp, POD_NAMESPACE: podFromEnv.namespace };

/** A flag given on the command line beats the env var. */
export const flagBeatsEnv = { env: { POD_NAME: 'from-env', NODE_NAME: 'node-from-env' }, args: ['--pod-name', 'from-flag'], expected: { pod: 'from-flag', node: 'node-from-env' } };

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

export const maxHttpDelayMs = 3_600_000;
export const maxHttpPayloadBytes = 64 * 1024 * 1024;

export interface HttpRequestVector {
  name: string;
  method: string;
  target: string;
  status: number;
  /** The body's `path` (the target without its query). */
  path?: string;
  /** Payload characters in the body ('x' repeated); undefined = no payload field. */
  payloadBytes?: number;
  /** The response takes at least this long. */
  minElapsedMs?: number;
  /** For 400s: the error names the parameter and the value (`<name>=<raw>: …`) and says the range. */
  badParameter?: { name: string; raw: string; max: number };
}

/** The exact `error` of a 400 for a bad `?delay_ms=` / `?payload_bytes=`. */
export function badParameterText(bad: { name: string; raw: string; max: number }): string {
  return `${bad.name}=${bad.raw}: use a whole number from 0 to ${bad.max}`;
}

/**
 * Workload requests sent in this order on ONE HTTP/1.1 connection of a server started with
 * {@link podFlagArgs}: the n-th is answered with sequence n, all with connection id `<pod>/1`.
 */
export const httpRequestVectors: HttpRequestVector[] = [
  { name: 'plain GET', method: 'GET', target: '/hello', status: 200, path: '/hello' },
  { name: 'POST with a query', method: 'POST', target: '/api/v1/items?x=1&y=two', status: 200, path: '/api/v1/items' },
  { name: 'payload_bytes=7', method: 'GET', target: '/sized?payload_bytes=7', status: 200, path: '/sized', payloadBytes: 7 },
  { name: 'payload_bytes=0', method: 'GET', target: '/?payload_bytes=0', status: 200, path: '/' },
  { name: 'delay_ms=250', method: 'GET', target: '/slow?delay_ms=250', status: 200, path: '/slow', minElapsedMs: 240 },
  { name: 'both knobs', method: 'GET', target: '/both?payload_bytes=64&delay_ms=20', status: 200, path: '/both', payloadBytes: 64, minElapsedMs: 15 },
  { name: 'delay_ms not a number', method: 'GET', target: '/?delay_ms=abc', status: 400, badParameter: { name: 'delay_ms', raw: 'abc', max: maxHttpDelayMs } },
  { name: 'delay_ms negative', method: 'GET', target: '/?delay_ms=-1', status: 400, badParameter: { name: 'delay_ms', raw: '-1', max: maxHttpDelayMs } },
  { name: 'delay_ms fractional', method: 'GET', target: '/?delay_ms=1.5', status: 400, badParameter: { name: 'delay_ms', raw: '1.5', max: maxHttpDelayMs } },
  { name: 'delay_ms above an hour', method: 'GET', target: '/?delay_ms=3600001', status: 400, badParameter: { name: 'delay_ms', raw: '3600001', max: maxHttpDelayMs } },
  { name: 'payload_bytes not a number', method: 'GET', target: '/?payload_bytes=lots', status: 400, badParameter: { name: 'payload_bytes', raw: 'lots', max: maxHttpPayloadBytes } },
  {
    name: 'payload_bytes above 64 MiB',
    method: 'GET',
    target: '/?payload_bytes=67108865',
    status: 400,
    badParameter: { name: 'payload_bytes', raw: '67108865', max: maxHttpPayloadBytes },
  },
  { name: 'DELETE echoed', method: 'DELETE', target: '/things/7', status: 200, path: '/things/7' },
  { name: 'percent-encoded path reported raw', method: 'GET', target: '/a%20b/%2F?x', status: 200, path: '/a%20b/%2F' },
  { name: 'a control-path lookalike is workload', method: 'GET', target: '/metrics/', status: 200, path: '/metrics/' },
  { name: 'another control-path lookalike', method: 'GET', target: '/readyz/', status: 200, path: '/readyz/' },
  { name: 'leading zeros', method: 'GET', target: '/?payload_bytes=007', status: 200, path: '/', payloadBytes: 7 },
  { name: 'the first of repeated parameters wins', method: 'GET', target: '/?delay_ms=1&delay_ms=x', status: 200, path: '/' },
  { name: 'percent-encoded value decoded', method: 'GET', target: '/?payload_bytes=%32', status: 200, path: '/', payloadBytes: 2 },
  { name: 'empty value', method: 'GET', target: '/?delay_ms=', status: 400, badParameter: { name: 'delay_ms', raw: '', max: maxHttpDelayMs } },
  { name: "'+' is a space, not a sign", method: 'GET', target: '/?payload_bytes=+5', status: 400, badParameter: { name: 'payload_bytes', raw: ' 5', max: maxHttpPayloadBytes } },
  { name: 'after the errors, a plain GET again', method: 'GET', target: '/again', status: 200, path: '/again' },
];

/** Control paths: answered, carrying identity and a sequence, but not workload requests. */
export const httpControlVectors: Array<{ method: string; target: string; status: number; contentType: RegExp; body?: string }> = [
  { method: 'GET', target: '/healthz', status: 200, contentType: /^text\/plain/, body: 'ok\n' },
  { method: 'GET', target: '/readyz', status: 200, contentType: /^text\/plain/, body: 'ready\n' },
  { method: 'GET', target: '/metrics', status: 200, contentType: /^text\/plain; version=0\.0\.4/ },
  { method: 'GET', target: '/readyz?verbose=1', status: 200, contentType: /^text\/plain/, body: 'ready\n' },
  { method: 'GET', target: '/clock', status: 200, contentType: /^application\/json/ },
];

/** /readyz bodies. */
export const readyzBody = { ready: 'ready\n', notReady: 'not ready\n' };

/** What the gRPC server's side port answers for anything but the control paths. */
export const sidePortNotFound = { status: 404, body: 'not found: this port serves /metrics, /healthz, /readyz, /admin/readiness, /clock\n' };

/** The readiness toggle and what /readyz, kth_http_ready (or kth_grpc_ready) and health say after each step. */
export const readinessSteps: Array<{ method: string; target: string; status: number; body: unknown; readyAfter: boolean }> = [
  { method: 'POST', target: '/admin/readiness?ready=false', status: 200, body: { ready: false }, readyAfter: false },
  { method: 'POST', target: '/admin/readiness?ready=false', status: 200, body: { ready: false }, readyAfter: false },
  { method: 'POST', target: '/admin/readiness', status: 200, body: { ready: true }, readyAfter: true },
  { method: 'PUT', target: '/admin/readiness?ready=toggle', status: 200, body: { ready: false }, readyAfter: false },
  { method: 'POST', target: '/admin/readiness?ready=true', status: 200, body: { ready: true }, readyAfter: true },
  { method: 'POST', target: '/admin/readiness?ready=maybe', status: 400, body: { error: 'ready=maybe: use true, false or toggle' }, readyAfter: true },
  { method: 'GET', target: '/admin/readiness?ready=false', status: 405, body: { error: 'use POST /admin/readiness?ready=true|false|toggle' }, readyAfter: true },
];

/** Every kth_http_* metric the HTTP server exports, with its type. */
export const httpMetricTypes = {
  kth_http_requests_total: 'counter',
  kth_http_responses_total: 'counter',
  kth_http_errors_injected_total: 'counter',
  kth_http_control_requests_total: 'counter',
  kth_http_requests_in_flight: 'gauge',
  kth_http_connections_total: 'counter',
  kth_http_connections_active: 'gauge',
  kth_http_connection_requests: 'gauge',
  kth_http_requests_per_connection: 'histogram',
  kth_http_ready: 'gauge',
};

// ---------------------------------------------------------------------------------------------
// Settings: every bad value exits 2 naming the setting, its flag and its env var
// ---------------------------------------------------------------------------------------------

export interface BadSettingVector {
  name: string;
  kind: 'http' | 'grpc';
  args?: string[];
  env?: Record<string, string>;
  /** Each must appear in stderr: the setting's label, env var and flag (for each bad setting). */
  mentions: string[];
  /** The shared wording: each problem exactly as one stderr line says it (the first after `error: `). */
  problems: string[];
}

export const badSettingVectors: BadSettingVector[] = [
  {
    name: 'negative keep-alive timeout flag',
    kind: 'http',
    args: ['--keepalive-timeout', '-1'],
    mentions: ['keep-alive timeout', 'KTH_KEEPALIVE_TIMEOUT', '--keepalive-timeout'],
    problems: ['keep-alive timeout: -1 is negative; set KTH_KEEPALIVE_TIMEOUT/--keepalive-timeout to ≥ 0'],
  },
  {
    name: 'error rate above 1 in env',
    kind: 'http',
    env: { KTH_ERROR_RATE: '2' },
    mentions: ['error rate', 'KTH_ERROR_RATE', '--error-rate'],
    problems: ['error rate: 2 is outside 0..1; set KTH_ERROR_RATE/--error-rate to a fraction from 0 to 1, e.g. 0.05'],
  },
  {
    name: 'fractional max requests',
    kind: 'http',
    args: ['--max-requests-per-connection', '1.5'],
    mentions: ['max requests per connection', 'KTH_MAX_REQUESTS_PER_CONNECTION', '--max-requests-per-connection'],
    problems: ['max requests per connection: 1.5 is not a whole number; set KTH_MAX_REQUESTS_PER_CONNECTION/--max-requests-per-connection to a whole number ≥ 0'],
  },
  {
    name: 'h2c not a boolean in env',
    kind: 'http',
    env: { KTH_H2C: 'maybe' },
    mentions: ['h2c', 'KTH_H2C', '--no-h2c'],
    problems: ["h2c: 'maybe' is not true or false; set KTH_H2C to true or false (or pass --no-h2c)"],
  },
  {
    name: 'response size above 64 MiB',
    kind: 'http',
    args: ['--response-bytes', '67108865'],
    mentions: ['response size', 'KTH_RESPONSE_BYTES', '--response-bytes'],
    problems: ['response size: 67108865 is above 67108864; set KTH_RESPONSE_BYTES/--response-bytes to a whole number from 0 to 67108864'],
  },
  {
    name: 'drain timeout not a duration in env',
    kind: 'http',
    env: { KTH_DRAIN_TIMEOUT: 'soon' },
    mentions: ['drain timeout', 'KTH_DRAIN_TIMEOUT', '--drain-timeout'],
    problems: ["drain timeout: 'soon' is not a duration; set KTH_DRAIN_TIMEOUT/--drain-timeout to milliseconds or a duration such as 500ms, 5s, 2m"],
  },
  {
    name: 'empty pod name flag',
    kind: 'http',
    args: ['--pod-name', ''],
    mentions: ['pod name', 'POD_NAME', '--pod-name'],
    problems: ["pod name: '' is empty; set POD_NAME/--pod-name to a non-empty value"],
  },
  {
    name: 'port out of range',
    kind: 'http',
    args: ['--port', '65536'],
    mentions: ['port', 'KTH_PORT', '--port'],
    problems: ['port: 65536 is above 65535; set KTH_PORT/--port to a whole number from 0 to 65535'],
  },
  {
    name: 'negative max connection age in env',
    kind: 'grpc',
    env: { KTH_MAX_CONNECTION_AGE: '-5s' },
    mentions: ['max connection age', 'KTH_MAX_CONNECTION_AGE', '--max-connection-age'],
    problems: ["max connection age: '-5s' is negative; set KTH_MAX_CONNECTION_AGE/--max-connection-age to ≥ 0"],
  },
  {
    name: 'keepalive time not a duration',
    kind: 'grpc',
    args: ['--keepalive-time', 'often'],
    mentions: ['keepalive time', 'KTH_KEEPALIVE_TIME', '--keepalive-time'],
    problems: ["keepalive time: 'often' is not a duration; set KTH_KEEPALIVE_TIME/--keepalive-time to milliseconds or a duration such as 500ms, 5s, 2m"],
  },
  {
    // grpc-go raises a shorter keepalive time to 1 s: both servers refuse it rather than differ.
    name: 'keepalive time below grpc-go floor',
    kind: 'grpc',
    args: ['--keepalive-time', '300ms'],
    mentions: ['keepalive time', 'KTH_KEEPALIVE_TIME', '--keepalive-time'],
    problems: ["keepalive time: '300ms' is below 1s; set KTH_KEEPALIVE_TIME/--keepalive-time to 0 (no pings) or ≥ 1s (grpc-go's floor: it never pings more often)"],
  },
  {
    name: 'metrics port out of range',
    kind: 'grpc',
    args: ['--metrics-port', '70000'],
    mentions: ['metrics port', 'KTH_METRICS_PORT', '--metrics-port'],
    problems: ['metrics port: 70000 is above 65535; set KTH_METRICS_PORT/--metrics-port to a whole number from 0 to 65535'],
  },
  {
    name: 'drain not a boolean in env',
    kind: 'grpc',
    env: { KTH_DRAIN: 'perhaps' },
    mentions: ['drain', 'KTH_DRAIN', '--no-drain'],
    problems: ["drain: 'perhaps' is not true or false; set KTH_DRAIN to true or false (or pass --no-drain)"],
  },
  {
    name: 'two bad settings at once, both named',
    kind: 'grpc',
    env: { KTH_SHUTDOWN_DELAY: '-1', KTH_MAX_CONNECTION_AGE_GRACE: 'later' },
    mentions: ['shutdown delay', 'KTH_SHUTDOWN_DELAY', '--shutdown-delay', 'max connection age grace', 'KTH_MAX_CONNECTION_AGE_GRACE', '--max-connection-age-grace'],
    problems: [
      "max connection age grace: 'later' is not a duration; set KTH_MAX_CONNECTION_AGE_GRACE/--max-connection-age-grace to milliseconds or a duration such as 500ms, 5s, 2m",
      'shutdown delay: -1 is negative; set KTH_SHUTDOWN_DELAY/--shutdown-delay to ≥ 0',
    ],
  },
];

/** Usage mistakes: exit 2, and stderr names what was wrong. */
export const badUsageVectors: Array<{ name: string; kind: 'http' | 'grpc'; args: string[]; mentions: string[] }> = [
  { name: 'unknown flag', kind: 'http', args: ['--bogus-flag', '1'], mentions: ['bogus-flag'] },
  { name: 'unknown flag', kind: 'grpc', args: ['--bogus-flag', '1'], mentions: ['bogus-flag'] },
];

/** Port already in use: exit 2, naming the address, the setting's flag and env var. */
export const portInUseVectors: Array<{ kind: 'http' | 'grpc'; busy: 'port' | 'metrics-port'; label: string; mentions: string[] }> = [
  { kind: 'http', busy: 'port', label: 'port', mentions: ['already in use', '--port', 'KTH_PORT'] },
  { kind: 'grpc', busy: 'port', label: 'port', mentions: ['already in use', '--port', 'KTH_PORT'] },
  { kind: 'grpc', busy: 'metrics-port', label: 'metrics port', mentions: ['already in use', '--metrics-port', 'KTH_METRICS_PORT'] },
];

/** The lines a server writes to stderr when signalled (then it exits with `exitCode`). */
export function signalLines(kind: 'http' | 'grpc', signal: 'SIGTERM' | 'SIGINT') {
  return { shuttingDown: `kth serve ${kind}: ${signal}, shutting down\n`, drained: `kth serve ${kind}: drained, exiting\n` };
}
export const forcedLine = (kind: 'http' | 'grpc') => new RegExp(`kth serve ${kind}: closed (\\d+) connection\\(s\\) without draining, exiting\\n`);
export const exitCodes = { SIGTERM: 0, SIGINT: 130, badInput: 2 } as const;

// ---------------------------------------------------------------------------------------------
// gRPC
// ---------------------------------------------------------------------------------------------

/** Largest payload a WhoReply may carry (below grpc's default 4 MiB receive limit). */
export const maxGrpcPayloadBytes = 4 * 1024 * 1024 - 64 * 1024;

export interface WhoVector {
  name: string;
  request: { clientId?: string; payloadBytes?: number; delayMs?: number };
  /** 'OK' or the gRPC status name. */
  status: string;
  payloadBytes?: number;
  minElapsedMs?: number;
  /** For errors: the status details. */
  details?: string;
}

/**
 * Unary calls made in this order on ONE channel (one connection) of a server started with
 * {@link podFlagArgs}: the n-th call has sequence n (a refused call takes its number too).
 */
export const whoVectors: WhoVector[] = [
  { name: 'empty request', request: {}, status: 'OK', payloadBytes: 0 },
  { name: 'client id echoed', request: { clientId: 'client-a' }, status: 'OK', payloadBytes: 0 },
  { name: 'unicode client id echoed', request: { clientId: 'zé-客户端-✓' }, status: 'OK', payloadBytes: 0 },
  { name: 'payload of 16 zero bytes', request: { clientId: 'sized', payloadBytes: 16 }, status: 'OK', payloadBytes: 16 },
  { name: 'delay of 200ms', request: { clientId: 'slow', delayMs: 200 }, status: 'OK', payloadBytes: 0, minElapsedMs: 190 },
  {
    name: 'payload one byte over the limit',
    request: { clientId: 'too-big', payloadBytes: maxGrpcPayloadBytes + 1 },
    status: 'INVALID_ARGUMENT',
    details: `payload_bytes ${maxGrpcPayloadBytes + 1} exceeds ${maxGrpcPayloadBytes}`,
  },
  { name: 'payload exactly at the limit', request: { clientId: 'max', payloadBytes: maxGrpcPayloadBytes }, status: 'OK', payloadBytes: maxGrpcPayloadBytes },
  { name: 'after the error, a plain call again', request: { clientId: 'again' }, status: 'OK', payloadBytes: 0 },
];

/** WhoStream: `count` replies (at least one), `intervalMs` apart, one sequence, stream index 1..n. */
export const whoStreamVectors = [
  { name: 'three replies 20ms apart', request: { clientId: 'stream-3', count: 3, intervalMs: 20 }, replies: 3, minElapsedMs: 35 },
  { name: 'count 0 still answers once', request: { clientId: 'stream-0', count: 0, intervalMs: 0 }, replies: 1, minElapsedMs: 0 },
  { name: 'count 1', request: { clientId: 'stream-1', count: 1, intervalMs: 500 }, replies: 1, minElapsedMs: 0 },
];

/** WhoChat: one reply per message, in message order even when delays differ; payload sizes echoed. */
export const whoChatVector = {
  requests: [
    { clientId: 'x', delayMs: 60 },
    { clientId: 'y', delayMs: 0, payloadBytes: 5 },
    { clientId: 'z', delayMs: 10 },
    // Over the limit: capped rather than refused, so one message does not end the whole stream.
    { clientId: 'big', payloadBytes: maxGrpcPayloadBytes + 1000 },
  ],
  replies: [
    { clientId: 'x', streamIndex: 1, payloadBytes: 0 },
    { clientId: 'y', streamIndex: 2, payloadBytes: 5 },
    { clientId: 'z', streamIndex: 3, payloadBytes: 0 },
    { clientId: 'big', streamIndex: 4, payloadBytes: maxGrpcPayloadBytes },
  ],
};

export const echoServiceName = 'kth.v1.Echo';
export const healthServiceName = 'grpc.health.v1.Health';

/** Every kth_grpc_* metric the gRPC server exports on its side port, with its type. */
export const grpcMetricTypes = {
  kth_grpc_rpcs_total: 'counter',
  kth_grpc_replies_total: 'counter',
  kth_grpc_rpcs_in_flight: 'gauge',
  kth_grpc_connections_total: 'counter',
  kth_grpc_connections_active: 'gauge',
  kth_grpc_goaways_sent_total: 'counter',
  kth_grpc_connection_rpcs: 'gauge',
  kth_grpc_rpcs_per_connection: 'histogram',
  kth_grpc_ready: 'gauge',
};

/**
 * GOAWAY reasons, all exported from the start (0): scrapers read an absent
 * kth_grpc_goaways_sent_total as "not counted" (load/server-metrics.ts), not as zero.
 */
export const goawayReasons = ['max_age', 'shutdown', 'other'];

/** grpc-go and grpc-js both jitter the max connection age by ±10%. */
export const maxAgeJitter = 0.1;
