import type { V1LifecycleHandler } from '@kubernetes/client-node';
import { abortableSleep, type HandlerTarget, runLifecycleHandler } from './handlers.ts';
import type { ContainerProcess, ExitInfo } from './process.ts';

/**
 * Stopping one container the way the kubelet's killContainer does
 * (pkg/kubelet/kuberuntime/kuberuntime_container.go):
 *
 *   1. the preStop hook, if any and the grace period is above 0, bounded by the grace period;
 *   2. SIGTERM to the container's main process;
 *   3. wait for the rest of the grace period (the preStop time counts against it), but at least
 *      2 seconds (the kubelet's minimumGracePeriodInSeconds);
 *   4. SIGKILL to everything in the container.
 *
 * A grace period of 0 (force delete) skips the hook and the wait: SIGKILL at once. Aborting
 * `escalate` (the pod was force-deleted meanwhile) cuts any wait short and kills at once.
 */
export const MINIMUM_GRACE_MS = 2000;

export interface StopContainerOptions {
  process: ContainerProcess;
  gracePeriodMs: number;
  preStop?: V1LifecycleHandler;
  target: HandlerTarget;
  escalate?: AbortSignal;
  onPreStopFailed?: (output: string) => void;
  /** How long to wait for a SIGKILLed process to be gone before giving up on it. */
  killWaitMs?: number;
}

export interface StopResult {
  exit: ExitInfo | undefined;
  preStopMs: number;
  /** SIGKILL was needed (the process outlived SIGTERM + grace, or the grace period was 0). */
  killed: boolean;
  timeline: { preStopStartedAt?: Date; sigtermAt?: Date; sigkillAt?: Date };
}

async function waitExit(process: ContainerProcess, ms: number, escalate?: AbortSignal): Promise<ExitInfo | undefined> {
  if (process.hasExited()) return process.exited;
  const abort = new AbortController();
  const onEscalate = () => abort.abort();
  escalate?.addEventListener('abort', onEscalate, { once: true });
  try {
    return await Promise.race([process.exited, abortableSleep(ms, abort.signal).then(() => undefined)]);
  } finally {
    abort.abort();
    escalate?.removeEventListener('abort', onEscalate);
  }
}

export async function stopContainer(options: StopContainerOptions): Promise<StopResult> {
  const { process } = options;
  const started = Date.now();
  const timeline: StopResult['timeline'] = {};
  let grace = Math.max(0, options.gracePeriodMs);
  let preStopMs = 0;
  if (process.hasExited()) return { exit: await process.exited, preStopMs, killed: false, timeline };

  if (grace > 0 && options.preStop && !options.escalate?.aborted) {
    timeline.preStopStartedAt = new Date();
    const budget = new AbortController();
    const onEscalate = () => budget.abort();
    options.escalate?.addEventListener('abort', onEscalate, { once: true });
    try {
      // The hook runs until it returns or the grace period is used up, whichever is first.
      const outcome = await Promise.race([
        runLifecycleHandler(options.preStop, options.target, grace, budget.signal),
        abortableSleep(grace, budget.signal).then(() => ({ ok: false, output: `PreStopHook did not finish within the grace period (${grace / 1000}s)` })),
      ]);
      if (!outcome.ok && !options.escalate?.aborted) options.onPreStopFailed?.(outcome.output);
    } finally {
      budget.abort();
      options.escalate?.removeEventListener('abort', onEscalate);
    }
    preStopMs = Date.now() - started;
    grace = Math.max(grace - preStopMs, MINIMUM_GRACE_MS);
  } else if (grace > 0) {
    grace = Math.max(grace, MINIMUM_GRACE_MS);
  }

  let exit: ExitInfo | undefined;
  if (grace > 0 && !options.escalate?.aborted) {
    timeline.sigtermAt = new Date();
    process.signal('SIGTERM');
    exit = await waitExit(process, grace, options.escalate);
  }
  if (exit) return { exit, preStopMs, killed: false, timeline };
  timeline.sigkillAt = new Date();
  process.killAll();
  exit = await waitExit(process, options.killWaitMs ?? 10_000);
  return { exit, preStopMs, killed: true, timeline };
}
