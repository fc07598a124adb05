import { rebalanceTime } from '../analysis/rebalance.ts';
import type { ErrorSample, RequestSample, TimelineEvent } from '../recorder/events.ts';
import { readEvents } from '../recorder/ndjson.ts';
import type { Histogram } from 'hdr-histogram-js';
import { decodeHistogram, newLatencyHistogram } from '../recorder/histogram.ts';
import type { SeriesPoint } from '../report/model.ts';

/** What the engine reads back from one load's events file: its request and error samples, the GOAWAYs its clients saw, and its latencies. */
export interface LoadEvents {
  samples: RequestSample[];
  /** Failed requests per bucket (transport failures and error statuses). */
  errors: ErrorSample[];
  /** GOAWAYs received: `seen` on the wire (h2 clients), `inferred` from a gRPC channel going idle (grpc-js). */
  goaways: { seen: number; inferred: number };
  /** Every latency the load recorded, merged from its per-bucket histograms: several loads' merge exactly. */
  latency: Histogram;
}

export async function loadEvents(file: string): Promise<LoadEvents> {
  const result: LoadEvents = { samples: [], errors: [], goaways: { seen: 0, inferred: 0 }, latency: newLatencyHistogram() };
  try {
    for await (const event of readEvents(file) as AsyncGenerator<TimelineEvent>) {
      if (event.kind === 'request-sample') result.samples.push(event);
      else if (event.kind === 'error-sample') result.errors.push(event);
      else if (event.kind === 'goaway') result.goaways[event.inferred ? 'inferred' : 'seen'] += 1;
      else if (event.kind === 'latency-histogram') result.latency.add(decodeHistogram(event.histogram));
    }
  } catch (error) {
    // A load that failed before writing anything leaves no file: no samples, said elsewhere.
    if ((error as { code?: string }).code !== 'ENOENT') throw error;
  }
  return result;
}

/** Requests per second per pod for one load, ms from the run's start (the report's `series`). */
export function seriesOf(load: string, samples: readonly RequestSample[], runStartEpochMs: number): SeriesPoint[] {
  const points = new Map<string, SeriesPoint>();
  for (const sample of samples) {
    const t = sample.t - runStartEpochMs;
    const key = `${t}\u0000${sample.pod}`;
    const point = points.get(key) ?? { t, load, pod: sample.pod, requests: 0, errors: 0 };
    point.requests += sample.requests;
    point.errors += sample.errors;
    points.set(key, point);
  }
  return [...points.values()].sort((a, b) => a.t - b.t || a.pod.localeCompare(b.pod));
}

/**
 * Seconds from a scale-out until every new pod carries at least `fraction` of its fair share (one
 * second resolution, see analysis/rebalance.ts); null when it never happened within the run.
 */
export function rebalanceSeconds(samples: readonly RequestSample[], scaleOutAtEpochMs: number, podsBefore: readonly string[], podCount: number, fraction = 0.8): number | null {
  const before = new Set(podsBefore);
  const newPods = [...new Set(samples.filter((s) => s.t + s.bucketMs > scaleOutAtEpochMs).map((s) => s.pod))].filter((pod) => !before.has(pod));
  // New pods that never served anything still count: they are why a run never rebalances.
  const missing = Math.max(0, podCount - podsBefore.length - newPods.length);
  if (missing > 0) return null;
  if (newPods.length === 0) return null;
  return rebalanceTime(samples, { scaleOutAt: scaleOutAtEpochMs, newPods, podCount, fraction }).seconds;
}
