import type { ErrorKind } from '../recorder/events.ts';
import type { Attribution, SourceRecorder } from '../recorder/recorder.ts';
import { parsePeer } from '../workloads/identity.ts';
import { classifyStatus, grpcErrorKind } from '../load/errors.ts';
import { followLines, LineFollower, type FollowOptions } from './line-follower.ts';

/** One line of k6's `--out json` output that the fold reads (metric points). */
export interface K6Point {
  type: 'Point';
  metric: string;
  data: { time: string; value: number; tags?: Record<string, string>; metadata?: Record<string, string> };
}

/** Epoch ms (fractional) of k6's RFC 3339 time with nanoseconds: Date.parse alone drops the sub-ms part. */
export function k6Time(time: string): number {
  const match = /^(.*T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(time);
  if (!match) return Date.parse(time);
  const whole = Date.parse(`${match[1]}${match[3]}`);
  return whole + (match[2] ? Number(`0${match[2]}`) * 1000 : 0);
}

/**
 * k6 error codes (k6 docs, "Error codes") → our error kinds. 1050 request timeout, 11xx DNS, 1211
 * dial timeout, 1212 refused, 1220 reset by peer, 1201 broken pipe, 1610 HTTP/2 GOAWAY.
 */
export function k6ErrorKind(code: number): ErrorKind {
  if (code === 1050 || code === 1211) return 'timeout';
  if (code >= 1100 && code < 1200) return 'dns';
  if (code === 1212) return 'refused';
  if (code === 1220 || code === 1201) return 'reset';
  if (code === 1610) return 'goaway';
  return 'other';
}

export interface FoldCounts {
  /** kth_served points read (responses and failures). */
  served: number;
  /** http_reqs points (requests k6 made). */
  httpReqs: number;
  /**
   * grpc_req_duration points: RPC attempts k6's gRPC client (grpc-go) made. k6 v1 has no
   * `grpc_reqs` counter; grpc_req_duration has one point per attempt, so a call grpc-go retried
   * transparently (its stream refused by a GOAWAY) has two or more.
   */
  grpcReqs: number;
  /** Attempts beyond a call's first (grpc-go's transparent retries), told apart by the call's kth_call metadata. */
  grpcRetries: number;
  dropped: number;
  /** Lines that were not JSON or not points (metric declarations are expected and not counted). */
  skipped: number;
}

/** A gRPC call whose attempts were seen (grpc_req_duration) and whose kth_served point is still to come. */
interface PendingCall {
  /** When its first attempt began and its last one ended (epoch ms). */
  begin: number;
  end: number;
}

/** Calls in flight per fold: a fold is known by its counts, so callers that share counts share the join. */
const pendingCalls = new WeakMap<FoldCounts, Map<string, PendingCall>>();

function pendingOf(counts: FoldCounts): Map<string, PendingCall> {
  let pending = pendingCalls.get(counts);
  if (!pending) pendingCalls.set(counts, (pending = new Map()));
  return pending;
}

function attribution(tags: Record<string, string>, metadata: Record<string, string>): Attribution | undefined {
  return tags.pod
    ? {
        pod: tags.pod,
        node: tags.node ?? '',
        podIp: tags.pod_ip ?? '',
        connectionId: metadata.kth_connection ?? '',
        sequence: Number(metadata.kth_sequence ?? 0) || 0,
        peerAddress: metadata.kth_peer ? (parsePeer(metadata.kth_peer)?.address ?? '') : '',
      }
    : undefined;
}

/**
 * One gRPC call's kth_served point (grpc-shares.ts: tag `grpc_status`, the numeric gRPC code).
 * Its latency is what grpc-go measured, from its first attempt's start to its last attempt's end
 * (k6's grpc_req_duration points of the same kth_call), not the script's millisecond clock; a
 * call that never got an attempt (connect failed) keeps the script's value and is sent here.
 */
function foldGrpcServed(point: K6Point, at: number, source: SourceRecorder, fallbackVia: string, counts: FoldCounts): void {
  const tags = point.data.tags ?? {};
  const metadata = point.data.metadata ?? {};
  const code = Number(tags.grpc_status);
  const pending = metadata.kth_call ? pendingOf(counts) : undefined;
  const call = pending?.get(metadata.kth_call!);
  if (call) pending!.delete(metadata.kth_call!);
  else if (pending) source.sent(at, 1);
  const latency = call ? call.end - call.begin : point.data.value;
  const via = metadata.kth_via || fallbackVia;
  if (code !== 0) {
    const details = metadata.kth_error ?? '';
    source.failure(at, latency, grpcErrorKind(code, details), `${code}: ${details || 'k6: no reply'}`, via);
    return;
  }
  source.response(at, latency, attribution(tags, metadata), via, undefined);
}

/**
 * Folds one k6 JSON point into the recorder. `kth_served` points become responses (attributed
 * from the pod tag and the connection/sequence/peer metadata) or failures (HTTP status 0,
 * classified from k6's error code; a gRPC status other than OK, by {@link grpcErrorKind});
 * `dropped_iterations` become dropped requests; `http_reqs` count as sent, and so does each gRPC
 * call's first grpc_req_duration point.
 */
export function foldPoint(point: K6Point, source: SourceRecorder, fallbackVia: string, counts: FoldCounts): void {
  const at = k6Time(point.data.time);
  switch (point.metric) {
    case 'kth_served': {
      counts.served++;
      const tags = point.data.tags ?? {};
      const metadata = point.data.metadata ?? {};
      if (tags.grpc_status !== undefined) {
        foldGrpcServed(point, at, source, fallbackVia, counts);
        return;
      }
      const status = Number(tags.status ?? 0);
      const via = metadata.kth_via || fallbackVia;
      if (status === 0) {
        const error = metadata.kth_error ?? '';
        source.failure(at, point.data.value, k6ErrorKind(Number(error.split(' ')[0])), error || 'k6: no response', via);
        return;
      }
      const who = attribution(tags, metadata);
      const errorKind = classifyStatus(status);
      source.response(at, point.data.value, who, via, undefined, errorKind, errorKind ? `HTTP ${status}` : undefined);
      return;
    }
    case 'http_reqs':
      counts.httpReqs += point.data.value;
      source.sent(at, point.data.value);
      return;
    case 'grpc_req_duration': {
      counts.grpcReqs++;
      const key = point.data.metadata?.kth_call;
      const begin = at - point.data.value;
      const call = key ? pendingOf(counts).get(key) : undefined;
      if (call) {
        // Another attempt of a call already sent: grpc-go retried it transparently.
        counts.grpcRetries++;
        call.end = Math.max(call.end, at);
        call.begin = Math.min(call.begin, begin);
        return;
      }
      if (key) pendingOf(counts).set(key, { begin, end: at });
      source.sent(at, 1);
      return;
    }
    case 'dropped_iterations':
      counts.dropped += point.data.value;
      source.dropped(at, point.data.value);
      return;
  }
}

/** Folds one line of k6's JSON output: points are folded, metric declarations pass, anything else is skipped. */
export function foldLine(line: string, source: SourceRecorder, fallbackVia: string, counts: FoldCounts): void {
  if (line === '') return;
  let parsed: { type?: string };
  try {
    parsed = JSON.parse(line) as { type?: string };
  } catch {
    counts.skipped++;
    return;
  }
  if (parsed.type === 'Point') foldPoint(parsed as K6Point, source, fallbackVia, counts);
  else if (parsed.type !== 'Metric') counts.skipped++;
}

/**
 * Streams a k6 JSON output file into the recorder, line by line (memory stays flat). With `live`
 * (`until`: k6's exit), the file is followed while k6 still writes it, so each second's samples
 * reach the recorder during the run; the rest is read once k6 has exited. Live or after the fact,
 * the same reader sees the same lines in the same order, so counts and events are the same.
 */
export async function foldK6Output(path: string, source: SourceRecorder, fallbackVia: string, live?: FollowOptions): Promise<FoldCounts> {
  const counts: FoldCounts = { served: 0, httpReqs: 0, grpcReqs: 0, grpcRetries: 0, dropped: 0, skipped: 0 };
  const onLine = (line: string) => foldLine(line, source, fallbackVia, counts);
  if (live) {
    await followLines(path, onLine, live);
  } else {
    // The writer is already done: one read to the end, no polling.
    await new LineFollower(path, onLine).finish();
  }
  return counts;
}
