import { tooEven } from '../../../harness/analysis/evenness.ts';
import { chiSquareCdf, chiSquareSurvival, chiSquareTest, jainIndex, maxMinRatio, shares } from '../../../harness/analysis/fairness.ts';

describe('shares', () => {
  it('GIVEN counts 50/30/20 WHEN shared THEN each is its count over 100, in the given order, zeros kept', () => {
    expect(shares({ a: 50, b: 30, c: 20, d: 0 })).toEqual([
      { name: 'a', count: 50, share: 0.5 },
      { name: 'b', count: 30, share: 0.3 },
      { name: 'c', count: 20, share: 0.2 },
      { name: 'd', count: 0, share: 0 },
    ]);
  });
});

describe('jainIndex', () => {
  it('GIVEN 50/30/20 WHEN computed THEN (Σx)²/(n·Σx²) = 100²/(3·3800) = 0.877193', () => {
    // Σx = 100, Σx² = 2500 + 900 + 400 = 3800, n = 3 → 10000 / 11400.
    expect(jainIndex([50, 30, 20])).toBeCloseTo(10000 / 11400, 12);
    expect(jainIndex([50, 30, 20])).toBeCloseTo(0.877193, 6);
  });
  it('GIVEN equal values THEN 1; GIVEN one pod holding everything of 4 THEN 1/4', () => {
    expect(jainIndex([7, 7, 7, 7])).toBe(1);
    // (10)² / (4 · 100) = 0.25
    expect(jainIndex([10, 0, 0, 0])).toBe(0.25);
  });
  it('GIVEN nothing served THEN null (undefined, not "fair")', () => {
    expect(jainIndex([])).toBeNull();
    expect(jainIndex([0, 0])).toBeNull();
  });
});

describe('maxMinRatio', () => {
  it('GIVEN 50/30/20 THEN 50/20 = 2.5', () => expect(maxMinRatio([50, 30, 20])).toBe(2.5));
  it('GIVEN a starved pod THEN Infinity (not a finite number that looks fine)', () => expect(maxMinRatio([5, 0])).toBe(Infinity));
  it('GIVEN no values or all zeros THEN null', () => {
    expect(maxMinRatio([])).toBeNull();
    expect(maxMinRatio([0, 0, 0])).toBeNull();
  });
});

describe('chiSquareSurvival against table values', () => {
  // Critical values from the standard χ² table (upper-tail probabilities).
  it.each([
    [3.841458820694124, 1, 0.05],
    [6.634896601021214, 1, 0.01],
    [5.991464547107979, 2, 0.05],
    [9.487729036781154, 4, 0.05],
    [13.276704135987622, 4, 0.01],
    [23.209251158954356, 10, 0.01],
    [18.307038053275146, 10, 0.05],
  ])('GIVEN χ²=%f with df=%i THEN p = %f', (x, df, p) => {
    expect(chiSquareSurvival(x, df)).toBeCloseTo(p, 10);
  });
  it('GIVEN df=2 THEN the survival is exactly exp(−x/2)', () => {
    for (const x of [0.5, 2, 14, 60]) expect(chiSquareSurvival(x, 2)).toBeCloseTo(Math.exp(-x / 2), 14);
  });
  it('GIVEN a huge statistic THEN the p-value is tiny but not rounded to 0 by 1 − CDF', () => {
    const p = chiSquareSurvival(1000, 1);
    expect(p).toBeGreaterThan(0);
    expect(p).toBeLessThan(1e-200);
  });
});

describe('chiSquareTest', () => {
  it('GIVEN 50/30/20 requests over 3 pods WHEN tested against fair shares THEN χ² = 14 and p = e^−7', () => {
    // E = 100/3 each; Σ(O−E)²/E = ((50/3)² + (10/3)² + (40/3)²) / (100/3) = (4200/9)/(100/3) = 14.
    // df = 2, so p = exp(−14/2) = e^−7 ≈ 0.000911882.
    const result = chiSquareTest([50, 30, 20], 'requests');
    expect(result.statistic).toBeCloseTo(14, 10);
    expect(result.degreesOfFreedom).toBe(2);
    expect(result.pValue).toBeCloseTo(Math.exp(-7), 12);
    expect(result.unit).toBe('requests');
    expect(result.n).toBe(100);
    expect(result.valid).toBe(true);
  });
  it('GIVEN expected shares 0.5/0.25/0.25 WHEN 50/30/20 observed THEN χ² = 0 + 25/25 + 25/25 = 2 and p = e^−1', () => {
    const result = chiSquareTest([50, 30, 20], 'connections', [0.5, 0.25, 0.25]);
    expect(result.expected).toEqual([50, 25, 25]);
    expect(result.statistic).toBeCloseTo(2, 12);
    expect(result.pValue).toBeCloseTo(Math.exp(-1), 12);
    expect(result.unit).toBe('connections');
  });
  it('GIVEN a perfectly even spread THEN χ² = 0 and p = 1', () => {
    const result = chiSquareTest([25, 25, 25, 25], 'connections');
    expect(result.statistic).toBe(0);
    expect(result.pValue).toBe(1);
  });
  it('GIVEN 4 connections over 3 pods THEN the result is marked invalid (expected counts below 5) and says why', () => {
    const result = chiSquareTest([3, 1, 0], 'connections');
    expect(result.valid).toBe(false);
    expect(result.note).toMatch(/below 5/);
    expect(result.pValue).not.toBeNull();
  });
  it('GIVEN one category or no observations THEN no p-value', () => {
    expect(chiSquareTest([10], 'requests').pValue).toBeNull();
    expect(chiSquareTest([0, 0], 'requests').pValue).toBeNull();
  });
  it('GIVEN observations where the expected share is 0 THEN p = 0 (impossible under the hypothesis)', () => {
    const result = chiSquareTest([10, 5], 'requests', [1, 0]);
    expect(result.pValue).toBe(0);
    expect(result.valid).toBe(false);
  });
});

describe('too even to be random: the lower tail of the same χ² test', () => {
  it('GIVEN df=2 THEN P(χ² ≤ x) is exactly 1 − exp(−x/2), and upper + lower = 1', () => {
    for (const x of [0.002, 0.02, 2.18, 14]) {
      expect(chiSquareCdf(x, 2)).toBeCloseTo(1 - Math.exp(-x / 2), 14);
      expect(chiSquareCdf(x, 2) + chiSquareSurvival(x, 2)).toBeCloseTo(1, 14);
    }
    expect(chiSquareCdf(0, 4)).toBe(0);
    // A tiny lower tail keeps its precision (not 1 − Q).
    expect(chiSquareCdf(1e-12, 2)).toBeCloseTo(5e-13, 24);
  });

  it('GIVEN 100, 100, 100 connections over 3 pods (round-robin) THEN χ² 0, lower tail 0: too even, and the note says so', () => {
    const result = chiSquareTest([100, 100, 100], 'connections');
    expect(result).toMatchObject({ statistic: 0, degreesOfFreedom: 2, pValue: 1, lowerPValue: 0, valid: true });
    expect(tooEven(result)).toBe(true);
    expect(result.note).toBe('300 connections over 3 categories; more even than random picks: round-robin-like');
  });

  it('GIVEN 1001, 1000, 999 THEN χ² 0.002 and P(χ² ≤ 0.002) = 1 − e^−0.001 ≈ 0.0009995: too even', () => {
    const result = chiSquareTest([1001, 1000, 999], 'connections');
    expect(result.statistic).toBeCloseTo(0.002, 12);
    expect(result.lowerPValue).toBeCloseTo(1 - Math.exp(-0.001), 14);
    expect(tooEven(result)).toBe(true);
  });

  it('GIVEN a multinomial-like sample 95, 112, 93 THEN χ² 2.18, lower tail 1 − e^−1.09 ≈ 0.66: neither uneven nor too even', () => {
    const result = chiSquareTest([95, 112, 93], 'connections');
    expect(result.statistic).toBeCloseTo(2.18, 12);
    expect(result.lowerPValue).toBeCloseTo(1 - Math.exp(-1.09), 12);
    expect(result.pValue).toBeCloseTo(Math.exp(-1.09), 12);
    expect(tooEven(result)).toBe(false);
    expect(result.note).toBe('300 connections over 3 categories');
  });

  it('GIVEN 101, 100, 99 THEN one connection off even is already ordinary for 300 (lower tail ≈ 0.00995)', () => {
    const result = chiSquareTest([101, 100, 99], 'connections');
    expect(result.lowerPValue).toBeCloseTo(1 - Math.exp(-0.01), 14);
    expect(tooEven(result)).toBe(false);
  });

  it('GIVEN 2, 2, 2 (expected counts below 5: the approximation is unreliable) THEN never called too even', () => {
    expect(tooEven(chiSquareTest([2, 2, 2], 'connections'))).toBe(false);
  });

  it('GIVEN nothing to compare THEN no lower tail', () => {
    expect(chiSquareTest([], 'connections').lowerPValue).toBeNull();
    expect(chiSquareTest([0, 0], 'requests').lowerPValue).toBeNull();
  });
});
