import type { RequestSample } from '../recorder/events.ts';

export interface RebalanceOptions {
  /** When the scale-out happened (epoch ms): usually when the new pods became ready, or the chaos action's end. */
  scaleOutAt: number;
  /** The pods the scale-out added. */
  newPods: readonly string[];
  /** How many pods serve after the scale-out (the fair share is 1/podCount unless `fairShare` is given). */
  podCount: number;
  /** Fraction of the fair share every new pod must reach. @default 0.8 */
  fraction?: number;
  /** Override the fair share (e.g. weighted or zone-aware expectations). */
  fairShare?: number;
  /** The condition must hold for this many consecutive buckets. @default 1 */
  sustainBuckets?: number;
}

export interface RebalanceResult {
  /**
   * Seconds from `scaleOutAt` to the END of the first bucket in which every new pod held at least
   * `fraction × fairShare` of that bucket's requests (sustained as asked). Resolution is one bucket:
   * the true moment lies within the last bucket. Null when it never happened.
   */
  seconds: number | null;
  /** Epoch ms of that bucket's start; null when never reached. */
  reachedBucket: number | null;
  threshold: number;
  /** Each new pod's best share in any one bucket after the scale-out (to explain a null). */
  bestShare: Record<string, number>;
}

/**
 * Rebalance time after a scale-out, from per-bucket request samples (all sources and connections
 * are summed per bucket and pod). Buckets start at the one containing `scaleOutAt`; buckets with no
 * requests at all are skipped (no evidence either way) but break a sustained streak.
 */
export function rebalanceTime(samples: Iterable<RequestSample>, options: RebalanceOptions): RebalanceResult {
  const fraction = options.fraction ?? 0.8;
  const fairShare = options.fairShare ?? 1 / options.podCount;
  const threshold = fraction * fairShare;
  const sustain = options.sustainBuckets ?? 1;
  const perBucket = new Map<number, { bucketMs: number; total: number; pods: Map<string, number> }>();
  let bucketMs = 1000;
  for (const sample of samples) {
    if (sample.t + sample.bucketMs <= options.scaleOutAt) continue;
    bucketMs = sample.bucketMs;
    let bucket = perBucket.get(sample.t);
    if (!bucket) {
      bucket = { bucketMs: sample.bucketMs, total: 0, pods: new Map() };
      perBucket.set(sample.t, bucket);
    }
    bucket.total += sample.requests;
    bucket.pods.set(sample.pod, (bucket.pods.get(sample.pod) ?? 0) + sample.requests);
  }
  const bestShare: Record<string, number> = Object.fromEntries(options.newPods.map((pod) => [pod, 0]));
  let streak = 0;
  let previous: number | undefined;
  for (const t of [...perBucket.keys()].sort((a, b) => a - b)) {
    const bucket = perBucket.get(t)!;
    if (bucket.total === 0) {
      streak = 0;
      continue;
    }
    if (previous !== undefined && t !== previous + bucketMs) streak = 0;
    previous = t;
    let all = true;
    for (const pod of options.newPods) {
      const share = (bucket.pods.get(pod) ?? 0) / bucket.total;
      if (share > (bestShare[pod] ?? 0)) bestShare[pod] = share;
      if (share < threshold) all = false;
    }
    streak = all ? streak + 1 : 0;
    if (streak >= sustain) {
      const end = t + bucket.bucketMs;
      return { seconds: Math.max(0, end - options.scaleOutAt) / 1000, reachedBucket: t, threshold, bestShare };
    }
  }
  return { seconds: null, reachedBucket: null, threshold, bestShare };
}
