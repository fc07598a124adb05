import type { Histogram } from 'hdr-histogram-js';
import type { LatencyHistogram } from '../recorder/events.ts';
import { decodeHistogram, newLatencyHistogram, percentilesMs } from '../recorder/histogram.ts';

/**
 * Merges per-bucket latency histograms (optionally only those whose bucket lies in [from, to)).
 * Per-pod events partition a bucket, so merging them all gives the run-wide latency.
 */
export function mergeLatency(events: Iterable<LatencyHistogram>, window?: { from: number; to: number }): Histogram {
  const merged = newLatencyHistogram();
  for (const event of events) {
    if (!inWindow(event, window)) continue;
    const decoded = decodeHistogram(event.histogram);
    merged.add(decoded);
    decoded.destroy();
  }
  return merged;
}

/**
 * Merges per-bucket latency histograms per pod (optionally only buckets in [from, to)). Key '' holds
 * latencies no pod could be named for — and everything, in files written before per-pod histograms.
 */
export function mergeLatencyByPod(events: Iterable<LatencyHistogram>, window?: { from: number; to: number }): Map<string, Histogram> {
  const byPod = new Map<string, Histogram>();
  for (const event of events) {
    if (!inWindow(event, window)) continue;
    const pod = event.pod ?? '';
    let merged = byPod.get(pod);
    if (!merged) {
      merged = newLatencyHistogram();
      byPod.set(pod, merged);
    }
    const decoded = decodeHistogram(event.histogram);
    merged.add(decoded);
    decoded.destroy();
  }
  return byPod;
}

function inWindow(event: LatencyHistogram, window: { from: number; to: number } | undefined): boolean {
  return !window || (event.t >= window.from && event.t + event.bucketMs <= window.to);
}

export interface LatencySummaryMs {
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
  count: number;
}

/** Percentiles (ms, exact to HdrHistogram's 3 significant digits) of a histogram of microseconds. */
export function latencyPercentiles(histogram: Histogram): LatencySummaryMs {
  return { ...percentilesMs(histogram), count: histogram.totalCount };
}
