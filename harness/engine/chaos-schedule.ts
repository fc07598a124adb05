import type { TimelineEntry } from '../report/model.ts';
import { type ChaosOutcome, type ChaosTarget, performChaos, undoneBy } from './chaos.ts';
import { sleepUntil } from './sleep-until.ts';
import type { ChaosSpec } from './types.ts';

export interface ChaosSchedule {
  /** Every action performed (or the run aborted); when each scale happened, for rebalance timing. */
  done: Promise<{ scales: { atEpochMs: number; replicas: number }[] }>;
  /** Undoes every lasting fault still in force; call when the run ends, however it ends. */
  undoAll(): Promise<void>;
  /**
   * When each lasting fault was in force: from the moment its action had taken effect until its
   * undo began (its duration ended, a later action ended it, or the run did). Complete once
   * undoAll has returned.
   */
  faultSpans(): FaultSpan[];
}

/** A lasting fault (node down, network fault, paused kube-proxy, …) in force over [fromEpochMs, toEpochMs). */
export interface FaultSpan {
  action: ChaosSpec['action'];
  fromEpochMs: number;
  toEpochMs: number;
}

/** A fault in force: what it was, since when (epoch ms), how to undo it, and its pending undo. */
interface LastingFault {
  action: ChaosSpec['action'];
  since: number;
  undo: NonNullable<ChaosOutcome['undo']>;
  timer?: NodeJS.Timeout;
  done?: Promise<void>;
}

/**
 * Plays a run's chaos on its clock (t0 = the loads' start) and keeps its lasting faults — a paused
 * kube-proxy, a node down, a cordoned node — until their `duration` ends, a later action undoes
 * them (node-up, node-uncordon), or the run ends: no fault outlives its run. Every action and
 * every undo lands on the timeline (chaos-start / chaos-end).
 */
export function scheduleChaos(chaos: readonly { spec: ChaosSpec; atMs: number }[], target: ChaosTarget, clock: { t0: number; timeline: TimelineEntry[]; signal?: AbortSignal; log: (line: string) => void }): ChaosSchedule {
  const { t0, timeline } = clock;
  const lasting = new Map<string, LastingFault>();
  const spans: FaultSpan[] = [];
  const ended = (entry: LastingFault, at: number) => void spans.push({ action: entry.action, fromEpochMs: entry.since, toEpochMs: at });
  const undo = (key: string, why: string): Promise<void> => {
    const entry = lasting.get(key);
    if (!entry) return Promise.resolve();
    clearTimeout(entry.timer);
    if (!entry.done) ended(entry, Date.now());
    entry.done ??= entry.undo().then(
      (detail) => void timeline.push({ t: Date.now() - t0, kind: 'chaos-end', detail: `${detail} (${why})` }),
      (error: Error) => void timeline.push({ t: Date.now() - t0, kind: 'chaos-end', detail: `FAILED to undo ${key}: ${error.message}` }),
    ).finally(() => lasting.delete(key));
    return entry.done;
  };

  const done = (async () => {
    const scales: { atEpochMs: number; replicas: number }[] = [];
    for (const [index, { spec, atMs }] of [...chaos].sort((a, b) => a.atMs - b.atMs).entries()) {
      await sleepUntil(t0 + atMs, clock.signal);
      if (clock.signal?.aborted) break;
      const start = Date.now();
      timeline.push({ t: start - t0, kind: 'chaos-start', detail: spec.action });
      const ends = undoneBy(spec);
      if (ends) {
        // This action is the undo: the fault it ends was in force until now.
        const key = `${ends.undoes}@${ends.node}`;
        const entry = lasting.get(key);
        if (entry && !entry.done) ended(entry, start);
        lasting.delete(key);
      }
      const outcome = await performChaos(target, spec).catch((error: Error): ChaosOutcome => ({ detail: `FAILED: ${error.message}` }));
      timeline.push({ t: Date.now() - t0, kind: 'chaos-end', detail: outcome.detail });
      clock.log(`chaos at ${((start - t0) / 1000).toFixed(1)} s: ${outcome.detail}`);
      if (outcome.undo) {
        const durationMs = 'duration' in spec && spec.duration !== undefined ? Number(spec.duration) : undefined;
        // Open-ended node faults are keyed by node, so the action that ends them finds them.
        const key = 'node' in spec && typeof spec.node === 'number' && durationMs === undefined ? `${spec.action}@${spec.node}` : `${spec.action}#${index}`;
        const entry: LastingFault = { action: spec.action, since: Date.now(), undo: outcome.undo };
        lasting.set(key, entry);
        if (durationMs !== undefined) entry.timer = setTimeout(() => void undo(key, `after ${(durationMs / 1000).toFixed(1)} s`), Math.max(0, start + durationMs - Date.now()));
      }
      if (spec.action === 'scale') scales.push({ atEpochMs: start, replicas: spec.replicas });
    }
    return { scales };
  })();

  return {
    done,
    async undoAll() {
      await done.catch(() => {});
      await Promise.all([...lasting.keys()].map((key) => undo(key, 'the run ended')));
    },
    faultSpans: () => [...spans].sort((a, b) => a.fromEpochMs - b.fromEpochMs),
  };
}
