/**
 * The run's event timeline: ONE discriminated union on `kind`. Every producer (load drivers, the k6
 * fold, chaos actions, EndpointSlice/Pod watches) emits these; analysis and reports only read them.
 *
 * Times (`t`, `at`, `firstAt`, …) are epoch milliseconds on the harness host's clock (fractional).
 * Cluster events also carry the API server's own timestamp (`serverTime`), which has a 1 s (or µs,
 * for managedFields) resolution and may differ from the host clock.
 *
 * Aggregated events (`request-sample`, `error-sample`, `latency-histogram`, `load-sample`) cover one
 * bucket `[t, t + bucketMs)`. Two samples with the same bucket and key ADD UP (a late response can
 * produce a second sample for a bucket already written); consumers must sum, never overwrite.
 */

/** Which load generator produced a sample: 'http', 'grpc', 'k6', or a name the engine gives. */
export type LoadSource = string;

/** Error classes the drivers distinguish (design.md, "What is measured"). */
export type ErrorKind =
  | 'refused'
  | 'reset'
  | 'timeout'
  | 'http-4xx'
  | 'http-5xx'
  | 'goaway'
  | 'dns'
  | 'unreachable'
  | `grpc-${string}`
  | 'other';

/** Requests answered by one pod (and, at 'connection' granularity, one server connection) in one bucket. */
export interface RequestSample {
  kind: 'request-sample';
  /** Bucket start, epoch ms. */
  t: number;
  bucketMs: number;
  source: LoadSource;
  pod: string;
  node: string;
  podIp: string;
  /** Server-side connection id (`<pod>/<n>`) at 'connection' granularity; absent at 'pod' granularity. */
  connectionId?: string;
  /** The address:port the client dialled (Service VIP, NodePort, LB address, pod IP). */
  via: string;
  /**
   * The source address the server saw, when the recorder keys samples by it (`byPeer`): behind a
   * proxy (the Ingress controller) it names the replica that carried the request.
   */
  peer?: string;
  /** Responses received from this pod in the bucket (any HTTP status, including 4xx/5xx). */
  requests: number;
  /** Of `requests`, how many had an error status (HTTP ≥ 400 or gRPC non-OK with identity). */
  errors: number;
  /** Responses whose server-side sequence was 1: connections to this pod whose first request was answered. */
  newConnections: number;
  /** Responses where the client's own source address was known and compared with the peer the server saw. */
  peerChecked: number;
  /** Of `peerChecked`, how many showed the client's own address (source IP preserved, no SNAT). */
  peerPreserved: number;
  /** Completion time of the first and last response in the bucket, epoch ms. */
  firstAt: number;
  lastAt: number;
}

/** Failed requests of one kind in one bucket (per pod when the failure could be attributed). */
export interface ErrorSample {
  kind: 'error-sample';
  t: number;
  bucketMs: number;
  source: LoadSource;
  errorKind: ErrorKind;
  /** Pod named by the failing response itself (e.g. a 503 carrying x-kth-pod); '' when none. */
  pod: string;
  /** Pod the failing request's connection last reached (a reset on a connection to pod X); '' when unknown. */
  connectionPod: string;
  via: string;
  count: number;
  /** One example message, for reading (the first one of the bucket). */
  example: string;
  firstAt: number;
  lastAt: number;
}

/**
 * Latency of requests that completed (response or error) in one bucket, HdrHistogram form, per pod.
 *
 * The events of one (bucket, source) PARTITION its requests by pod: one event per pod that answered
 * (or had a transport failure charged to it) in the bucket, plus one without `pod` for the rest
 * (unattributed responses, failures no pod can be named for). Merging every event of a bucket —
 * what consumers must do anyway, see the note at the top — gives the bucket's run-wide histogram,
 * so readers that only merge stay correct; `count`/`p50Ms`/`p99Ms`/`maxMs` describe one event only.
 * Files written before per-pod histograms have one event per bucket, all without `pod`.
 */
export interface LatencyHistogram {
  kind: 'latency-histogram';
  t: number;
  bucketMs: number;
  source: LoadSource;
  /**
   * The pod these latencies are charged to: the pod that answered, or, for a failure without a
   * response, the pod its connection last reached (once that pod had answered). Absent: none.
   */
  pod?: string;
  /** 'intended' (open model: from the scheduled send time) or 'actual' (closed model: from the real send). */
  measuredFrom: 'intended' | 'actual';
  /** Values are microseconds. HdrHistogram V2 compressed, base64 (hdr-histogram-js `encodeIntoCompressedBase64`). */
  histogram: string;
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** The driver's own view of one bucket: what it sent, what it could not send. */
export interface LoadSample {
  kind: 'load-sample';
  t: number;
  bucketMs: number;
  source: LoadSource;
  /** Requests put on the wire. */
  sent: number;
  /** Requests finished (response or error). */
  completed: number;
  /** Responses with no (or malformed) identity headers. */
  unattributed: number;
  /** Open model: scheduled requests that never got a free slot (k6's dropped_iterations). */
  dropped: number;
}

export interface LoadStart {
  kind: 'load-start';
  t: number;
  source: LoadSource;
  target: string;
  /** persistent | short-lived | pooled | h2 | grpc-unary | … */
  model: string;
  /** open (arrival rate) or closed (fixed concurrency: suffers coordinated omission). */
  arrival: 'open' | 'closed';
  config: Record<string, unknown>;
}

export interface LoadEnd {
  kind: 'load-end';
  t: number;
  source: LoadSource;
  /** Why it ended: the duration ran out, the request budget was spent, or it was aborted. */
  reason: 'duration' | 'max-requests' | 'aborted';
  sent: number;
  completed: number;
  dropped: number;
  /** Requests abandoned in flight when the graceful stop ran out (counted as timeouts too). */
  abandoned: number;
}

export interface ConnectionOpen {
  kind: 'connection-open';
  t: number;
  source: LoadSource;
  /** The driver's own id of this client connection (unique within the source). */
  clientConnection: string;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

export interface ConnectionClose {
  kind: 'connection-close';
  t: number;
  source: LoadSource;
  clientConnection: string;
  /** Pod the connection reached (from its responses); '' when none answered. */
  pod: string;
  /** Server-side id of the connection (from x-kth-connection-id); '' when none answered. */
  serverConnection: string;
  /** Responses received on this connection. */
  requests: number;
  /** Who ended it and how: 'client' (model ended it), 'server' (clean close by the peer), 'error'. */
  closedBy: 'client' | 'server' | 'error';
  detail: string;
}

/** An HTTP/2 GOAWAY received (h2 model, gRPC channels), or inferred for gRPC (see `inferred`). */
export interface GoAway {
  kind: 'goaway';
  t: number;
  source: LoadSource;
  clientConnection: string;
  pod: string;
  /** HTTP/2 error code (0 = NO_ERROR, graceful), when known. */
  errorCode: number | null;
  lastStreamId: number | null;
  /** True when not seen on the wire but inferred (gRPC: channel READY → IDLE with no call error). */
  inferred: boolean;
  detail: string;
}

/** A gRPC channel's connectivity state changed (IDLE, CONNECTING, READY, TRANSIENT_FAILURE, SHUTDOWN). */
export interface ChannelState {
  kind: 'channel-state';
  t: number;
  source: LoadSource;
  channel: string;
  from: string;
  to: string;
}

export interface ChaosStart {
  kind: 'chaos-start';
  t: number;
  /** Correlates start and end. */
  id: string;
  /** rollout-restart | scale | pod-delete | pod-kill | proxy-restart | node-drain | … */
  action: string;
  target: string;
  detail: Record<string, unknown>;
}

export interface ChaosEnd {
  kind: 'chaos-end';
  t: number;
  id: string;
  action: string;
  target: string;
  ok: boolean;
  detail: Record<string, unknown>;
}

/** One endpoint of an EndpointSlice, as the watch saw it. */
export interface SliceEndpoint {
  addresses: string[];
  pod: string;
  node: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}

export interface EndpointSliceChange {
  kind: 'endpointslice-change';
  /** When the watch delivered it (host clock). */
  t: number;
  /** The API server's time of the change (latest managedFields time, else creationTimestamp), epoch ms; null when absent. */
  serverTime: number | null;
  change: 'added' | 'modified' | 'deleted';
  namespace: string;
  service: string;
  slice: string;
  resourceVersion: string;
  endpoints: SliceEndpoint[];
}

export interface PodChange {
  kind: 'pod-change';
  t: number;
  serverTime: number | null;
  change: 'added' | 'modified' | 'deleted';
  namespace: string;
  pod: string;
  node: string;
  ip: string;
  phase: string;
  ready: boolean;
  /** Set once the pod is being deleted (epoch ms), else null. */
  deletionTimestamp: number | null;
  resourceVersion: string;
}

/** A free-form marker on the timeline (phase boundaries, notes from the engine). */
export interface Marker {
  kind: 'marker';
  t: number;
  name: string;
  detail: Record<string, unknown>;
}

export type TimelineEvent =
  | RequestSample
  | ErrorSample
  | LatencyHistogram
  | LoadSample
  | LoadStart
  | LoadEnd
  | ConnectionOpen
  | ConnectionClose
  | GoAway
  | ChannelState
  | ChaosStart
  | ChaosEnd
  | EndpointSliceChange
  | PodChange
  | Marker;

export type EventKind = TimelineEvent['kind'];

/** Narrows a list of events to one kind. */
export function eventsOfKind<K extends EventKind>(events: Iterable<TimelineEvent>, kind: K): Extract<TimelineEvent, { kind: K }>[] {
  const out: Extract<TimelineEvent, { kind: K }>[] = [];
  for (const event of events) if (event.kind === kind) out.push(event as Extract<TimelineEvent, { kind: K }>);
  return out;
}
