import type { CheckResult, RunReport } from '../report/model.ts';
import { generatorPath, parseExpect } from './scenario.ts';
import type { CheckSpec } from './types.ts';

/**
 * The number at a dotted path of a run report (`metrics.chiSquareP`, `loads.short.errors.total`),
 * or of one load generator's row (`generators.<load>.<number>.<field>`, numbered from 1).
 */
export function valueAt(run: RunReport, path: string): number | null {
  const perGenerator = generatorPath.exec(path);
  let value: unknown = run;
  if (perGenerator) {
    const [, load, number, field] = perGenerator as unknown as [string, string, string, string];
    value = run.generators?.find((row) => row.load === load && row.generator === Number(number));
    path = field;
  }
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return null;
    value = (value as Record<string, unknown>)[part];
  }
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

const compare: Record<string, (a: number, b: number) => boolean> = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
  '==': (a, b) => a === b,
  '!=': (a, b) => a !== b,
};

/** Evaluates the checks that apply to this run's variant. A value that cannot be found fails, saying so. */
export function evaluateChecks(run: RunReport, checks: readonly CheckSpec[]): CheckResult[] {
  return checks
    .filter((check) => !check.variants || check.variants.includes(run.variant))
    .map((check) => {
      const { path, op, threshold } = parseExpect(check.expect);
      const value = valueAt(run, path);
      if (value === null) return { name: check.name, expect: check.expect, pass: false, value: null, threshold, note: `${path} was not measured in this run` };
      const pass = compare[op]!(value, threshold);
      return { name: check.name, expect: check.expect, pass, value, threshold, ...(pass ? {} : { note: `${path} = ${value}, wanted ${op} ${threshold}` }) };
    });
}
