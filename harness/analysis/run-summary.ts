import type { Histogram } from 'hdr-histogram-js';
import type { SourceTotals } from '../recorder/recorder.ts';
import { newLatencyHistogram, percentilesMs } from '../recorder/histogram.ts';
import { crossCheck, type CrossCheckResult } from './cross-check.ts';
import { chiSquareTest, jainIndex, maxMinRatio, type SamplingUnit } from './fairness.ts';

/** Latency percentiles in ms (HdrHistogram: exact to 3 significant digits); all null when nothing was measured. */
export interface LatencyMs {
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
}

/** One pod's row in report.json `runs[].pods`. */
export interface PodRow {
  name: string;
  node: string;
  ip: string;
  /** Responses attributed to this pod (any status). */
  requests: number;
  /** Connections to this pod whose first request was answered (server-side sequence 1). */
  connections: number;
  /** requests / all attributed responses. */
  share: number;
  /** Error responses from this pod plus transport errors on connections that last reached it. */
  errors: number;
  /** Responses another node forwarded to this pod (only when node addresses were known: external loads). */
  crossNode?: number;
  /**
   * Latency of this pod's responses plus the transport failures counted in `errors` (the client
   * waited on this pod's connection), merged over every source naming the pod; nulls when the pod
   * served nothing (an expected or unseen pod).
   */
  latencyMs: LatencyMs;
}

/** The shape of one run in report.json (the part the load drivers produce); `kth load --json` prints it. */
export interface RunSummary {
  pods: PodRow[];
  totals: {
    /** Requests that finished (response or error), including those abandoned at the end. */
    requests: number;
    /** Responses that named their pod. */
    attributed: number;
    /** Responses without identity headers. */
    unattributed: number;
    errors: number;
    /** Open model: scheduled requests never sent for want of a free slot. */
    dropped: number;
    /** Sum of the servers' own request counters over the run; null when they were not read. */
    serverCounted: number | null;
  };
  errors: { total: number; byKind: Record<string, number> };
  latencyMs: LatencyMs;
  metrics: {
    /** Jain's index over per-pod requests. */
    jainIndex: number | null;
    /** max/min per-pod requests; null when a pod got nothing (see starvedPods) or nothing was served. */
    maxMinRatio: number | null;
    /** Expected pods that received no request at all. */
    starvedPods: string[];
    /** χ² goodness-of-fit p-value against fair (or given) shares, over `chiSquare.unit`. */
    chiSquareP: number | null;
    /**
     * P(χ² ≤ statistic), same test: tiny (< 0.001) when the spread is more even than independent
     * random picks give (round-robin-like). Absent in reports written before it existed.
     */
    chiSquareLowerP?: number | null;
    chiSquare: { unit: SamplingUnit; n: number; statistic: number; degreesOfFreedom: number; valid: boolean; note: string };
    sourceIpPreservedRatio: number | null;
    /**
     * Through a proxy (the Ingress): share of responses whose X-Forwarded-For named the client's own
     * address first, where the L4 source no longer can. Absent when no response came through one.
     */
    forwardedForPreservedRatio?: number;
    /**
     * Share of responses a node other than the serving pod's had received and forwarded (seen as
     * that node's masquerade address). External loads with node addresses only; absent otherwise.
     */
    crossNodeRatio?: number | null;
  };
  load: {
    source: string;
    /** 'intended' for open models (no coordinated omission); 'actual' for closed models. */
    latencyMeasuredFrom: 'intended' | 'actual';
    /** True for closed (fixed-concurrency) models: stalls hold back sending, so latency hides them. */
    coordinatedOmission: boolean;
    sent: number;
  };
  /** Present when server counters were read: every difference, never absorbed. */
  crossCheck?: CrossCheckResult;
}

export interface SummaryOptions {
  /** Unit of the χ² test: 'connections' for long-lived connections, 'requests' when each request has its own connection. */
  unit: SamplingUnit;
  /**
   * Pods that should have received traffic. Pods in this list that never answered appear with 0
   * (the client alone cannot see a pod it never reached); a number adds anonymous `unseen-<i>` rows
   * up to that many pods.
   */
  expectedPods?: readonly string[] | number;
  /** Expected share per pod name (defaults to fair). */
  expectedShares?: Readonly<Record<string, number>>;
  /** Per-pod counts from the servers' own counters over the same span. */
  serverCounts?: ReadonlyMap<string, number>;
}

/** Summarizes one or more sources' totals (summed) into the report's run shape. */
export function summarizeRun(sources: readonly SourceTotals[], options: SummaryOptions): RunSummary {
  const pods = new Map<string, PodRow>();
  const podLatency = new Map<string, Histogram>();
  const latency = newLatencyHistogram();
  let requests = 0;
  let attributed = 0;
  let unattributed = 0;
  let errors = 0;
  let dropped = 0;
  let sent = 0;
  let peerChecked = 0;
  let peerPreserved = 0;
  let forwardedChecked = 0;
  let forwardedPreserved = 0;
  let hopChecked = 0;
  let crossNode = 0;
  const byKind: Record<string, number> = {};
  for (const source of sources) {
    requests += source.completed;
    attributed += source.attributed;
    unattributed += source.unattributed;
    errors += source.errors;
    dropped += source.dropped;
    sent += source.sent;
    latency.add(source.latency);
    for (const [kind, count] of Object.entries(source.errorsByKind)) byKind[kind] = (byKind[kind] ?? 0) + count;
    for (const pod of source.pods.values()) {
      peerChecked += pod.peerChecked;
      peerPreserved += pod.peerPreserved;
      forwardedChecked += pod.forwardedChecked ?? 0;
      forwardedPreserved += pod.forwardedPreserved ?? 0;
      hopChecked += pod.hopChecked ?? 0;
      crossNode += pod.crossNode ?? 0;
      const row = pods.get(pod.pod) ?? emptyRow(pod.pod, pod.node, pod.podIp);
      if (pod.hopChecked) row.crossNode = (row.crossNode ?? 0) + pod.crossNode;
      row.requests += pod.requests;
      row.connections += pod.newConnections;
      row.errors += pod.errors;
      pods.set(pod.pod, row);
      let merged = podLatency.get(pod.pod);
      if (!merged) {
        merged = newLatencyHistogram();
        podLatency.set(pod.pod, merged);
      }
      merged.add(pod.latency);
    }
  }
  const expected = options.expectedPods;
  if (typeof expected === 'number') {
    for (let i = pods.size; i < expected; i++) pods.set(`unseen-${i + 1}`, emptyRow(`unseen-${i + 1}`));
  } else if (expected) {
    for (const name of expected) if (!pods.has(name)) pods.set(name, emptyRow(name));
  }
  const rows = [...pods.values()].sort((a, b) => a.name.localeCompare(b.name));
  for (const row of rows) {
    const merged = podLatency.get(row.name);
    if (merged) row.latencyMs = percentilesMs(merged);
  }
  const fairness = fairnessOf(rows, attributed, options.unit, options.expectedShares);
  const measuredFrom = sources[0]?.measuredFrom ?? 'intended';
  const check = options.serverCounts ? crossCheck(new Map(rows.filter((row) => row.requests > 0).map((row) => [row.name, row.requests])), options.serverCounts) : undefined;
  return {
    pods: rows,
    totals: { requests, attributed, unattributed, errors, dropped, serverCounted: check ? check.serverTotal : null },
    errors: { total: errors, byKind },
    latencyMs: percentilesMs(latency),
    metrics: {
      ...fairness,
      sourceIpPreservedRatio: peerChecked === 0 ? null : peerPreserved / peerChecked,
      ...(forwardedChecked > 0 ? { forwardedForPreservedRatio: forwardedPreserved / forwardedChecked } : {}),
      ...(hopChecked > 0 ? { crossNodeRatio: crossNode / hopChecked } : {}),
    },
    load: { source: sources.map((source) => source.source).join('+'), latencyMeasuredFrom: measuredFrom, coordinatedOmission: measuredFrom === 'actual', sent },
    ...(check ? { crossCheck: check } : {}),
  };
}

type Fairness = Pick<RunSummary['metrics'], 'jainIndex' | 'maxMinRatio' | 'starvedPods' | 'chiSquareP' | 'chiSquareLowerP' | 'chiSquare'>;

/**
 * Sets each row's share of `attributed` and computes the fairness metrics of the rows: Jain's
 * index and max/min over requests, χ² over `unit` against fair (or the given) shares. The one
 * place these are derived, for a load's summary and for a run merged from several loads.
 */
export function fairnessOf(rows: PodRow[], attributed: number, unit: SamplingUnit, expectedShares?: Readonly<Record<string, number>>): Fairness {
  for (const row of rows) row.share = attributed === 0 ? 0 : row.requests / attributed;
  const counts = rows.map((row) => row.requests);
  const ratio = maxMinRatio(counts);
  const observed = rows.map((row) => (unit === 'connections' ? row.connections : row.requests));
  const chi = chiSquareTest(observed, unit, expectedShares ? rows.map((row) => expectedShares[row.name] ?? 0) : undefined);
  return {
    jainIndex: jainIndex(counts),
    maxMinRatio: ratio === Infinity ? null : ratio,
    starvedPods: ratio === Infinity ? rows.filter((row) => row.requests === 0).map((row) => row.name) : [],
    chiSquareP: chi.pValue,
    chiSquareLowerP: chi.lowerPValue,
    chiSquare: { unit: chi.unit, n: chi.n, statistic: chi.statistic, degreesOfFreedom: chi.degreesOfFreedom, valid: chi.valid, note: chi.note },
  };
}

/** A pod that served nothing (expected, or unseen): zero counts, no latency. */
export function emptyRow(name: string, node = '', ip = ''): PodRow {
  return { name, node, ip, requests: 0, connections: 0, share: 0, errors: 0, latencyMs: { p50: null, p90: null, p99: null, max: null } };
}
