import gammainc from '@stdlib/math-base-special-gammainc';
import { TOO_EVEN_P, tooEvenText } from './evenness.ts';

/** One category's count and its share of the total. */
export interface Share {
  name: string;
  count: number;
  /** count / total; 0 when the total is 0. */
  share: number;
}

/** Shares of a total, in the order given (pods with 0 count stay in: they matter for fairness). */
export function shares(counts: ReadonlyMap<string, number> | Readonly<Record<string, number>>): Share[] {
  const entries = counts instanceof Map ? [...counts.entries()] : Object.entries(counts);
  const total = entries.reduce((sum, [, count]) => sum + count, 0);
  return entries.map(([name, count]) => ({ name, count, share: total === 0 ? 0 : count / total }));
}

/**
 * Jain's fairness index: (Σx)² / (n·Σx²). 1 when every value is equal, 1/n when one value holds
 * everything. Null for no values or all zeros (undefined: nothing was shared).
 */
export function jainIndex(values: readonly number[]): number | null {
  const n = values.length;
  if (n === 0) return null;
  let sum = 0;
  let squares = 0;
  for (const value of values) {
    sum += value;
    squares += value * value;
  }
  if (squares === 0) return null;
  return (sum * sum) / (n * squares);
}

/**
 * Largest over smallest value. Infinity when some value is 0 and another is not (a pod starved —
 * JSON.stringify writes it as null, so reports must say "starved" rather than print the number).
 * Null for no values or all zeros.
 */
export function maxMinRatio(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const max = Math.max(...values);
  const min = Math.min(...values);
  if (max === 0) return null;
  return min === 0 ? Infinity : max / min;
}

/** What was counted: independent TCP connections, or requests (independent only on short-lived connections). */
export type SamplingUnit = 'connections' | 'requests';

export interface ChiSquareResult {
  unit: SamplingUnit;
  /** Total observations (Σ observed). */
  n: number;
  /** Σ (O − E)² / E over categories with E > 0. */
  statistic: number;
  degreesOfFreedom: number;
  /**
   * P(χ²(df) ≥ statistic): the chance of a spread at least this uneven if traffic followed the
   * expected shares. Small (< 0.01) means "not what the expected shares would give". Null when the
   * test cannot be computed (fewer than 2 categories, or no observations).
   */
  pValue: number | null;
  /**
   * P(χ²(df) ≤ statistic): the chance of a spread at most this uneven. Tiny (< TOO_EVEN_P) means
   * more even than independent random picks give — what a round-robin (IPVS rr) produces on
   * short-lived connections. Null when pValue is.
   */
  lowerPValue: number | null;
  /** Expected counts, in category order. */
  expected: number[];
  /**
   * False when some expected count is below 5: the χ² approximation is then unreliable (say so
   * next to the p-value rather than hide it).
   */
  valid: boolean;
  note: string;
}

/**
 * Pearson's chi-square goodness-of-fit test of `observed` counts against expected shares (fair:
 * 1/k each, when `expectedShares` is omitted). The p-value is the regularized upper incomplete
 * gamma Q(df/2, χ²/2), computed directly (not 1 − CDF) so tiny p-values keep their precision.
 *
 * Requests on one persistent connection all go to the same pod, so they are not independent
 * samples: when connections are long-lived, count connections (unit 'connections').
 */
export function chiSquareTest(observed: readonly number[], unit: SamplingUnit, expectedShares?: readonly number[]): ChiSquareResult {
  const k = observed.length;
  const n = observed.reduce((sum, count) => sum + count, 0);
  const fair = Array.from({ length: k }, () => 1 / k);
  const rawShares = expectedShares ?? fair;
  if (rawShares.length !== k) throw new RangeError(`chiSquareTest: ${k} observed categories but ${rawShares.length} expected shares`);
  if (rawShares.some((share) => !(share >= 0))) throw new RangeError('chiSquareTest: expected shares must be non-negative numbers');
  const shareSum = rawShares.reduce((sum, share) => sum + share, 0);
  const expected = rawShares.map((share) => (shareSum === 0 ? 0 : (n * share) / shareSum));
  if (k < 2 || n === 0) {
    return { unit, n, statistic: 0, degreesOfFreedom: Math.max(0, k - 1), pValue: null, lowerPValue: null, expected, valid: false, note: k < 2 ? 'fewer than 2 categories: nothing to compare' : 'no observations' };
  }
  let statistic = 0;
  let impossible = false;
  let used = 0;
  for (let i = 0; i < k; i++) {
    const e = expected[i] as number;
    const o = observed[i] as number;
    if (e === 0) {
      if (o > 0) impossible = true;
      continue;
    }
    used++;
    statistic += ((o - e) * (o - e)) / e;
  }
  const degreesOfFreedom = used - 1;
  const lowExpected = expected.filter((e) => e > 0 && e < 5).length;
  const valid = lowExpected === 0 && !impossible && degreesOfFreedom >= 1;
  const notes: string[] = [`${n} ${unit} over ${k} categories`];
  if (lowExpected > 0) notes.push(`${lowExpected} expected count(s) below 5: the χ² approximation is unreliable, collect more ${unit}`);
  if (impossible) {
    notes.push('observations in a category with expected share 0');
    return { unit, n, statistic: Infinity, degreesOfFreedom, pValue: 0, lowerPValue: 1, expected, valid: false, note: notes.join('; ') };
  }
  if (degreesOfFreedom < 1) return { unit, n, statistic, degreesOfFreedom, pValue: null, lowerPValue: null, expected, valid: false, note: [...notes, 'fewer than 2 categories with an expected share'].join('; ') };
  const pValue = chiSquareSurvival(statistic, degreesOfFreedom);
  const lowerPValue = chiSquareCdf(statistic, degreesOfFreedom);
  if (valid && lowerPValue < TOO_EVEN_P) notes.push(tooEvenText);
  return { unit, n, statistic, degreesOfFreedom, pValue, lowerPValue, expected, valid, note: notes.join('; ') };
}

/** P(χ²(df) ≤ x) = P(df/2, x/2), the regularized lower incomplete gamma function (precise for tiny x). */
export function chiSquareCdf(x: number, degreesOfFreedom: number): number {
  if (!(degreesOfFreedom > 0)) throw new RangeError(`chiSquareCdf: degrees of freedom must be > 0, got ${degreesOfFreedom}`);
  if (x <= 0) return 0;
  if (!Number.isFinite(x)) return 1;
  return gammainc(x / 2, degreesOfFreedom / 2, true, false);
}

/** P(χ²(df) ≥ x) = Q(df/2, x/2), the regularized upper incomplete gamma function. */
export function chiSquareSurvival(x: number, degreesOfFreedom: number): number {
  if (!(degreesOfFreedom > 0)) throw new RangeError(`chiSquareSurvival: degrees of freedom must be > 0, got ${degreesOfFreedom}`);
  if (x <= 0) return 1;
  if (!Number.isFinite(x)) return 0;
  return gammainc(x / 2, degreesOfFreedom / 2, true, true);
}
