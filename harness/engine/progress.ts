import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { TimelineEvent } from '../recorder/events.ts';
import type { TimelineEntry } from '../report/model.ts';

/**
 * Live progress of one run while its loads run, as data: the engine emits it, the CLI decides how
 * to show it (a redrawn block on a terminal, nothing extra in CI logs). Shares come from the tail
 * of the loads' events files, which the `kth load` children write as they go.
 */
export interface RunProgress {
  /** `<proxyMode>/<variant>`. */
  run: string;
  /** running: loads on the clock; finishing: past the last load's end, waiting for loads and undos; done: the run's loads are over. */
  phase: 'running' | 'finishing' | 'done';
  elapsedMs: number;
  totalMs: number;
  /** Requests answered per pod so far, every load summed, pods in the order they first answered. */
  shares: { pod: string; requests: number }[];
  /** Failed requests so far (every kind). */
  errors: number;
  /** The latest timeline entry (a chaos action, a load starting or ending), in words. */
  last?: string;
}

/**
 * Sums request and error samples from ndjson files that grow while they are read: each read
 * starts where the last one stopped and keeps a trailing partial line for the next.
 */
export class EventsTail {
  readonly #files: readonly string[];
  readonly #offsets = new Map<string, number>();
  readonly #partial = new Map<string, string>();
  readonly requests = new Map<string, number>();
  errors = 0;

  constructor(files: readonly string[]) {
    this.#files = files;
  }

  /** Reads what was appended since the last call; a file that does not exist yet counts as empty. */
  async poll(): Promise<void> {
    for (const file of this.#files) {
      let handle;
      try {
        handle = await open(file, 'r');
      } catch {
        continue;
      }
      try {
        const offset = this.#offsets.get(file) ?? 0;
        const { size } = await handle.stat();
        if (size <= offset) continue;
        const buffer = Buffer.alloc(size - offset);
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
        this.#offsets.set(file, offset + bytesRead);
        const text = (this.#partial.get(file) ?? '') + buffer.subarray(0, bytesRead).toString('utf8');
        const lines = text.split('\n');
        this.#partial.set(file, lines.pop() ?? '');
        for (const line of lines) this.#add(line);
      } finally {
        await handle.close();
      }
    }
  }

  #add(line: string): void {
    if (!line.trim()) return;
    let event: TimelineEvent;
    try {
      event = JSON.parse(line) as TimelineEvent;
    } catch {
      return; // progress only: a line it cannot read is skipped, collect.ts reads the file for real
    }
    if (event.kind === 'request-sample') this.requests.set(event.pod, (this.requests.get(event.pod) ?? 0) + event.requests);
    else if (event.kind === 'error-sample') this.errors += event.count;
  }
}

/** The events file of one load of a run, as execute.ts names it. */
export function loadEventsFile(dir: string, proxyMode: string, variant: string, load: string): string {
  return join(dir, `events-${proxyMode}-${variant}-${load}.ndjson`);
}

export interface ProgressOptions {
  emit: (event: RunProgress) => void;
  dir: string;
  proxyMode: string;
  variant: string;
  loads: readonly string[];
  /** Epoch ms of the run's clock start. */
  t0: number;
  totalMs: number;
  /** The run's timeline, read (never written) for the latest entry. */
  timeline: readonly TimelineEntry[];
  /** @default 500 */
  everyMs?: number;
  now?: () => number;
}

/** Emits a RunProgress every `everyMs` until stop(), which emits the final `done`. */
export function startProgress(options: ProgressOptions): { stop(): void } {
  const now = options.now ?? Date.now;
  // Showing progress must never break a run.
  const emit = (progress: RunProgress) => {
    try {
      options.emit(progress);
    } catch {
      // ignored: the next tick tries again
    }
  };
  const tail = new EventsTail(options.loads.map((load) => loadEventsFile(options.dir, options.proxyMode, options.variant, load)));
  const event = (phase?: RunProgress['phase']): RunProgress => {
    const elapsedMs = Math.max(0, now() - options.t0);
    const latest = options.timeline.reduce<TimelineEntry | undefined>((last, entry) => (!last || entry.t >= last.t ? entry : last), undefined);
    return {
      run: `${options.proxyMode}/${options.variant}`,
      phase: phase ?? (elapsedMs < options.totalMs ? 'running' : 'finishing'),
      elapsedMs,
      totalMs: options.totalMs,
      shares: [...tail.requests].map(([pod, requests]) => ({ pod, requests })),
      errors: tail.errors,
      ...(latest ? { last: `${latest.kind} ${latest.detail}` } : {}),
    };
  };
  let stopped = false;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    tail
      .poll()
      .catch(() => {})
      .then(() => {
        busy = false;
        if (!stopped) emit(event());
      });
  }, options.everyMs ?? 500);
  timer.unref?.();
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      emit(event('done'));
    },
  };
}
