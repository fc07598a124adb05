import { badInput } from './errors.ts';

/** A duration as users write it: milliseconds as a number, or a string such as '30s', '500ms', '2m'. */
export type Duration = number | `${number}${DurationUnit}`;
type DurationUnit = 'ms' | 's' | 'm' | 'h';

const unitMs: Record<DurationUnit, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a duration into milliseconds; `where` names the setting in the error. */
export function toMs(value: Duration | string, where = 'duration'): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw badInput(`${where}: ${value} is not a non-negative duration`, { where, hint: "write milliseconds as a number, or a string like '500ms', '30s', '2m'" });
    return value;
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(value);
  if (!match) {
    throw badInput(`${where}: '${value}' is not a duration`, { where, hint: "write a number with a unit: '500ms', '30s', '2m', '1h'" });
  }
  return Number(match[1]) * unitMs[match[2] as DurationUnit];
}

/** Human form of milliseconds, for progress lines and reports. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m${Math.round((ms % 60_000) / 1000)}s`;
}
