import type { RunReport, RunStatus } from './model.ts';

/**
 * How numbers read in every report format, in one place, so summary.md, index.html, junit.xml and
 * the diff never disagree on what a value looks like.
 */

/** Shown for a value that was not measured (null/undefined in the model). */
export const missing = '—';

/** A plain number: integers as they are, others to 4 significant digits. */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return missing;
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '-∞';
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(4)));
}

/** A share (0..1) as a percentage with one decimal. */
export function formatShare(share: number | null | undefined): string {
  return share === null || share === undefined ? missing : `${(share * 100).toFixed(1)}%`;
}

/** Milliseconds with precision that matches their size (HdrHistogram keeps 3 significant digits). */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return missing;
  const size = Math.abs(ms);
  const digits = size < 10 ? 2 : size < 100 ? 1 : 0;
  return `${ms.toFixed(digits)} ms`;
}

/** A p-value: small ones in exponent form so "0.000" never hides how small it is. */
export function formatP(p: number | null | undefined): string {
  if (p === null || p === undefined) return missing;
  if (p !== 0 && p < 0.001) return p.toExponential(1);
  return p.toFixed(3);
}

/** A timeline offset (ms from the run's start) in seconds. */
export function formatOffset(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** max/min per-pod requests; null with starved pods means a pod got nothing (ratio is infinite). */
export function formatMaxMin(run: Pick<RunReport, 'metrics'>): string {
  const metrics = run.metrics;
  if (!metrics) return missing;
  if (metrics.maxMinRatio === null && metrics.starvedPods.length > 0) return `∞ (${metrics.starvedPods.length} starved)`;
  return formatNumber(metrics.maxMinRatio);
}

/** (proxy mode × variant), the name of a run everywhere. */
export function runLabel(run: Pick<RunReport, 'proxyMode' | 'variant'>): string {
  return `${run.proxyMode}/${run.variant}`;
}

/**
 * A mark plus the word, so status never relies on the emoji (or colour) alone. For Markdown and
 * terminals, which render emoji; index.html draws its own marks (html.ts statusBadge) so it needs no emoji font.
 */
export function statusText(status: RunStatus): string {
  const marks: Record<RunStatus, string> = { passed: '✅', failed: '❌', error: '❌', unsupported: '⏭️' };
  return `${marks[status]} ${status}`;
}
