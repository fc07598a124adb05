import type { ChaosEnd, ChaosStart, ErrorSample, RequestSample, TimelineEvent } from '../recorder/events.ts';

/** A named span of the run, [from, to) in epoch ms. */
export interface TimeWindow {
  name: string;
  from: number;
  to: number;
}

export interface WindowErrors {
  window: TimeWindow;
  /** Errors certainly inside the window (their bucket's first and last error both fall in it). */
  errors: number;
  /**
   * Errors from buckets that straddle a window edge: some of them may be inside. The true count
   * lies in [errors, errors + straddling]; it is not guessed.
   */
  straddling: number;
  /** Certain errors by kind. */
  byKind: Record<string, number>;
}

/** Where a sample's outcomes (first to last) lie against a window: the one edge rule every count here uses. */
function placement(sample: { firstAt: number; lastAt: number }, { from, to }: TimeWindow): 'inside' | 'straddling' | 'outside' {
  if (sample.lastAt < from || sample.firstAt >= to) return 'outside';
  return sample.firstAt >= from && sample.lastAt < to ? 'inside' : 'straddling';
}

/**
 * Errors per window (during a rollout, after a kill…), from error samples. A sample covers one
 * bucket, and inside it errors are only known by their first and last time, so a sample whose span
 * crosses a window edge is reported as straddling rather than split by a guess.
 */
export function errorsPerWindow(samples: Iterable<ErrorSample>, windows: readonly TimeWindow[]): WindowErrors[] {
  const result = windows.map((window) => ({ window, errors: 0, straddling: 0, byKind: {} as Record<string, number> }));
  for (const sample of samples) {
    for (const entry of result) {
      const where = placement(sample, entry.window);
      if (where === 'inside') {
        entry.errors += sample.count;
        entry.byKind[sample.errorKind] = (entry.byKind[sample.errorKind] ?? 0) + sample.count;
      } else if (where === 'straddling') {
        entry.straddling += sample.count;
      }
    }
  }
  return result;
}

/**
 * Windows around chaos actions: `during:<action>:<id>` from start to end, and
 * `after:<action>:<id>` from end for `afterMs`.
 */
export function chaosWindows(events: Iterable<TimelineEvent>, afterMs: number): TimeWindow[] {
  const starts = new Map<string, ChaosStart>();
  const windows: TimeWindow[] = [];
  for (const event of events) {
    if (event.kind === 'chaos-start') starts.set(event.id, event);
    else if (event.kind === 'chaos-end') {
      const start = starts.get(event.id);
      const end: ChaosEnd = event;
      if (start) windows.push({ name: `during:${start.action}:${start.id}`, from: start.t, to: end.t });
      windows.push({ name: `after:${end.action}:${end.id}`, from: end.t, to: end.t + afterMs });
    }
  }
  return windows;
}

/** Request outcomes that ended inside some window: answered without an error status, or failed. */
export interface ServedWithin {
  ok: number;
  failed: number;
  /** Outcomes of samples that cross a window edge: left out of both counts rather than split by a guess. */
  straddling: number;
}

/**
 * How requests fared inside the windows (while a fault was in force): a sample counts when its
 * first and last outcome both fall inside one window. Responses with an error status are in both
 * kinds of sample; they count once, as failed.
 */
export function servedWithin(requests: Iterable<RequestSample>, errors: Iterable<ErrorSample>, windows: readonly TimeWindow[]): ServedWithin {
  const result: ServedWithin = { ok: 0, failed: 0, straddling: 0 };
  // Inside one window wins; else crossing any window's edge; windows may overlap (faults at once).
  const place = (sample: { firstAt: number; lastAt: number }) => {
    const each = windows.map((window) => placement(sample, window));
    return each.includes('inside') ? 'inside' : each.includes('straddling') ? 'straddling' : 'outside';
  };
  for (const sample of requests) {
    const where = place(sample);
    if (where === 'inside') result.ok += sample.requests - sample.errors;
    else if (where === 'straddling') result.straddling += sample.requests - sample.errors;
  }
  for (const sample of errors) {
    const where = place(sample);
    if (where === 'inside') result.failed += sample.count;
    else if (where === 'straddling') result.straddling += sample.count;
  }
  return result;
}
