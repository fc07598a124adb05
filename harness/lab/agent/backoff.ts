/**
 * The kubelet's CrashLoopBackOff, per container: the first restart after a crash happens at once;
 * each later one waits (measured from when the container finished) a delay that starts at `baseMs`
 * and doubles per restart up to `maxMs`. A container that stayed up for twice the maximum
 * (10 minutes with the defaults) starts over with no delay, as the kubelet's flowcontrol.Backoff
 * forgets entries older than 2 × max.
 */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

interface Entry {
  /** Delay the next restart must wait, from the container's finish time. */
  delayMs: number;
  /** When the entry was last advanced (a restart). */
  lastUpdateMs: number;
}

export class CrashLoopBackoff {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: BackoffOptions) {}

  /**
   * How long to wait before restarting `key`, which finished at `finishedAtMs`; 0 means now.
   * Does not advance the backoff: call `restarted` when the restart really happens.
   */
  delayBeforeRestart(key: string, finishedAtMs: number, nowMs: number): number {
    const entry = this.current(key, nowMs);
    if (!entry) return 0;
    return Math.max(0, finishedAtMs + entry.delayMs - nowMs);
  }

  /** The delay the current wait uses (for the CrashLoopBackOff message), 0 when none. */
  currentDelay(key: string, nowMs: number): number {
    return this.current(key, nowMs)?.delayMs ?? 0;
  }

  /** Records a restart: the next crash waits `baseMs` (first time) or twice the previous delay. */
  restarted(key: string, nowMs: number): void {
    const entry = this.current(key, nowMs);
    const delayMs = entry ? Math.min(entry.delayMs * 2, this.options.maxMs) : Math.min(this.options.baseMs, this.options.maxMs);
    this.entries.set(key, { delayMs, lastUpdateMs: nowMs });
  }

  forget(key: string): void {
    this.entries.delete(key);
  }

  /** Forgets every key starting with `prefix` (a pod's containers when the pod goes). */
  forgetPrefix(prefix: string): void {
    for (const key of [...this.entries.keys()]) if (key.startsWith(prefix)) this.entries.delete(key);
  }

  private current(key: string, nowMs: number): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && nowMs - entry.lastUpdateMs > 2 * this.options.maxMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }
}
