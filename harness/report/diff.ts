import { escapeMarkdown, markdownCode } from './escape.ts';
import { formatMs, formatNumber, formatP, runLabel } from './format.ts';
import { markdownTable } from './markdown-table.ts';
import type { RunStatus } from './model.ts';
import type { DiffableReport } from './schema.ts';

/**
 * Two reports compared run by run, matched on (proxyMode, variant). A regression is a check that
 * passed in `a` and fails in `b`; metric deltas are shown for reading, never judged on their own
 * (the checks carry the thresholds).
 */

type Run = DiffableReport['runs'][number];

export type MetricName = 'jainIndex' | 'chiSquareP' | 'maxMinRatio' | 'errorsTotal' | 'p50Ms' | 'p99Ms' | 'rebalanceSeconds';

export interface MetricDelta {
  metric: MetricName;
  a: number | null;
  b: number | null;
  /** b − a; null when either side is missing (or a pod starved: the ratio is infinite). */
  delta: number | null;
  /** Which way the change goes for this metric; null when it cannot be said. */
  trend: 'better' | 'worse' | 'same' | null;
  note?: string;
}

export type CheckChange = 'regressed' | 'fixed' | 'still-passing' | 'still-failing' | 'added' | 'removed';

export interface CheckDiff {
  name: string;
  /** pass in a / b; null when the check is absent on that side. */
  a: boolean | null;
  b: boolean | null;
  valueA: number | null;
  valueB: number | null;
  change: CheckChange;
}

export interface RunDiff {
  proxyMode: string;
  variant: string;
  /** Null when the run is absent from that report. */
  statusA: RunStatus | null;
  statusB: RunStatus | null;
  metrics: MetricDelta[];
  checks: CheckDiff[];
}

export interface ReportDiff {
  a: { runId: string; scenario: string };
  b: { runId: string; scenario: string };
  runs: RunDiff[];
  /** Every check that passed in a and fails in b; non-empty means exit code 1. */
  regressions: { run: string; check: string }[];
}

interface MetricDef {
  metric: MetricName;
  label: string;
  higherIsBetter: boolean;
  get: (run: Run) => number | null | undefined;
  format: (value: number | null) => string;
}

const metricDefs: MetricDef[] = [
  { metric: 'jainIndex', label: 'Jain index', higherIsBetter: true, get: (r) => r.metrics?.jainIndex, format: formatNumber },
  { metric: 'chiSquareP', label: 'χ² p', higherIsBetter: true, get: (r) => r.metrics?.chiSquareP, format: formatP },
  { metric: 'maxMinRatio', label: 'max/min', higherIsBetter: false, get: (r) => r.metrics?.maxMinRatio, format: formatNumber },
  { metric: 'errorsTotal', label: 'errors', higherIsBetter: false, get: (r) => r.errors?.total, format: formatNumber },
  { metric: 'p50Ms', label: 'p50', higherIsBetter: false, get: (r) => r.latencyMs?.p50, format: formatMs },
  { metric: 'p99Ms', label: 'p99', higherIsBetter: false, get: (r) => r.latencyMs?.p99, format: formatMs },
  { metric: 'rebalanceSeconds', label: 'rebalance (s)', higherIsBetter: false, get: (r) => r.metrics?.rebalanceSeconds, format: formatNumber },
];

const keyOf = (run: Pick<Run, 'proxyMode' | 'variant'>) => `${run.proxyMode}\u0000${run.variant}`;

export function diffReports(a: DiffableReport, b: DiffableReport): ReportDiff {
  const runsB = new Map(b.runs.map((run) => [keyOf(run), run]));
  const runsA = new Map(a.runs.map((run) => [keyOf(run), run]));
  const runs: RunDiff[] = [];
  for (const runA of a.runs) runs.push(diffRun(runA, runsB.get(keyOf(runA))));
  for (const runB of b.runs) if (!runsA.has(keyOf(runB))) runs.push(diffRun(undefined, runB));
  const regressions = runs.flatMap((run) => run.checks.filter((c) => c.change === 'regressed').map((c) => ({ run: runLabel(run), check: c.name })));
  return { a: { runId: a.runId, scenario: a.scenario.name }, b: { runId: b.runId, scenario: b.scenario.name }, runs, regressions };
}

function diffRun(a: Run | undefined, b: Run | undefined): RunDiff {
  const run = (a ?? b)!;
  const metrics = a && b ? metricDefs.map((def) => metricDelta(def, a, b)).filter((m) => m.a !== null || m.b !== null || m.note) : [];
  return { proxyMode: run.proxyMode, variant: run.variant, statusA: a?.status ?? null, statusB: b?.status ?? null, metrics, checks: diffChecks(a?.checks ?? [], b?.checks ?? []) };
}

function metricDelta(def: MetricDef, runA: Run, runB: Run): MetricDelta {
  const a = def.get(runA) ?? null;
  const b = def.get(runB) ?? null;
  const out: MetricDelta = { metric: def.metric, a, b, delta: a !== null && b !== null ? b - a : null, trend: null };
  // max/min is null when a pod got nothing: compare it as infinite, the worst possible spread.
  const starved = (run: Run) => (def.metric === 'maxMinRatio' && run.metrics?.maxMinRatio === null && (run.metrics.starvedPods?.length ?? 0) > 0 ? run.metrics.starvedPods! : null);
  const starvedA = starved(runA);
  const starvedB = starved(runB);
  const comparableA = starvedA ? Infinity : a;
  const comparableB = starvedB ? Infinity : b;
  if (starvedA || starvedB) out.note = [starvedA && `starved in a: ${starvedA.join(', ')}`, starvedB && `starved in b: ${starvedB.join(', ')}`].filter(Boolean).join('; ');
  if (comparableA !== null && comparableB !== null) {
    if (comparableA === comparableB || Math.abs(comparableB - comparableA) < 1e-12) out.trend = 'same';
    else out.trend = comparableB > comparableA === def.higherIsBetter ? 'better' : 'worse';
  }
  return out;
}

function diffChecks(a: Run['checks'], b: Run['checks']): CheckDiff[] {
  // Names are unique in practice; numbering repeats keeps a duplicate from hiding the other.
  const keyed = (checks: Run['checks']) => {
    const seen = new Map<string, number>();
    return new Map(
      checks.map((check) => {
        const n = (seen.get(check.name) ?? 0) + 1;
        seen.set(check.name, n);
        return [n === 1 ? check.name : `${check.name} #${n}`, check] as const;
      }),
    );
  };
  const byA = keyed(a);
  const byB = keyed(b);
  const names = [...new Set([...byA.keys(), ...byB.keys()])];
  return names.map((name) => {
    const ca = byA.get(name);
    const cb = byB.get(name);
    const change: CheckChange = !ca ? 'added' : !cb ? 'removed' : ca.pass && !cb.pass ? 'regressed' : !ca.pass && cb.pass ? 'fixed' : ca.pass ? 'still-passing' : 'still-failing';
    return { name, a: ca?.pass ?? null, b: cb?.pass ?? null, valueA: ca?.value ?? null, valueB: cb?.value ?? null, change };
  });
}

/** The diff for people: a section per run, metric and check tables, regressions last (Markdown). */
export function renderDiff(diff: ReportDiff): string {
  const lines = [`# kth report diff: ${escapeMarkdown(diff.a.scenario)}`, '', `a: ${markdownCode(diff.a.runId)} → b: ${markdownCode(diff.b.runId)}`];
  if (diff.a.scenario !== diff.b.scenario) lines.push('', `> note: different scenarios (a: ${escapeMarkdown(diff.a.scenario)}, b: ${escapeMarkdown(diff.b.scenario)})`);
  const status = (s: RunStatus | null) => s ?? 'absent';
  for (const run of diff.runs) {
    lines.push('', `## ${escapeMarkdown(runLabel(run))} (${status(run.statusA)} → ${status(run.statusB)})`, '');
    if (run.metrics.length > 0) {
      const rows = run.metrics.map((m) => {
        const def = metricDefs.find((d) => d.metric === m.metric)!;
        // A delta is a plain signed number (a p-value's exponent form would misread for negatives); ms stay ms.
        const formatDelta = def.format === formatMs ? formatMs : formatNumber;
        const delta = m.delta === null ? '' : `${m.delta > 0 ? '+' : ''}${formatDelta(m.delta)}`;
        return [def.label, def.format(m.a), def.format(m.b), delta, `${m.trend ?? ''}${m.note ? ` (${escapeMarkdown(m.note)})` : ''}`];
      });
      lines.push(markdownTable(['metric', 'a', 'b', 'Δ', ''], rows, ['l', 'r', 'r', 'r', 'l']), '');
    }
    if (run.checks.length > 0) {
      const side = (pass: boolean | null, value: number | null) => (pass === null ? 'absent' : `${pass ? 'pass' : 'fail'} (${formatNumber(value)})`);
      const rows = run.checks.map((c) => [escapeMarkdown(c.name), side(c.a, c.valueA), side(c.b, c.valueB), c.change === 'regressed' ? '**REGRESSED**' : c.change]);
      lines.push(markdownTable(['check', 'a', 'b', 'change'], rows));
    }
  }
  lines.push(
    '',
    diff.regressions.length === 0
      ? 'No check regressed.'
      : `${diff.regressions.length} check${diff.regressions.length === 1 ? '' : 's'} regressed: ${diff.regressions.map((r) => `${escapeMarkdown(r.run)} ${escapeMarkdown(r.check)}`).join(', ')}`,
  );
  return `${lines.join('\n')}\n`;
}
