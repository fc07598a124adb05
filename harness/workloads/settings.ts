import { z } from 'zod';
import { toMs } from '../core/duration.ts';
import { badInput, HarnessError } from '../core/errors.ts';

/**
 * One server setting as users meet it: a label in messages, a CLI flag and an environment
 * variable. The same table builds the zod schema (so programmatic callers get the same messages)
 * and the commander options (so every setting is both a flag and an env var).
 */
export interface SettingSpec {
  /** Words used in error messages: "keep-alive timeout". */
  readonly label: string;
  /** The CLI flag: `--keepalive-timeout`. Boolean settings that default to true use `--no-…`. */
  readonly flag: string;
  readonly env: string;
  /** Placeholder shown in --help (`<duration>`); empty for boolean flags. */
  readonly value: string;
  readonly description: string;
}

export type SettingTable = Readonly<Record<string, SettingSpec>>;

/** Both servers' last setting: where to leave the final counters on exit (final-counters.ts). */
export const terminationLogSpec = {
  label: 'termination log',
  flag: '--termination-log',
  env: 'KTH_TERMINATION_LOG',
  value: '<path>',
  description: "on exit, write the final counters (JSON) to this file: the container's terminationMessagePath; unset = do not",
} as const satisfies SettingSpec;

function fixText(spec: SettingSpec, expectation: string): string {
  return spec.value === '' ? `set ${spec.env} to ${expectation}` : `set ${spec.env}/${spec.flag} to ${expectation}`;
}

function shown(value: unknown): string {
  // Numbers typed as text (flags and env values always are) read better unquoted: "-1 is negative".
  return typeof value === 'string' && !/^-?\d+(\.\d+)?$/.test(value) ? `'${value}'` : String(value);
}

type Ctx = z.core.$RefinementCtx<unknown>;

function reject(ctx: Ctx, spec: SettingSpec, value: unknown, problem: string, expectation: string): never {
  ctx.addIssue({ code: 'custom', message: `${spec.label}: ${shown(value)} ${problem}; ${fixText(spec, expectation)}` });
  return z.NEVER as never;
}

/**
 * A duration that is 0 (off) or at least `ms`: where one of the two server implementations cannot
 * go lower, both refuse rather than one silently rounding up (the contract suite holds them to it).
 */
export interface DurationFloor {
  ms: number;
  /** What 0 means, and why the floor: "0 (no pings) or ≥ 1s (grpc-go …)". */
  expectation: string;
}

/** Milliseconds from a number, a numeric string ('5000') or a duration string ('5s'). */
export function durationSetting(spec: SettingSpec, defaultMs: number, floor?: DurationFloor) {
  return z.unknown().optional().transform((value, ctx): number => {
    const ms = parseDurationValue(ctx, spec, value, defaultMs);
    if (floor && ms > 0 && ms < floor.ms) return reject(ctx, spec, value, `is below ${floor.ms / 1000}s`, floor.expectation);
    return ms;
  });
}

function parseDurationValue(ctx: Ctx, spec: SettingSpec, value: unknown, defaultMs: number): number {
  if (value === undefined || value === '') return defaultMs;
  const text = typeof value === 'string' ? value.trim() : value;
  if (typeof text === 'number' || (typeof text === 'string' && /^-?\d+(\.\d+)?$/.test(text))) {
    const ms = Number(text);
    if (!Number.isFinite(ms)) return reject(ctx, spec, value, 'is not a number', 'milliseconds or a duration such as 500ms, 5s, 2m');
    if (ms < 0) return reject(ctx, spec, value, 'is negative', '≥ 0');
    return ms;
  }
  if (typeof text === 'string' && /^-/.test(text)) return reject(ctx, spec, value, 'is negative', '≥ 0');
  try {
    return toMs(String(text), spec.label);
  } catch (error) {
    if (!(error instanceof HarnessError)) throw error;
    return reject(ctx, spec, value, 'is not a duration', 'milliseconds or a duration such as 500ms, 5s, 2m');
  }
}

/** A whole number within [min, max]. */
export function integerSetting(spec: SettingSpec, defaultValue: number, min = 0, max = Number.MAX_SAFE_INTEGER) {
  const range = max === Number.MAX_SAFE_INTEGER ? `a whole number ≥ ${min}` : `a whole number from ${min} to ${max}`;
  return z.unknown().optional().transform((value, ctx): number => {
    if (value === undefined || value === '') return defaultValue;
    const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
    if (Number.isNaN(n)) return reject(ctx, spec, value, 'is not a number', range);
    if (!Number.isInteger(n)) return reject(ctx, spec, value, 'is not a whole number', range);
    if (n < min) return reject(ctx, spec, value, min === 0 ? 'is negative' : `is below ${min}`, range);
    if (n > max) return reject(ctx, spec, value, `is above ${max}`, range);
    return n;
  });
}

export function portSetting(spec: SettingSpec, defaultPort: number) {
  return integerSetting(spec, defaultPort, 0, 65_535);
}

/** A fraction from 0 to 1 (an error rate). */
export function ratioSetting(spec: SettingSpec, defaultValue: number) {
  return z.unknown().optional().transform((value, ctx): number => {
    if (value === undefined || value === '') return defaultValue;
    const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
    if (Number.isNaN(n)) return reject(ctx, spec, value, 'is not a number', 'a fraction from 0 to 1, e.g. 0.05');
    if (n < 0 || n > 1) return reject(ctx, spec, value, 'is outside 0..1', 'a fraction from 0 to 1, e.g. 0.05');
    return n;
  });
}

const truthy = new Set(['true', '1', 'yes', 'on']);
const falsy = new Set(['false', '0', 'no', 'off']);

export function booleanSetting(spec: SettingSpec, defaultValue: boolean) {
  return z.unknown().optional().transform((value, ctx): boolean => {
    if (value === undefined || value === '') return defaultValue;
    if (typeof value === 'boolean') return value;
    const text = String(value).trim().toLowerCase();
    if (truthy.has(text)) return true;
    if (falsy.has(text)) return false;
    return reject(ctx, spec, value, 'is not true or false', spec.value === '' ? `true or false (or pass ${spec.flag})` : 'true or false');
  });
}

export function textSetting(spec: SettingSpec, defaultValue: () => string, options: { allowEmpty?: boolean } = {}) {
  return z.unknown().optional().transform((value, ctx): string => {
    if (value === undefined) return defaultValue();
    if (typeof value !== 'string') return reject(ctx, spec, value, 'is not text', 'a string');
    if (value.trim() === '' && !options.allowEmpty) return reject(ctx, spec, value, 'is empty', 'a non-empty value');
    return value.trim();
  });
}

/**
 * Validates settings with every problem reported at once; each message names the setting, its
 * flag and env var, and what to set it to. Unknown keys are refused so a typo does not pass silently.
 */
export function parseSettings<S extends z.ZodType>(schema: S, table: SettingTable, input: unknown, component: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const messages = result.error.issues.map((issue) =>
    issue.code === 'unrecognized_keys' ? `unknown ${component} setting(s): ${issue.keys.join(', ')}` : issue.message,
  );
  const where = result.error.issues
    .map((issue) => table[String(issue.path[0])]?.flag)
    .filter((flag): flag is string => flag !== undefined);
  throw badInput(messages.join('\n'), { where: where.length > 0 ? where.join(', ') : `${component} settings` });
}

/**
 * Raw values for a setting table from parsed CLI flags and the environment: a flag given on the
 * command line wins over the env var; defaults stay with the schema.
 */
export function rawSettings(
  table: SettingTable,
  flagValue: (key: string, spec: SettingSpec) => unknown,
  env: NodeJS.ProcessEnv = process.env,
): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(table)) {
    const fromFlag = flagValue(key, spec);
    const value = fromFlag !== undefined ? fromFlag : env[spec.env];
    if (value !== undefined) raw[key] = value;
  }
  return raw;
}
