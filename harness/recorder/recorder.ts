import type { Histogram } from 'hdr-histogram-js';
import type { ErrorKind, ErrorSample, LatencyHistogram, LoadSample, LoadSource, RequestSample, TimelineEvent } from './events.ts';
import { encodeHistogram, newLatencyHistogram, toMicros } from './histogram.ts';

/** Where finished events go: the NDJSON writer, an in-memory list, or both. */
export type EventSink = (event: TimelineEvent) => void;

/** Who answered one response, as the driver parsed it from the identity headers / WhoReply. */
export interface Attribution {
  pod: string;
  node: string;
  podIp: string;
  /** Server-side connection id (`<pod>/<n>`). */
  connectionId: string;
  /** 1-based sequence on that connection; 0 when unknown. */
  sequence: number;
  /** The address the server saw as the client's (after any SNAT); '' when unknown. */
  peerAddress: string;
  /** The first address of the request's X-Forwarded-For as the server echoed it (the client as the first proxy saw it); absent when none. */
  forwardedFor?: string;
}

export interface RecorderOptions {
  /** Bucket width; buckets are aligned to the epoch (a 1000 ms bucket starts on a whole second). @default 1000 */
  bucketMs?: number;
  /**
   * How long a bucket stays open after it ends, for events that arrive out of order (k6's JSON
   * output). Live drivers complete in time order, so 0 suffices for them. @default 0
   */
  latenessMs?: number;
  /**
   * 'connection': one request-sample per (bucket, pod, server connection, via) — exact
   * connection-level shares, but one line per connection per second. 'pod': one per (bucket, pod, via),
   * with connections counted by `newConnections`. @default 'connection'
   */
  granularity?: 'connection' | 'pod';
  /**
   * Key request samples by the source address the server saw as well (`peer`): one sample per
   * proxy replica that carried requests (an Ingress controller's pods), so each can be credited.
   * Off by default: a direct client's peer is itself, or a node under SNAT. @default false
   */
  byPeer?: boolean;
  sink?: EventSink;
  /** Epoch-ms clock; tests replace it. @default performance.timeOrigin + performance.now() */
  now?: () => number;
  /**
   * Node addresses (address → node name). Given, a response whose peer (the source address the
   * server saw) is another node's address counts as a cross-node hop: that node received the
   * request and masqueraded it on to this pod (an external client under externalTrafficPolicy Cluster).
   */
  nodeAddresses?: ReadonlyMap<string, string>;
}

/** Per-pod running totals (bounded by the number of pods). */
export interface PodTotals {
  pod: string;
  node: string;
  podIp: string;
  requests: number;
  /** Responses from this pod with an error status. */
  errorResponses: number;
  /** Errors attributed to this pod: error responses, plus transport errors on a connection that last reached it. */
  errors: number;
  newConnections: number;
  peerChecked: number;
  peerPreserved: number;
  /** Responses that came through a proxy (X-Forwarded-For echoed) while the client's own address was known, and of those, naming it first. */
  forwardedChecked?: number;
  forwardedPreserved?: number;
  /** With node addresses known: responses whose peer was known, and of those, forwarded by another node. */
  hopChecked: number;
  crossNode: number;
  firstAt: number;
  lastAt: number;
  /**
   * Latency (µs, same settings as {@link SourceTotals.latency}) of this pod's responses (any status)
   * plus transport failures charged to it, the whole run. Created with the pod's totals, i.e. lazily
   * on its first attributed response: one histogram per pod, however long the run.
   *
   * Failures count here when they count in `errors`: a request that failed without a response
   * (reset, timeout, GOAWAY, gRPC DEADLINE_EXCEEDED…) on a connection that last reached this pod,
   * once the pod is known. That is deliberate: a connection keeps reaching the same pod, so the
   * client waited on THIS pod, and a hung or terminating pod shows mostly as timeouts and resets —
   * leaving them out would make exactly the slow pod look fast. It also keeps the per-pod
   * histograms a partition of the run-wide one (Σ pods + unattributed = `SourceTotals.latency`).
   * Hence `latency.totalCount` ≥ `requests`; the difference is failures with a latency.
   */
  latency: Histogram;
}

export interface SourceTotals {
  source: LoadSource;
  measuredFrom: 'intended' | 'actual';
  sent: number;
  completed: number;
  /** Responses (any status) that carried identity. */
  attributed: number;
  unattributed: number;
  dropped: number;
  errors: number;
  errorsByKind: Record<string, number>;
  pods: Map<string, PodTotals>;
  /** Requests per server connection id; kept only at 'connection' granularity (bounded by connections). */
  connections: Map<string, { pod: string; requests: number }>;
  /** Every completed request's latency (µs), the whole run. */
  latency: Histogram;
}

export const epochNow = (): number => performance.timeOrigin + performance.now();

interface OpenBucket {
  index: number;
  requests: Map<string, RequestSample>;
  errors: Map<string, ErrorSample>;
  /** Latency per pod in this bucket ('' = no pod could be named); see {@link SourceRecorder.latency}. */
  histograms: Map<string, Histogram>;
  load: LoadSample;
}

/**
 * Aggregates one load source's observations into per-bucket events. Memory is bounded by the open
 * buckets (normally one or two) × distinct keys per bucket, plus per-pod totals (one latency
 * histogram per pod): nothing grows with the number of requests.
 */
export class SourceRecorder {
  readonly totals: SourceTotals;
  private readonly open = new Map<number, OpenBucket>();
  private maxIndex = -Infinity;
  private readonly spareHistograms: Histogram[] = [];

  constructor(
    private readonly recorder: Recorder,
    readonly source: LoadSource,
    measuredFrom: 'intended' | 'actual',
  ) {
    this.totals = {
      source,
      measuredFrom,
      sent: 0,
      completed: 0,
      attributed: 0,
      unattributed: 0,
      dropped: 0,
      errors: 0,
      errorsByKind: {},
      pods: new Map(),
      connections: new Map(),
      latency: newLatencyHistogram(),
    };
  }

  /** Buckets still open (not yet written): stays at one or two however long the run. */
  get openBuckets(): number {
    return this.open.size;
  }

  /** A request went on the wire. */
  sent(at: number, count = 1): void {
    this.totals.sent += count;
    this.bucket(at).load.sent += count;
  }

  /** Scheduled requests that found no free slot and were never sent (open model). */
  dropped(at: number, count = 1): void {
    this.totals.dropped += count;
    this.bucket(at).load.dropped += count;
  }

  /**
   * A response arrived. `who` is undefined when it carried no identity (counted as unattributed).
   * `clientAddress` is the client's own source address on that connection, when known, to check
   * source-IP preservation against `who.peerAddress`. `errorKind` marks an error status (5xx…).
   */
  response(at: number, latencyMs: number, who: Attribution | undefined, via: string, clientAddress: string | undefined, errorKind?: ErrorKind, example?: string): void {
    const bucket = this.bucket(at);
    const totals = this.totals;
    totals.completed++;
    bucket.load.completed++;
    if (errorKind) this.countError(bucket, at, errorKind, who?.pod ?? '', '', via, example ?? errorKind);
    if (!who) {
      this.latency(bucket, latencyMs, undefined);
      totals.unattributed++;
      bucket.load.unattributed++;
      return;
    }
    totals.attributed++;
    const connectionLevel = this.recorder.granularity === 'connection';
    const peer = this.recorder.byPeer ? stripMapped(who.peerAddress) : undefined;
    const key = `${connectionLevel ? who.connectionId : who.pod}\u0000${via}${peer === undefined ? '' : `\u0000${peer}`}`;
    let sample = bucket.requests.get(key);
    if (!sample) {
      sample = {
        kind: 'request-sample',
        t: bucket.index * this.recorder.bucketMs,
        bucketMs: this.recorder.bucketMs,
        source: this.source,
        pod: who.pod,
        node: who.node,
        podIp: who.podIp,
        ...(connectionLevel ? { connectionId: who.connectionId } : {}),
        via,
        ...(peer === undefined ? {} : { peer }),
        requests: 0,
        errors: 0,
        newConnections: 0,
        peerChecked: 0,
        peerPreserved: 0,
        firstAt: at,
        lastAt: at,
      };
      bucket.requests.set(key, sample);
    }
    const newConnection = who.sequence === 1 ? 1 : 0;
    const checked = clientAddress && who.peerAddress ? 1 : 0;
    const preserved = checked && sameAddress(clientAddress as string, who.peerAddress) ? 1 : 0;
    sample.requests++;
    sample.newConnections += newConnection;
    sample.peerChecked += checked;
    sample.peerPreserved += preserved;
    if (errorKind) sample.errors++;
    if (at < sample.firstAt) sample.firstAt = at;
    if (at > sample.lastAt) sample.lastAt = at;

    let pod = totals.pods.get(who.pod);
    if (!pod) {
      pod = { pod: who.pod, node: who.node, podIp: who.podIp, requests: 0, errorResponses: 0, errors: 0, newConnections: 0, peerChecked: 0, peerPreserved: 0, hopChecked: 0, crossNode: 0, firstAt: at, lastAt: at, latency: newLatencyHistogram() };
      totals.pods.set(who.pod, pod);
    }
    this.latency(bucket, latencyMs, pod);
    pod.requests++;
    pod.newConnections += newConnection;
    pod.peerChecked += checked;
    pod.peerPreserved += preserved;
    if (clientAddress && who.forwardedFor) {
      pod.forwardedChecked = (pod.forwardedChecked ?? 0) + 1;
      if (sameAddress(clientAddress, who.forwardedFor)) pod.forwardedPreserved = (pod.forwardedPreserved ?? 0) + 1;
    }
    const nodes = this.recorder.nodeAddresses;
    if (nodes && who.peerAddress) {
      const via = nodes.get(stripMapped(who.peerAddress));
      pod.hopChecked++;
      if (via !== undefined && via !== who.node) pod.crossNode++;
    }
    if (errorKind) {
      pod.errorResponses++;
      pod.errors++;
    }
    if (at < pod.firstAt) pod.firstAt = at;
    if (at > pod.lastAt) pod.lastAt = at;
    if (connectionLevel) {
      const connection = totals.connections.get(who.connectionId);
      if (connection) connection.requests++;
      else totals.connections.set(who.connectionId, { pod: who.pod, requests: 1 });
    }
  }

  /**
   * A request failed without a response (refused, reset, timeout, GOAWAY, DNS…). `latencyMs` is
   * recorded when the request had been scheduled (the caller waited that long for nothing); pass
   * undefined for failures that say nothing about latency. `connectionPod` is the pod the
   * connection last reached, when known; the failure (and its latency) is charged to that pod once
   * the pod has answered at least once (see {@link PodTotals.latency} for why).
   */
  failure(at: number, latencyMs: number | undefined, errorKind: ErrorKind, example: string, via: string, connectionPod = ''): void {
    const bucket = this.bucket(at);
    this.totals.completed++;
    bucket.load.completed++;
    if (latencyMs !== undefined) this.latency(bucket, latencyMs, connectionPod ? this.totals.pods.get(connectionPod) : undefined);
    this.countError(bucket, at, errorKind, '', connectionPod, via, example);
  }

  /** Passes a non-aggregated event (connection-open, goaway, …) straight to the sink. */
  event(event: TimelineEvent): void {
    this.recorder.emit(event);
  }

  /** Writes every bucket that ended before `now - latenessMs`. */
  flushDue(now: number): void {
    const limit = Math.floor((now - this.recorder.latenessMs) / this.recorder.bucketMs);
    for (const [index, bucket] of [...this.open].sort((a, b) => a[0] - b[0])) {
      if (index >= limit) break;
      this.write(bucket);
    }
  }

  /** Writes every open bucket. */
  flushAll(): void {
    for (const [, bucket] of [...this.open].sort((a, b) => a[0] - b[0])) this.write(bucket);
  }

  private countError(bucket: OpenBucket, at: number, errorKind: ErrorKind, pod: string, connectionPod: string, via: string, example: string): void {
    const totals = this.totals;
    totals.errors++;
    totals.errorsByKind[errorKind] = (totals.errorsByKind[errorKind] ?? 0) + 1;
    if (!pod && connectionPod) {
      // A transport error on a connection that last reached a pod counts against that pod.
      const known = totals.pods.get(connectionPod);
      if (known) known.errors++;
    }
    const key = `${errorKind}\u0000${pod}\u0000${connectionPod}\u0000${via}`;
    const sample = bucket.errors.get(key);
    if (sample) {
      sample.count++;
      if (at < sample.firstAt) sample.firstAt = at;
      if (at > sample.lastAt) sample.lastAt = at;
      return;
    }
    bucket.errors.set(key, {
      kind: 'error-sample',
      t: bucket.index * this.recorder.bucketMs,
      bucketMs: this.recorder.bucketMs,
      source: this.source,
      errorKind,
      pod,
      connectionPod,
      via,
      count: 1,
      example: example.length > 300 ? `${example.slice(0, 300)}…` : example,
      firstAt: at,
      lastAt: at,
    });
  }

  /**
   * Records one latency in the run-wide histogram, the bucket's histogram of `pod` ('' when no pod
   * can be named) and, when known, the pod's run-wide histogram. Bucket histograms come from (and go
   * back to) `spareHistograms`, so the pool holds at most open buckets × (pods + 1) histograms at
   * once (~94 KB each), however many requests or seconds the run has.
   */
  private latency(bucket: OpenBucket, latencyMs: number, pod: PodTotals | undefined): void {
    const micros = toMicros(latencyMs);
    const key = pod?.pod ?? '';
    let histogram = bucket.histograms.get(key);
    if (!histogram) {
      histogram = this.spareHistograms.pop() ?? newLatencyHistogram();
      bucket.histograms.set(key, histogram);
    }
    histogram.recordValue(micros);
    pod?.latency.recordValue(micros);
    this.totals.latency.recordValue(micros);
  }

  private bucket(at: number): OpenBucket {
    const index = Math.floor(at / this.recorder.bucketMs);
    let bucket = this.open.get(index);
    if (bucket) return bucket;
    if (index > this.maxIndex) {
      this.maxIndex = index;
      // Time moved on: buckets that are now past their lateness window are complete.
      this.flushDue(at);
    }
    bucket = {
      index,
      requests: new Map(),
      errors: new Map(),
      histograms: new Map(),
      load: { kind: 'load-sample', t: index * this.recorder.bucketMs, bucketMs: this.recorder.bucketMs, source: this.source, sent: 0, completed: 0, unattributed: 0, dropped: 0 },
    };
    this.open.set(index, bucket);
    return bucket;
  }

  private write(bucket: OpenBucket): void {
    this.open.delete(bucket.index);
    const emit = (event: TimelineEvent) => this.recorder.emit(event);
    for (const sample of bucket.requests.values()) emit(sample);
    for (const sample of bucket.errors.values()) emit(sample);
    // One latency-histogram per pod per bucket (plus one without `pod` for latencies no pod can be
    // named for): they partition the bucket, so summing every event of a bucket — what events.ts
    // already requires of consumers — still gives the run-wide histogram. See LatencyHistogram.pod.
    for (const [pod, histogram] of bucket.histograms) {
      if (histogram.totalCount > 0) {
        const event: LatencyHistogram = {
          kind: 'latency-histogram',
          t: bucket.index * this.recorder.bucketMs,
          bucketMs: this.recorder.bucketMs,
          source: this.source,
          ...(pod ? { pod } : {}),
          measuredFrom: this.totals.measuredFrom,
          histogram: encodeHistogram(histogram),
          count: histogram.totalCount,
          p50Ms: histogram.getValueAtPercentile(50) / 1000,
          p99Ms: histogram.getValueAtPercentile(99) / 1000,
          maxMs: histogram.maxValue / 1000,
        };
        emit(event);
      }
      histogram.reset();
      this.spareHistograms.push(histogram);
    }
    bucket.histograms.clear();
    const load = bucket.load;
    if (load.sent || load.completed || load.dropped || load.unattributed) emit(load);
  }
}

/**
 * The run's recorder: hands out one {@link SourceRecorder} per load source, passes other events
 * (chaos, cluster, connections) straight through, and flushes buckets on a timer while live.
 */
export class Recorder {
  readonly bucketMs: number;
  readonly latenessMs: number;
  readonly granularity: 'connection' | 'pod';
  readonly now: () => number;
  readonly nodeAddresses: ReadonlyMap<string, string> | undefined;
  readonly byPeer: boolean;
  private readonly sinks: EventSink[] = [];
  private readonly sources = new Map<LoadSource, SourceRecorder>();
  private timer: NodeJS.Timeout | undefined;

  constructor(options: RecorderOptions = {}) {
    this.bucketMs = options.bucketMs ?? 1000;
    this.latenessMs = options.latenessMs ?? 0;
    this.granularity = options.granularity ?? 'connection';
    this.now = options.now ?? epochNow;
    this.nodeAddresses = options.nodeAddresses;
    this.byPeer = options.byPeer ?? false;
    if (options.sink) this.sinks.push(options.sink);
  }

  addSink(sink: EventSink): void {
    this.sinks.push(sink);
  }

  /** The recorder of one load source; created on first use. */
  source(name: LoadSource, measuredFrom: 'intended' | 'actual' = 'intended'): SourceRecorder {
    let source = this.sources.get(name);
    if (!source) {
      source = new SourceRecorder(this, name, measuredFrom);
      this.sources.set(name, source);
    }
    return source;
  }

  allSources(): SourceRecorder[] {
    return [...this.sources.values()];
  }

  /** Records one non-aggregated event (chaos, cluster, connection, marker). */
  emit(event: TimelineEvent): void {
    for (const sink of this.sinks) sink(event);
  }

  /** Flushes finished buckets every bucket (unref'd: never keeps the process alive). */
  startTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.flushDue(this.now()), this.bucketMs);
    this.timer.unref();
  }

  flushDue(now: number): void {
    for (const source of this.sources.values()) source.flushDue(now);
  }

  /** Stops the timer and writes every open bucket. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const source of this.sources.values()) source.flushAll();
  }
}

/** Compares addresses, treating IPv4-mapped IPv6 (::ffff:10.0.0.1) as the IPv4 address. */
export function sameAddress(a: string, b: string): boolean {
  return stripMapped(a) === stripMapped(b);
}

function stripMapped(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** An in-memory sink for short runs and tests (unbounded: not for long runs, use the NDJSON writer). */
export function memorySink(): { sink: EventSink; events: TimelineEvent[] } {
  const events: TimelineEvent[] = [];
  return { sink: (event) => events.push(event), events };
}
