import type { Recorder, SourceRecorder } from '../recorder/recorder.ts';
import { ArrivalClock, arrivalDurationMs, isOpen, peakRate, type Arrival } from './arrival.ts';

/**
 * The transport side of a driver: a set of lanes (connections, sessions, channels) that can each
 * carry some requests at once. The scheduler decides WHEN to send; the pool decides WHERE and
 * records what came back.
 */
export interface LanePool<L> {
  /**
   * Reserves room for one request on a lane and returns it, or undefined when every lane is full.
   * `pin` asks for one specific lane (index modulo the lane count): the persistent model gives each
   * connection its own share of the schedule.
   */
  acquire(pin: number | undefined): L | undefined;
  /**
   * Sends one request on a reserved lane, records its outcome (response or failure) with latency
   * measured from `latencyFrom`, releases the reservation, then calls `done(token)` exactly once.
   * Must never throw. (A callback with a token, not a Promise: no allocation per request.)
   */
  run<T>(lane: L, latencyFrom: number, sentAt: number, token: T, done: (token: T) => void): void;
  /** Fails every request still in flight (end of the graceful stop); returns how many there were. */
  abortAll(): number;
  /** The pool calls this when room appears without a request finishing (a new session connected). */
  onCapacity?: (wake: () => void) => void;
}

export interface ScheduleOptions {
  arrival: Arrival;
  /** Hard bound on requests scheduled (sent + dropped), whatever the duration. */
  maxRequests: number;
  /** Pin arrivals round-robin to this many lanes (persistent model); undefined = any free lane. */
  pinnedLanes?: number;
  /**
   * Open model: requests that find every (pinned) lane busy wait in a queue of at most this many
   * (in total); their latency still counts from the intended time. Beyond it they are dropped.
   */
  maxQueue: number;
  /** A queued request that has waited this long past its intended time is dropped, never sent. */
  maxWaitMs: number;
  /** After the arrivals end, how long in-flight requests may take before they are abandoned. */
  gracefulStopMs: number;
  recorder: SourceRecorder;
  now: () => number;
  signal?: AbortSignal;
}

export interface ScheduleResult {
  reason: 'duration' | 'max-requests' | 'aborted';
  startedAt: number;
  /** When the arrivals stopped (before the graceful stop). */
  arrivalsEndedAt: number;
  endedAt: number;
  /** Requests scheduled: sent + dropped. */
  scheduled: number;
  sent: number;
  dropped: number;
  /** In flight when the graceful stop ran out, failed by abortAll. */
  abandoned: number;
}

interface Pending {
  t: number;
  /** Closed model: the virtual user that issued it; -1 for open arrivals. */
  vu: number;
  pin: number | undefined;
}

/** A minimal FIFO with O(1) push/shift. */
class Queue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  shift(): T | undefined {
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
  drain(): T[] {
    const rest = this.items.slice(this.head) as T[];
    this.items = [];
    this.head = 0;
    return rest;
  }
}

/** Most arrivals handled in one timer turn before yielding to I/O (keeps completions flowing at huge rates). */
const maxArrivalsPerTurn = 5000;

/**
 * Runs an arrival model over a lane pool, bounded by the model's duration AND `maxRequests`, then
 * a graceful stop bounded by `gracefulStopMs`. Open models measure latency from the intended send
 * time; the closed model (constant-vus) from the actual send time.
 */
export function runSchedule<L>(pool: LanePool<L>, options: ScheduleOptions): Promise<ScheduleResult> {
  const { recorder, now, arrival } = options;
  const open = isOpen(arrival);
  const startedAt = now();
  const deadline = startedAt + arrivalDurationMs(arrival);
  const pinned = options.pinnedLanes;
  const queues = new Map<number, Queue<Pending>>();
  const queueOf = (pin: number | undefined): Queue<Pending> => {
    const key = pin ?? -1;
    let queue = queues.get(key);
    if (!queue) queues.set(key, (queue = new Queue()));
    return queue;
  };
  let queued = 0;
  let scheduled = 0;
  let sent = 0;
  let dropped = 0;
  let inFlight = 0;
  let arrivalsOver = false;
  let reason: ScheduleResult['reason'] = 'duration';
  let arrivalsEndedAt = startedAt;
  let timer: NodeJS.Timeout | undefined;
  let settle: (() => void) | undefined;

  const drop = (count = 1) => {
    dropped += count;
    recorder.dropped(now(), count);
  };

  const send = (item: Pending): boolean => {
    const lane = pool.acquire(item.pin);
    if (lane === undefined) return false;
    const sentAt = now();
    sent++;
    inFlight++;
    recorder.sent(sentAt);
    pool.run(lane, open ? item.t : sentAt, sentAt, item, finished);
    return true;
  };

  const arrive = (item: Pending) => {
    scheduled++;
    // Look up without creating: with thousands of pinned lanes, most never need a queue.
    const waiting = queues.get(item.pin ?? -1);
    if ((!waiting || waiting.length === 0) && send(item)) return;
    const queue = waiting ?? queueOf(item.pin);
    if (open && queued >= options.maxQueue) {
      drop();
      return;
    }
    queue.push(item);
    queued++;
  };

  const drainQueue = (queue: Queue<Pending>) => {
    const t = now();
    for (let head = queue.peek(); head; head = queue.peek()) {
      if (open && t - head.t > options.maxWaitMs) {
        queue.shift();
        queued--;
        drop();
        continue;
      }
      if (!send(head)) break;
      queue.shift();
      queued--;
    }
  };

  const drainAll = () => {
    for (const queue of queues.values()) drainQueue(queue);
  };
  pool.onCapacity?.(drainAll);

  const finished = (item: Pending) => {
    inFlight--;
    if (queued > 0) {
      const queue = queues.get(item.pin ?? -1);
      if (queue) drainQueue(queue);
    }
    if (!open && item.vu >= 0) nextForVu(item.vu);
    maybeSettle();
  };

  const overBudget = () => scheduled >= options.maxRequests;

  const endArrivals = (why: ScheduleResult['reason']) => {
    if (arrivalsOver) return;
    arrivalsOver = true;
    reason = why;
    arrivalsEndedAt = now();
    if (timer) clearTimeout(timer);
    // Requests already waiting for a lane may still go out during the graceful stop.
    maybeSettle();
  };

  /** Whatever still waits for a lane when the graceful stop ends was never sent: dropped. */
  const dropQueued = () => {
    for (const queue of queues.values()) {
      const rest = queue.drain();
      queued -= rest.length;
      if (rest.length > 0) drop(rest.length);
    }
  };

  const maybeSettle = () => {
    if (arrivalsOver && inFlight === 0 && queued === 0 && settle) {
      const done = settle;
      settle = undefined;
      done();
    }
  };

  // Closed model: each virtual user sends its next request when its previous one finished.
  const nextForVu = (vu: number) => {
    if (arrivalsOver) return;
    if (now() >= deadline) return endArrivals('duration');
    if (overBudget()) return endArrivals('max-requests');
    arrive({ t: now(), vu, pin: pinned === undefined ? undefined : vu % pinned });
  };

  return new Promise<ScheduleResult>((resolve) => {
    const onAbort = () => endArrivals('aborted');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const allDone = new Promise<void>((done) => (settle = done));

    if (open) {
      const clock = new ArrivalClock(arrival);
      let nextOffset = clock.next();
      const tick = () => {
        timer = undefined;
        if (arrivalsOver) return;
        const t = now();
        let turn = 0;
        while (nextOffset !== undefined && startedAt + nextOffset <= t && turn < maxArrivalsPerTurn) {
          if (overBudget()) return endArrivals('max-requests');
          const intended = startedAt + nextOffset;
          if (t - intended > options.maxWaitMs) {
            // So far behind that it would already have expired in the queue: dropped, never sent.
            scheduled++;
            drop();
          } else {
            arrive({ t: intended, vu: -1, pin: pinned === undefined ? undefined : scheduled % pinned });
          }
          nextOffset = clock.next();
          turn++;
        }
        if (queued > 0) drainAll(); // expire requests that waited too long even when nothing completes
        // The clock ends at the duration. Arrivals intended before it are all scheduled, even when
        // the loop is behind (they queue or are dropped: counted either way, never lost).
        if (nextOffset === undefined) return endArrivals('duration');
        if (turn >= maxArrivalsPerTurn) {
          setImmediate(tick); // behind schedule: let completions in, then catch up
          return;
        }
        timer = setTimeout(tick, Math.max(0, startedAt + nextOffset - now()));
      };
      tick();
    } else {
      for (let vu = 0; vu < arrival.concurrency && !arrivalsOver; vu++) nextForVu(vu);
      // The duration bound holds even if every request hangs.
      timer = setTimeout(() => endArrivals('duration'), Math.max(0, deadline - now()));
    }

    void (async () => {
      await Promise.race([
        allDone,
        (async () => {
          while (!arrivalsOver) await sleep(Math.max(1, Math.min(100, deadline - now())));
        })(),
      ]);
      // Arrivals are over (or everything finished): give in-flight requests the graceful stop.
      let abandoned = 0;
      if (inFlight > 0 || queued > 0) {
        const grace = reason === 'aborted' ? Math.min(options.gracefulStopMs, 1000) : options.gracefulStopMs;
        let graceTimer: NodeJS.Timeout | undefined;
        const graceOver = new Promise<'timeout'>((done) => (graceTimer = setTimeout(() => done('timeout'), grace)));
        const outcome = await Promise.race([allDone.then(() => 'done' as const), graceOver]);
        clearTimeout(graceTimer);
        if (outcome === 'timeout') {
          dropQueued();
          abandoned = pool.abortAll();
          maybeSettle();
          await allDone;
        }
      }
      options.signal?.removeEventListener('abort', onAbort);
      resolve({ reason, startedAt, arrivalsEndedAt, endedAt: now(), scheduled, sent, dropped, abandoned });
    })();
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** What every driver shares around the schedule: the run's bounds, with defaults in one place. */
export interface DriveOptions {
  arrival: Arrival;
  maxRequests?: number;
  /** Lanes the pool offers (connections or channels), the floor of the open-model queue. */
  lanes: number;
  pinnedLanes?: number;
  maxQueue?: number;
  maxWaitMs?: number;
  gracefulStopMs?: number;
  requestTimeoutMs: number;
  signal?: AbortSignal;
}

/** `kth load --timeout`'s default, which the engine's loads (k6's scripts too) keep: no request outlasts it. */
export const defaultRequestTimeoutMs = 10_000;

/**
 * The head every driver's run has in common: its recorder source (latency from the intended send
 * time for open models, the actual send for closed ones), the recorder's clock started, and the
 * `load-start` event with the driver's own settings.
 */
export function beginLoad(recorder: Recorder, load: { source: string; target: string; model: string; arrival: Arrival; config: Record<string, unknown> }): { source: SourceRecorder; open: boolean } {
  const open = isOpen(load.arrival);
  const source = recorder.source(load.source, open ? 'intended' : 'actual');
  recorder.startTimer();
  recorder.emit({ kind: 'load-start', t: recorder.now(), source: source.source, target: load.target, model: load.model, arrival: open ? 'open' : 'closed', config: load.config });
  return { source, open };
}

/**
 * Runs `pool` on the schedule to its end, always closes it, and records the run's `load-end`
 * (sent, completed, dropped, abandoned) — the tail every driver's run has in common.
 */
export async function driveToEnd<L>(pool: LanePool<L> & { close(): Promise<void> }, options: DriveOptions, source: SourceRecorder, recorder: Recorder): Promise<ScheduleResult> {
  let schedule: ScheduleResult;
  try {
    schedule = await runSchedule(pool, {
      arrival: options.arrival,
      maxRequests: options.maxRequests ?? 10_000_000,
      pinnedLanes: options.pinnedLanes,
      maxQueue: options.maxQueue ?? Math.max(options.lanes, Math.ceil(peakRate(options.arrival))),
      maxWaitMs: options.maxWaitMs ?? options.requestTimeoutMs,
      gracefulStopMs: options.gracefulStopMs ?? options.requestTimeoutMs + 1000,
      recorder: source,
      now: recorder.now,
      signal: options.signal,
    });
  } finally {
    await pool.close();
  }
  const now = recorder.now;
  recorder.emit({ kind: 'load-end', t: now(), source: source.source, reason: schedule.reason, sent: schedule.sent, completed: source.totals.completed, dropped: schedule.dropped, abandoned: schedule.abandoned });
  source.flushAll();
  return schedule;
}
