import { jest } from '@jest/globals';
import type { V1Probe } from '@kubernetes/client-node';
import type { HandlerOutcome } from '../../../../harness/lab/agent/handlers.ts';
import { type ProbeKind, ProbeWorker } from '../../../../harness/lab/agent/probe-worker.ts';

/** The prober's schedule and thresholds, on a fake clock, with scripted probe results. */
describe('ProbeWorker', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  function worker(kind: ProbeKind, probe: V1Probe, results: boolean[], options: { started?: () => boolean; startedAt?: Date } = {}) {
    const attempts: number[] = [];
    const reported: { ok: boolean; at: number }[] = [];
    const failed: number[] = [];
    let i = 0;
    const w = new ProbeWorker({
      kind,
      probe,
      target: { podIp: '198.18.129.2', podNetns: 'x', env: {}, containerPorts: [] },
      containerStartedAt: options.startedAt ?? new Date(),
      isStarted: options.started ?? (() => true),
      onResult: (_k, ok) => reported.push({ ok, at: Date.now() }),
      onFailedAttempt: () => failed.push(Date.now()),
      attempt: async (): Promise<HandlerOutcome> => {
        attempts.push(Date.now());
        const ok = results[Math.min(i, results.length - 1)] ?? true;
        i += 1;
        return { ok, output: ok ? '' : 'HTTP probe failed with statuscode: 503' };
      },
    });
    return { w, attempts, reported, failed };
  }
  const t0 = () => new Date('2026-01-01T00:00:00Z').getTime();

  it('GIVEN period 1 s and no initial delay WHEN started THEN it probes at once and every second after', async () => {
    const { w, attempts } = worker('readiness', { periodSeconds: 1 }, [true]);
    w.start();
    await jest.advanceTimersByTimeAsync(3500);
    w.stop();
    expect(attempts.map((t) => t - t0())).toEqual([0, 1000, 2000, 3000]);
  });

  it('GIVEN initialDelaySeconds 2 and period 5 WHEN started THEN the first probe waits for the first tick after the delay (5 s), as the kubelet', async () => {
    const { w, attempts } = worker('readiness', { initialDelaySeconds: 2, periodSeconds: 5 }, [true]);
    w.start();
    await jest.advanceTimersByTimeAsync(10_500);
    w.stop();
    expect(attempts.map((t) => t - t0())).toEqual([5000, 10_000]);
  });

  it('GIVEN failureThreshold 3 WHEN readiness fails after succeeding THEN the result flips only on the third failure in a row, each failure counted', async () => {
    const { w, reported, failed } = worker('readiness', { periodSeconds: 1, failureThreshold: 3 }, [true, false, false, true, false, false, false]);
    w.start();
    await jest.advanceTimersByTimeAsync(6500);
    w.stop();
    expect(reported.map((r) => [r.ok, r.at - t0()])).toEqual([
      [true, 0],
      [true, 3000],
      [false, 6000],
    ]);
    expect(failed).toHaveLength(5);
  });

  it('GIVEN successThreshold 2 on readiness THEN ready only after two successes in a row', async () => {
    const { w, reported } = worker('readiness', { periodSeconds: 1, successThreshold: 2 }, [true, false, true, true]);
    w.start();
    await jest.advanceTimersByTimeAsync(3500);
    w.stop();
    expect(reported.map((r) => [r.ok, r.at - t0()])).toEqual([[true, 3000]]);
  });

  it('GIVEN a liveness failure reported THEN the worker holds (no more probes) until replaced', async () => {
    const { w, attempts, reported } = worker('liveness', { periodSeconds: 1, failureThreshold: 2 }, [false]);
    w.start();
    await jest.advanceTimersByTimeAsync(5500);
    w.stop();
    expect(reported).toEqual([{ ok: false, at: t0() + 1000 }]);
    expect(attempts).toHaveLength(2);
  });

  it('GIVEN a container not started (startup probe pending) THEN readiness does not probe; the startup probe does, and stops once started', async () => {
    let started = false;
    const readiness = worker('readiness', { periodSeconds: 1 }, [true], { started: () => started });
    const startup = worker('startup', { periodSeconds: 1 }, [false, true], { started: () => started });
    readiness.w.start();
    startup.w.start();
    await jest.advanceTimersByTimeAsync(1500);
    expect(readiness.attempts).toHaveLength(0);
    expect(startup.reported).toEqual([{ ok: true, at: t0() + 1000 }]);
    started = true;
    await jest.advanceTimersByTimeAsync(2000);
    readiness.w.stop();
    startup.w.stop();
    expect(startup.attempts).toHaveLength(2);
    expect(readiness.attempts.length).toBeGreaterThan(0);
  });
});
