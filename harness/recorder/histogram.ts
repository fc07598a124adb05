import hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';

/** Latency histograms hold microseconds: 1 µs resolution floor, 3 significant digits, auto-resizing past 1 h. */
export function newLatencyHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3, autoResize: true });
}

/** Milliseconds (fractional) → the integer microseconds a histogram records (never 0: 0 is "no value"). */
export function toMicros(ms: number): number {
  return Math.max(1, Math.round(ms * 1000));
}

export function encodeHistogram(histogram: Histogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

export function decodeHistogram(encoded: string): Histogram {
  return hdr.decodeFromCompressedBase64(encoded, 32, false);
}

export interface LatencyPercentilesMs {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/**
 * Percentiles in milliseconds. HdrHistogram reports the highest value equivalent to the bucket a
 * percentile falls in, so values are exact to 3 significant digits (0.1 %). Empty → all null.
 */
export function percentilesMs(histogram: Histogram): { p50: number | null; p90: number | null; p99: number | null; max: number | null } {
  if (histogram.totalCount === 0) return { p50: null, p90: null, p99: null, max: null };
  const ms = (micros: number) => micros / 1000;
  return {
    p50: ms(histogram.getValueAtPercentile(50)),
    p90: ms(histogram.getValueAtPercentile(90)),
    p99: ms(histogram.getValueAtPercentile(99)),
    max: ms(histogram.maxValue),
  };
}
