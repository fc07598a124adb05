import { badInput } from '../core/errors.ts';

/**
 * How requests arrive. Open models (k6's `constant-arrival-rate`, `ramping-arrival-rate`) send on a
 * schedule whatever the server does, and latency is measured from each request's INTENDED send time,
 * so a stalled server cannot hide its stall (no coordinated omission). The closed model (k6's
 * `constant-vus`) keeps a fixed number of requests in flight: a stall holds back sending, so its
 * latency under-reports stalls (coordinated omission) — reports say so.
 *
 * Rates are requests per second; durations are milliseconds.
 */
export type Arrival =
  | { executor: 'constant-arrival-rate'; rate: number; durationMs: number }
  | { executor: 'ramping-arrival-rate'; startRate: number; stages: readonly RampStage[] }
  | { executor: 'constant-vus'; concurrency: number; durationMs: number };

export interface RampStage {
  /** Rate at the end of the stage (linear from the previous rate). */
  target: number;
  durationMs: number;
}

export function isOpen(arrival: Arrival): arrival is Exclude<Arrival, { executor: 'constant-vus' }> {
  return arrival.executor !== 'constant-vus';
}

/** How long the arrival model runs. */
export function arrivalDurationMs(arrival: Arrival): number {
  switch (arrival.executor) {
    case 'constant-arrival-rate':
    case 'constant-vus':
      return arrival.durationMs;
    case 'ramping-arrival-rate':
      return arrival.stages.reduce((sum, stage) => sum + stage.durationMs, 0);
  }
}

/** The highest rate an open model reaches (sizes queues). */
export function peakRate(arrival: Arrival): number {
  switch (arrival.executor) {
    case 'constant-arrival-rate':
      return arrival.rate;
    case 'ramping-arrival-rate':
      return Math.max(arrival.startRate, ...arrival.stages.map((stage) => stage.target));
    case 'constant-vus':
      return 0;
  }
}

/** Rejects impossible arrival settings with the setting's name. */
export function validateArrival(arrival: Arrival, where = 'arrival'): void {
  const positive = (value: number, name: string, allowZero = false) => {
    if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) throw badInput(`${where}.${name}: ${value} must be a ${allowZero ? 'non-negative' : 'positive'} number`, { where: `${where}.${name}` });
  };
  switch (arrival.executor) {
    case 'constant-arrival-rate':
      positive(arrival.rate, 'rate');
      positive(arrival.durationMs, 'duration');
      return;
    case 'constant-vus':
      positive(arrival.durationMs, 'duration');
      if (!Number.isInteger(arrival.concurrency) || arrival.concurrency < 1) throw badInput(`${where}.concurrency: ${arrival.concurrency} must be a whole number ≥ 1`, { where: `${where}.concurrency` });
      return;
    case 'ramping-arrival-rate':
      positive(arrival.startRate, 'startRate', true);
      if (arrival.stages.length === 0) throw badInput(`${where}.stages: at least one stage is needed`, { where: `${where}.stages` });
      arrival.stages.forEach((stage, i) => {
        positive(stage.target, `stages[${i}].target`, true);
        positive(stage.durationMs, `stages[${i}].duration`);
      });
  }
}

/**
 * The intended send times of an open model, as offsets (ms) from its start: arrival i (0-based)
 * happens when the integral of the rate reaches i, so a constant rate r gives i·1000/r and a ramp
 * from r0 to r1 over D solves r0·τ + (r1 − r0)·τ²/(2D) = 1000·(i − arrivals before the stage).
 * Iterates in order in O(1) per arrival; `next()` returns undefined past the end.
 */
export class ArrivalClock {
  private index = 0;
  private stage = 0;
  private stageStartMs = 0;
  private arrivalsBeforeStage = 0;
  private readonly segments: { r0: number; r1: number; durationMs: number }[];

  constructor(arrival: Exclude<Arrival, { executor: 'constant-vus' }>) {
    if (arrival.executor === 'constant-arrival-rate') {
      this.segments = [{ r0: arrival.rate, r1: arrival.rate, durationMs: arrival.durationMs }];
    } else {
      let previous = arrival.startRate;
      this.segments = arrival.stages.map((stage) => {
        const segment = { r0: previous, r1: stage.target, durationMs: stage.durationMs };
        previous = stage.target;
        return segment;
      });
    }
  }

  /** Offset (ms) of the next arrival, or undefined when the model has ended. */
  next(): number | undefined {
    while (this.stage < this.segments.length) {
      const { r0, r1, durationMs } = this.segments[this.stage]!;
      const arrivalsInStage = ((r0 + r1) / 2) * (durationMs / 1000);
      const c = this.index - this.arrivalsBeforeStage;
      if (c < arrivalsInStage - 1e-9) {
        const tau = offsetWithin(r0, r1, durationMs, c);
        if (tau < durationMs) {
          this.index++;
          return this.stageStartMs + tau;
        }
      }
      this.stageStartMs += durationMs;
      this.arrivalsBeforeStage += arrivalsInStage;
      this.stage++;
    }
    return undefined;
  }
}

/** τ (ms) within a linear segment where the integral of the rate reaches `count` arrivals. */
function offsetWithin(r0: number, r1: number, durationMs: number, count: number): number {
  if (count <= 0) return 0;
  // Rates per ms: b = r0/1000; a = (r1 − r0)/(2·D·1000); solve a·τ² + b·τ − count = 0.
  const a = (r1 - r0) / (2 * durationMs * 1000);
  const b = r0 / 1000;
  if (a === 0) return b === 0 ? Infinity : count / b;
  const discriminant = b * b + 4 * a * count;
  if (discriminant < 0) return Infinity;
  // 2c / (b + √(b² + 4ac)): the stable root for both rising and falling ramps.
  return (2 * count) / (b + Math.sqrt(discriminant));
}
