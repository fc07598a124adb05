import type { EndpointSliceChange, RequestSample } from '../recorder/events.ts';

/** A pod became routable (ready in some slice) or stopped being routable. */
export interface EndpointTransition {
  pod: string;
  change: 'added' | 'removed';
  /** Epoch ms on the chosen clock. */
  at: number;
}

export interface PropagationLag {
  pod: string;
  change: 'added' | 'removed';
  /** When the slice said so (epoch ms). */
  sliceAt: number;
  /**
   * added: first response from the pod at or after `sliceAt`; removed: last response from the pod
   * before it was added again (or the end). Null when the pod never answered in that span.
   */
  requestAt: number | null;
  /**
   * requestAt − sliceAt in ms. For 'removed' it can be negative: traffic had already stopped
   * before the slice changed (the pod died before it was taken out). Null with requestAt.
   */
  lagMs: number | null;
}

export interface PropagationResult {
  lags: PropagationLag[];
  /** Largest lag among added endpoints (time for new pods to get traffic); null when none. */
  maxAddedLagMs: number | null;
  /** Largest lag among removed endpoints (traffic still arriving after removal); null when none. */
  maxRemovedLagMs: number | null;
}

/**
 * Derives per-pod routable/unroutable transitions from EndpointSlice changes of ONE Service: a pod
 * is routable while some slice lists it with `ready: true`. `clock` picks the watch's delivery
 * time (`t`, the same host clock the drivers use: the default) or the API server's time.
 */
export function endpointTransitions(changes: Iterable<EndpointSliceChange>, clock: 'watch' | 'server' = 'watch'): EndpointTransition[] {
  const sorted = [...changes].sort((a, b) => timeOf(a, clock) - timeOf(b, clock));
  const readyBySlice = new Map<string, Set<string>>();
  const routable = new Set<string>();
  const transitions: EndpointTransition[] = [];
  for (const change of sorted) {
    const ready = new Set<string>();
    if (change.change !== 'deleted') for (const endpoint of change.endpoints) if (endpoint.ready && endpoint.pod) ready.add(endpoint.pod);
    readyBySlice.set(change.slice, ready);
    const now = new Set<string>();
    for (const set of readyBySlice.values()) for (const pod of set) now.add(pod);
    const at = timeOf(change, clock);
    for (const pod of now) if (!routable.has(pod)) transitions.push({ pod, change: 'added', at });
    for (const pod of routable) if (!now.has(pod)) transitions.push({ pod, change: 'removed', at });
    routable.clear();
    for (const pod of now) routable.add(pod);
  }
  return transitions;
}

function timeOf(change: EndpointSliceChange, clock: 'watch' | 'server'): number {
  return clock === 'server' && change.serverTime !== null ? change.serverTime : change.t;
}

/** When the first slice event was seen: its transitions are the endpoints as they stood before the run's changes. */
export function initialTransitionTime(transitions: readonly EndpointTransition[]): number {
  return transitions.length > 0 ? Math.min(...transitions.map((transition) => transition.at)) : 0;
}

/** The transitions after the first slice event: the changes during the run. */
export function changesDuringRun(transitions: readonly EndpointTransition[]): EndpointTransition[] {
  const initialAt = initialTransitionTime(transitions);
  return transitions.filter((transition) => transition.at !== initialAt);
}

/**
 * Endpoint propagation lag: for each transition, when traffic followed. Uses the precise
 * `firstAt`/`lastAt` of request samples (completion times of responses: they bound the moment the
 * pod served from above by one request latency).
 *
 * Pods routable in the very first slice event are reported as 'added' at that time too; pass
 * `ignoreInitial` to drop transitions at the first event's time (pods that were there all along).
 */
export function propagationLag(transitions: readonly EndpointTransition[], samples: Iterable<RequestSample>, options: { ignoreInitial?: boolean } = {}): PropagationResult {
  const byPod = new Map<string, { firstAt: number; lastAt: number }[]>();
  for (const sample of samples) {
    if (sample.requests === 0) continue;
    let list = byPod.get(sample.pod);
    if (!list) byPod.set(sample.pod, (list = []));
    list.push({ firstAt: sample.firstAt, lastAt: sample.lastAt });
  }
  const initialAt = initialTransitionTime(transitions);
  const lags: PropagationLag[] = [];
  for (const transition of transitions) {
    if (options.ignoreInitial && transition.change === 'added' && transition.at === initialAt) continue;
    const spans = byPod.get(transition.pod) ?? [];
    const sameP = transitions.filter((other) => other.pod === transition.pod);
    let requestAt: number | null = null;
    if (transition.change === 'added') {
      const nextRemoval = sameP.find((other) => other.change === 'removed' && other.at > transition.at)?.at ?? Infinity;
      for (const span of spans) {
        // First response at/after the add, before the pod was removed again.
        if (span.lastAt < transition.at || span.firstAt >= nextRemoval) continue;
        const candidate = span.firstAt >= transition.at ? span.firstAt : earliestAfter(span, transition.at);
        if (candidate !== null && (requestAt === null || candidate < requestAt)) requestAt = candidate;
      }
    } else {
      const previousAdd = [...sameP].reverse().find((other) => other.change === 'added' && other.at <= transition.at)?.at ?? -Infinity;
      const nextAdd = sameP.find((other) => other.change === 'added' && other.at > transition.at)?.at ?? Infinity;
      for (const span of spans) {
        if (span.lastAt < previousAdd || span.lastAt >= nextAdd) continue;
        if (requestAt === null || span.lastAt > requestAt) requestAt = span.lastAt;
      }
    }
    lags.push({ pod: transition.pod, change: transition.change, sliceAt: transition.at, requestAt, lagMs: requestAt === null ? null : requestAt - transition.at });
  }
  const max = (change: 'added' | 'removed') => {
    const values = lags.filter((lag) => lag.change === change && lag.lagMs !== null).map((lag) => lag.lagMs as number);
    return values.length === 0 ? null : Math.max(...values);
  };
  return { lags, maxAddedLagMs: max('added'), maxRemovedLagMs: max('removed') };
}

/**
 * A sample whose span straddles `at` holds responses both before and after it; only its lastAt is
 * known to be after `at`, so that is the earliest provable response after the change (an upper
 * bound on the true first response).
 */
function earliestAfter(span: { firstAt: number; lastAt: number }, at: number): number | null {
  return span.lastAt >= at ? span.lastAt : null;
}
