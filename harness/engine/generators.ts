import { changesDuringRun, type EndpointTransition, propagationLag } from '../analysis/propagation.ts';
import type { RequestSample } from '../recorder/events.ts';
import type { RunSummary } from '../analysis/run-summary.ts';
import type { ClockOffset } from '../load/clock-offset.ts';
import type { GeneratorClock, GeneratorRow } from '../report/model.ts';

/** What `kth load --json` prints, with what a generator adds to it (--start-at, --clock-ref). */
export type GeneratorSummary = RunSummary & {
  startedAt?: { epochMs: number; lateMs: number };
  schedule?: { sent: number; dropped: number };
  clock?: ClockOffset | { reference: string; error: string };
};

/**
 * Distributed load: where the client pods go, and what each generator delivered. A load with N
 * generators runs N times at once, each from its own client pod; spreading those pods over nodes
 * makes every node's proxy take part (the way k6-operator spreads k6 runners).
 */

/**
 * Nodes for `count` client pods: off the nodes a fault aims at, one per node while there are
 * enough, then round again. One client and no fault: no constraint (the scheduler picks).
 */
export function clientNodes(nodes: readonly string[], faulted: ReadonlySet<number>, count: number): (string | undefined)[] {
  const usable = nodes.filter((_, i) => !faulted.has(i + 1));
  if (count <= 1) return [faulted.size > 0 ? usable[0] : undefined];
  return Array.from({ length: count }, (_, i) => usable[i % usable.length]);
}

/** The client pod of generator `index` (0-based): the first is `client`, as a run without generators has it. */
export const clientName = (index: number): string => (index === 0 ? 'client' : `client-${index + 1}`);

/** A generator's share of the events files: the first keeps the load's own name. */
export const generatorLoadName = (load: string, index: number): string => (index === 0 ? load : `${load}.g${index + 1}`);

/** Local generators start this long before their shared start time: a Node.js CLI takes ~1 s to be ready. */
export const GENERATOR_LEAD_MS = 3000;

/** Below this fraction of its schedule a generator is named as having fallen behind. */
export const BEHIND_FRACTION = 0.95;

/** One generator's row: where it ran and what it delivered against its own schedule. */
export function generatorRow(options: {
  load: string;
  index: number;
  node: string;
  durationMs: number;
  /** Requests per second the load asks of each generator (open model), or undefined (closed model). */
  rate: number | undefined;
  summary: GeneratorSummary | undefined;
  problem?: string;
  /** The pod whose clock the generators were compared with (--clock-ref). */
  clockReference?: string;
}): GeneratorRow {
  const { summary } = options;
  const base = { load: options.load, generator: options.index + 1, node: options.node };
  if (!summary) return { ...base, sent: 0, requests: 0, errors: 0, dropped: 0, ratePerSecond: 0, p99Ms: null, startedLateMs: null, status: 'failed', note: options.problem ?? 'printed no result' };
  const sent = summary.schedule?.sent ?? summary.load.sent;
  const dropped = summary.schedule?.dropped ?? summary.totals.dropped;
  const ratePerSecond = sent / Math.max(0.001, options.durationMs / 1000);
  const behind = options.rate !== undefined && (dropped > 0 || ratePerSecond < options.rate * BEHIND_FRACTION);
  return {
    ...base,
    sent,
    requests: summary.totals.requests,
    errors: summary.totals.errors,
    dropped,
    ratePerSecond,
    p99Ms: summary.latencyMs.p99,
    startedLateMs: summary.startedAt?.lateMs ?? null,
    ...(options.clockReference ? { clock: generatorClock(options.clockReference, summary.clock) } : {}),
    status: options.problem ? 'failed' : behind ? 'behind' : 'ok',
    ...(options.problem ? { note: options.problem } : behind ? { note: `delivered ${ratePerSecond.toFixed(1)}/s of ${options.rate}/s${dropped > 0 ? `, ${dropped} dropped for want of a free connection` : ''}` } : {}),
  };
}

function generatorClock(reference: string, measured: GeneratorSummary['clock']): GeneratorClock {
  if (!measured) return { reference, offsetMs: null, uncertaintyMs: null, startAfterFirstMs: null, note: 'the generator printed no clock measurement' };
  if ('error' in measured) return { reference, offsetMs: null, uncertaintyMs: null, startAfterFirstMs: null, note: measured.error };
  return { reference, offsetMs: measured.offsetMs, uncertaintyMs: measured.uncertaintyMs, startAfterFirstMs: null };
}

/**
 * Puts one load's generators' starts on the reference clock (their own start time plus their
 * offset) and fills each row's startAfterFirstMs: how long after the earliest it began. `starts`
 * are the generators' own-clock start times, in the rows' order.
 */
export function startsOnOneClock(rows: readonly GeneratorRow[], starts: readonly (number | undefined)[]): GeneratorRow[] {
  const onReference = rows.map((row, i) => (row.clock?.offsetMs != null && starts[i] !== undefined ? (starts[i] as number) + row.clock.offsetMs : undefined));
  const known = onReference.filter((t): t is number => t !== undefined);
  if (known.length === 0) return [...rows];
  const first = Math.min(...known);
  return rows.map((row, i) => (row.clock && onReference[i] !== undefined ? { ...row, clock: { ...row.clock, startAfterFirstMs: (onReference[i] as number) - first } } : row));
}

/**
 * Each generator's own view of the endpoint changes during the run: its node's proxy routed its
 * requests, so a stalled kube-proxy shows on the generators of its node only. `transitions` as the
 * run measured them, the initial ones included; a field only for the kind of change that happened.
 */
export function followedEndpoints(rows: readonly GeneratorRow[], transitions: readonly EndpointTransition[], samplesOf: (row: GeneratorRow) => readonly RequestSample[]): GeneratorRow[] {
  const during = changesDuringRun(transitions);
  const joined = during.some((transition) => transition.change === 'added');
  const left = during.some((transition) => transition.change === 'removed');
  if (!joined && !left) return [...rows];
  return rows.map((row) => {
    const own = propagationLag(transitions, samplesOf(row), { ignoreInitial: true });
    return { ...row, ...(joined ? { propagationLagMs: own.maxAddedLagMs } : {}), ...(left ? { trafficAfterRemovalMs: own.maxRemovedLagMs } : {}) };
  });
}
