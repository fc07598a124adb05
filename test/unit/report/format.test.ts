import { formatMaxMin, formatMs, formatNumber, formatP, formatShare } from '../../../harness/report/format.ts';

describe('report number formats', () => {
  it('GIVEN missing values THEN a dash, never "null" or "NaN"', () => {
    expect([formatNumber(null), formatNumber(undefined), formatNumber(Number.NaN), formatMs(null), formatP(null), formatShare(undefined)]).toEqual(['—', '—', '—', '—', '—', '—']);
  });

  it('GIVEN numbers of every size THEN integers as is, others to 4 significant digits, p-values below 0.001 in exponent form', () => {
    expect([formatNumber(1400), formatNumber(0.99987), formatNumber(1.0312345)]).toEqual(['1400', '0.9999', '1.031']);
    expect([formatP(0.42), formatP(0.00012), formatP(0)]).toEqual(['0.420', '1.2e-4', '0.000']);
    expect([formatMs(2.1), formatMs(14.23), formatMs(5001.215), formatMs(-12.3)]).toEqual(['2.10 ms', '14.2 ms', '5001 ms', '-12.3 ms']);
  });

  it('GIVEN a starved pod (max/min null) THEN max/min says ∞ and how many starved', () => {
    const metrics = { jainIndex: 0.5, maxMinRatio: null, starvedPods: ['a', 'b'], chiSquareP: null, chiSquare: { unit: 'requests' as const, n: 0, statistic: 0, degreesOfFreedom: 0, valid: false, note: '' }, sourceIpPreservedRatio: null };
    expect(formatMaxMin({ metrics })).toBe('∞ (2 starved)');
    expect(formatMaxMin({ metrics: { ...metrics, maxMinRatio: 1.5, starvedPods: [] } })).toBe('1.5');
  });
});
