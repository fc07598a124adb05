import { markerBadges } from '../../../harness/report/svg.ts';

const bounds = { left: 2, right: 718 };
const overlapping = (badges: { left: number; width: number }[]) => badges.some((b, i) => i > 0 && b.left < badges[i - 1]!.left + badges[i - 1]!.width);

describe('markerBadges', () => {
  it('GIVEN markers far apart THEN each gets its own badge centred on it', () => {
    const badges = markerBadges([{ n: 1, x: 100 }, { n: 2, x: 300 }], bounds);
    expect(badges.map((b) => b.label)).toEqual(['1', '2']);
    expect(badges[0]!.left + badges[0]!.width / 2).toBe(100);
  });

  it('GIVEN a chaos event and six endpoint changes within a few pixels THEN they share one badge "2-8"', () => {
    const markers = [{ n: 1, x: 52 }, ...Array.from({ length: 7 }, (_, i) => ({ n: i + 2, x: 280 + i * 2 })), { n: 9, x: 700 }];
    expect(markerBadges(markers, bounds).map((b) => [b.label, b.first, b.last])).toEqual([['1', 0, 0], ['2-8', 1, 7], ['9', 8, 8]]);
  });

  it('GIVEN hundreds of markers, dense at the right edge THEN badges cover every marker once, in order, inside the chart, never overlapping', () => {
    const markers = Array.from({ length: 300 }, (_, i) => ({ n: i + 1, x: i < 100 ? 60 + i * 6 : 700 + (i - 100) * 0.08 }));
    const badges = markerBadges(markers, bounds);
    expect(badges.flatMap((b) => Array.from({ length: b.last - b.first + 1 }, (_, k) => b.first + k))).toEqual(markers.map((_, i) => i));
    expect(overlapping(badges)).toBe(false);
    for (const b of badges) {
      expect(b.left).toBeGreaterThanOrEqual(bounds.left);
      expect(b.left + b.width).toBeLessThanOrEqual(bounds.right);
    }
  });
});
