import { runSchedule, type LanePool } from '../../../harness/load/scheduler.ts';
import { epochNow, Recorder } from '../../../harness/recorder/recorder.ts';

/** A pool of `lanes` lanes with room for one request each; requests finish when `release` is called. */
function fakePool(lanes: number, autoCompleteMs?: number) {
  const busy = new Array<boolean>(lanes).fill(false);
  const waiting: (() => void)[] = [];
  let aborted = 0;
  const pins: number[] = [];
  const pool: LanePool<number> = {
    acquire(pin) {
      if (pin !== undefined) {
        const lane = pin % lanes;
        if (busy[lane]) return undefined;
        busy[lane] = true;
        return lane;
      }
      const lane = busy.indexOf(false);
      if (lane < 0) return undefined;
      busy[lane] = true;
      return lane;
    },
    run(lane, _from, _sent, token, done) {
      pins.push(lane);
      const finish = () => {
        busy[lane] = false;
        done(token);
      };
      if (autoCompleteMs !== undefined) setTimeout(finish, autoCompleteMs);
      else waiting.push(finish);
    },
    abortAll() {
      aborted += waiting.length;
      for (const finish of waiting.splice(0)) finish();
      return aborted;
    },
  };
  return { pool, pins, get aborted() { return aborted; } };
}

describe('runSchedule', () => {
  it('GIVEN 100/s for 200 ms on one lane that never answers WHEN the queue holds 5 THEN 1 sent, 19 dropped, 1 abandoned', async () => {
    const recorder = new Recorder();
    const source = recorder.source('t');
    const { pool } = fakePool(1);
    const result = await runSchedule(pool, { arrival: { executor: 'constant-arrival-rate', rate: 100, durationMs: 200 }, maxRequests: 1000, maxQueue: 5, maxWaitMs: 60_000, gracefulStopMs: 50, recorder: source, now: epochNow });
    // 20 arrivals (0, 10, …, 190 ms): the first is sent, 5 wait and are dropped at the end, 14 overflow.
    expect(result).toMatchObject({ reason: 'duration', scheduled: 20, sent: 1, dropped: 19, abandoned: 1 });
    expect(source.totals.dropped).toBe(19);
    expect(source.totals.sent).toBe(1);
  });

  it('GIVEN pinned lanes THEN arrival i goes to lane i mod N: each connection its own share of the schedule', async () => {
    const recorder = new Recorder();
    const { pool, pins } = fakePool(4, 1);
    const result = await runSchedule(pool, { arrival: { executor: 'constant-arrival-rate', rate: 200, durationMs: 200 }, maxRequests: 1000, pinnedLanes: 4, maxQueue: 100, maxWaitMs: 60_000, gracefulStopMs: 1000, recorder: recorder.source('t'), now: epochNow });
    expect(result.sent).toBe(40);
    expect([0, 1, 2, 3].map((lane) => pins.filter((p) => p === lane).length)).toEqual([10, 10, 10, 10]);
  });

  it('GIVEN maxRequests 7 THEN exactly 7 are scheduled and the reason says so', async () => {
    const recorder = new Recorder();
    const { pool } = fakePool(2, 1);
    const result = await runSchedule(pool, { arrival: { executor: 'constant-arrival-rate', rate: 1000, durationMs: 5000 }, maxRequests: 7, maxQueue: 100, maxWaitMs: 60_000, gracefulStopMs: 1000, recorder: recorder.source('t'), now: epochNow });
    expect(result).toMatchObject({ reason: 'max-requests', scheduled: 7, sent: 7, dropped: 0 });
  });

  it('GIVEN the closed model with 3 users and maxRequests 50 THEN 50 sent, never more than 3 in flight, none dropped', async () => {
    const recorder = new Recorder();
    let inFlight = 0;
    let peak = 0;
    const pool: LanePool<number> = {
      acquire: () => 0,
      run: (_lane, _from, _sent, token, done) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        setImmediate(() => {
          inFlight--;
          done(token);
        });
      },
      abortAll: () => 0,
    };
    const result = await runSchedule(pool, { arrival: { executor: 'constant-vus', concurrency: 3, durationMs: 10_000 }, maxRequests: 50, maxQueue: 0, maxWaitMs: 0, gracefulStopMs: 1000, recorder: recorder.source('t'), now: epochNow });
    expect(result).toMatchObject({ reason: 'max-requests', sent: 50, dropped: 0 });
    expect(peak).toBe(3);
  });

  it('GIVEN an abort signal THEN arrivals stop and the reason is aborted', async () => {
    const recorder = new Recorder();
    const { pool } = fakePool(2, 1);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const result = await runSchedule(pool, { arrival: { executor: 'constant-arrival-rate', rate: 100, durationMs: 60_000 }, maxRequests: 1_000_000, maxQueue: 100, maxWaitMs: 60_000, gracefulStopMs: 1000, recorder: recorder.source('t'), now: epochNow, signal: controller.signal });
    expect(result.reason).toBe('aborted');
    expect(result.sent).toBeLessThan(100);
  });
});
