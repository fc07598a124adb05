import type { V1Probe } from '@kubernetes/client-node';
import { type HandlerOutcome, type HandlerTarget, runProbe } from './handlers.ts';

/**
 * One probe of one container, scheduled as the kubelet's prober worker schedules it
 * (pkg/kubelet/prober/worker.go): a tick at start and every periodSeconds after; a tick before
 * initialDelaySeconds (counted from the container's start) does nothing; readiness and liveness
 * wait until the container has started (startup probe passed); a result changes only after
 * successThreshold / failureThreshold equal results in a row; after a liveness or startup
 * failure the worker holds until the container is replaced.
 */
export type ProbeKind = 'readiness' | 'liveness' | 'startup';

export interface ProbeWorkerOptions {
  kind: ProbeKind;
  probe: V1Probe;
  target: HandlerTarget;
  containerStartedAt: Date;
  /** Whether the container has started (readiness and liveness probes wait for it). */
  isStarted: () => boolean;
  /** The result the worker reports changed (after the thresholds). */
  onResult: (kind: ProbeKind, ok: boolean, outcome: HandlerOutcome) => void;
  /** Every failed attempt (the kubelet records an Unhealthy event for each). */
  onFailedAttempt?: (kind: ProbeKind, outcome: HandlerOutcome) => void;
  /** Run a probe attempt; defaults to the real one (tests replace it). */
  attempt?: (probe: V1Probe, target: HandlerTarget) => Promise<HandlerOutcome>;
}

/** Kubernetes API defaults for probe fields the API server did not fill (pods read from files). */
export function probeTiming(probe: V1Probe) {
  return {
    initialDelayMs: (probe.initialDelaySeconds ?? 0) * 1000,
    periodMs: Math.max(1, probe.periodSeconds ?? 10) * 1000,
    successThreshold: Math.max(1, probe.successThreshold ?? 1),
    failureThreshold: Math.max(1, probe.failureThreshold ?? 3),
  };
}

export class ProbeWorker {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private busy = false;
  private onHold = false;
  private lastResult: boolean | undefined;
  private resultRun = 0;
  private readonly timing;

  constructor(private readonly options: ProbeWorkerOptions) {
    this.timing = probeTiming(options.probe);
    // Liveness and startup (once the container started) are never successful "twice": the
    // thresholds for them are 1, as API validation enforces.
    if (options.kind !== 'readiness') this.timing.successThreshold = 1;
  }

  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => void this.tick(), this.timing.periodMs);
    this.timer.unref();
    setImmediate(() => void this.tick());
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Probe now (out of schedule), e.g. readiness right after the startup probe passed. */
  trigger(): void {
    setImmediate(() => void this.tick());
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.busy || this.onHold) return;
    const { kind } = this.options;
    if (kind === 'startup' ? this.options.isStarted() : !this.options.isStarted()) return;
    if (Date.now() - this.options.containerStartedAt.getTime() < this.timing.initialDelayMs) return;
    this.busy = true;
    let outcome: HandlerOutcome;
    try {
      outcome = await (this.options.attempt ?? runProbe)(this.options.probe, this.options.target);
    } catch (error) {
      outcome = { ok: false, output: (error as Error).message };
    } finally {
      this.busy = false;
    }
    if (this.stopped) return;
    if (!outcome.ok) this.options.onFailedAttempt?.(kind, outcome);
    if (this.lastResult === outcome.ok) this.resultRun += 1;
    else {
      this.lastResult = outcome.ok;
      this.resultRun = 1;
    }
    if ((!outcome.ok && this.resultRun < this.timing.failureThreshold) || (outcome.ok && this.resultRun < this.timing.successThreshold)) return;
    this.options.onResult(kind, outcome.ok, outcome);
    if ((kind === 'liveness' || kind === 'startup') && !outcome.ok) {
      this.onHold = true;
      this.resultRun = 0;
    }
  }
}
