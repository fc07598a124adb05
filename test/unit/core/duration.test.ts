import { formatMs, toMs } from '../../../harness/core/duration.ts';
import { HarnessError } from '../../../harness/core/errors.ts';

describe('toMs', () => {
  it.each([
    [250, 250],
    ['500ms', 500],
    ['30s', 30_000],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['1h', 3_600_000],
  ])('GIVEN %p WHEN parsed THEN it is %p ms', (input, expected) => {
    expect(toMs(input as never)).toBe(expected);
  });

  it('GIVEN a string without a unit WHEN parsed THEN a bad-input error names the setting and the fix', () => {
    const error = (() => {
      try {
        toMs('30', 'phases[0].duration');
      } catch (e) {
        return e;
      }
    })() as HarnessError;
    expect(error).toBeInstanceOf(HarnessError);
    expect(error.kind).toBe('bad-input');
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain('phases[0].duration');
    expect(error.hint).toContain("'30s'");
  });

  it('GIVEN a negative number WHEN parsed THEN it is rejected', () => {
    expect(() => toMs(-1)).toThrow(/not a non-negative duration/);
  });
});

describe('formatMs', () => {
  it('renders milliseconds, seconds and minutes for people', () => {
    expect(formatMs(12.4)).toBe('12ms');
    expect(formatMs(1234)).toBe('1.23s');
    expect(formatMs(42_000)).toBe('42.0s');
    expect(formatMs(125_000)).toBe('2m5s');
  });
});
