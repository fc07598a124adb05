import type { Histogram } from 'hdr-histogram-js';
import type { LatencyHistogram } from '../recorder/events.ts';
import { decodeHistogram, newLatencyHistogram, percentilesMs } from '../recorder/histogram.ts';

/** Merges per-bucket latency histograms (optionally only those whose bucket lies in [from, to)). */
export function mergeLatency(events: Iterable<LatencyHistogram>, window?: { from: number; to: number }): Histogram {
  const merged = newLatencyHistogram();
  for (const event of events) {
    if (window && (event.t < window.from || event.t + event.bucketMs > window.to)) continue;
    const decoded = decodeHistogram(event.histogram);
    merged.add(decoded);
    decoded.destroy();
  }
  return merged;
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
