import { ArrivalClock, arrivalDurationMs, validateArrival } from '../../../harness/load/arrival.ts';
import { HarnessError } from '../../../harness/core/errors.ts';

function all(clock: ArrivalClock): number[] {
  const times: number[] = [];
  for (let t = clock.next(); t !== undefined && times.length < 100_000; t = clock.next()) times.push(t);
  return times;
}

describe('ArrivalClock', () => {
  it('GIVEN constant-arrival-rate 4/s for 1 s THEN arrivals at 0, 250, 500, 750 ms', () => {
    expect(all(new ArrivalClock({ executor: 'constant-arrival-rate', rate: 4, durationMs: 1000 }))).toEqual([0, 250, 500, 750]);
  });
  it('GIVEN 1000/s for 10 s THEN exactly 10 000 arrivals, the last at 9999 ms', () => {
    const times = all(new ArrivalClock({ executor: 'constant-arrival-rate', rate: 1000, durationMs: 10_000 }));
    expect(times).toHaveLength(10_000);
    expect(times.at(-1)).toBeCloseTo(9999, 9);
  });
  it('GIVEN a ramp 0 → 10/s over 2 s THEN 10 arrivals where the rate integral 2.5·τ² (τ in s) reaches i', () => {
    // Rate r(τ) = 5·τ per second; N(τ) = 2.5·τ²; arrival i at τ = √(i / 2.5) s.
    const times = all(new ArrivalClock({ executor: 'ramping-arrival-rate', startRate: 0, stages: [{ target: 10, durationMs: 2000 }] }));
    expect(times).toHaveLength(10);
    times.forEach((t, i) => expect(t).toBeCloseTo(Math.sqrt(i / 2.5) * 1000, 6));
  });
  it('GIVEN a ramp up then a plateau THEN the plateau continues the integral where the ramp left it', () => {
    // Stage 1: 0 → 4/s over 1 s = 2 arrivals (at 0 and √(1/2) s); stage 2: 4/s for 1 s = 4 arrivals at 1.0, 1.25, 1.5, 1.75 s.
    const times = all(new ArrivalClock({ executor: 'ramping-arrival-rate', startRate: 0, stages: [{ target: 4, durationMs: 1000 }, { target: 4, durationMs: 1000 }] }));
    expect(times.map((t) => Math.round(t * 1000) / 1000)).toEqual([0, Math.round(Math.sqrt(0.5) * 1e6) / 1000, 1000, 1250, 1500, 1750]);
  });
  it('GIVEN a falling ramp 10 → 0/s over 2 s THEN 10 arrivals, denser at the start', () => {
    const times = all(new ArrivalClock({ executor: 'ramping-arrival-rate', startRate: 10, stages: [{ target: 0, durationMs: 2000 }] }));
    expect(times).toHaveLength(10);
    // N(τ) = 10τ − 2.5τ²; arrival 5 where 10τ − 2.5τ² = 5 → τ = 2 − √2 s.
    expect(times[5]).toBeCloseTo((2 - Math.sqrt(2)) * 1000, 6);
    expect(times[1]! - times[0]!).toBeLessThan(times[9]! - times[8]!);
  });
  it('GIVEN stages THEN the duration is their sum', () => {
    expect(arrivalDurationMs({ executor: 'ramping-arrival-rate', startRate: 0, stages: [{ target: 1, durationMs: 300 }, { target: 0, durationMs: 700 }] })).toBe(1000);
  });
  it('GIVEN impossible settings THEN a bad-input error names the setting', () => {
    expect(() => validateArrival({ executor: 'constant-arrival-rate', rate: 0, durationMs: 1000 })).toThrow(HarnessError);
    expect(() => validateArrival({ executor: 'constant-vus', concurrency: 1.5, durationMs: 1000 })).toThrow(/concurrency/);
    expect(() => validateArrival({ executor: 'ramping-arrival-rate', startRate: 0, stages: [] })).toThrow(/stages/);
  });
});
