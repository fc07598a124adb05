import type { RunProgress } from '../engine/progress.ts';
import { unicodeBar } from '../report/markdown-table.ts';

/**
 * How `kth run` shows a run's progress on stderr. Not a terminal (CI logs, tests parsing stderr):
 * the engine's log lines exactly as they are, nothing else. A terminal: the same log lines scroll
 * as usual, and under them a small block — phase, elapsed time, per-pod shares so far as bars —
 * is redrawn in place (cursor up, clear to the end of the screen, the new block in one write, so it
 * does not flicker), at most every 500 ms.
 */

/** Pod rows shown at most; the rest are summed in one line. */
const podRowLimit = 12;
const barWidth = 20;

const seconds = (ms: number) => `${Math.floor(ms / 1000)} s`;

/** Cuts a line to `columns - 1` characters (code points), so it never wraps and the cursor-up count stays right. */
function fit(line: string, columns: number): string {
  const chars = [...line];
  return chars.length < columns ? line : `${chars.slice(0, Math.max(1, columns - 2)).join('')}…`;
}

/** The block for one progress event: a heading line, then one line per pod (by name, so rows do not jump). */
export function renderProgressBlock(event: RunProgress, columns = 80): string[] {
  const share = event.totalMs > 0 ? Math.min(1, event.elapsedMs / event.totalMs) : 1;
  const total = event.shares.reduce((sum, row) => sum + row.requests, 0);
  const head = `[${event.run}] ${event.phase} ${seconds(event.elapsedMs)} of ${seconds(event.totalMs)} ${unicodeBar(share, barWidth).padEnd(barWidth, '·')} ${total} requests, ${event.errors} errors${event.last ? ` · ${event.last}` : ''}`;
  const rows = [...event.shares].sort((a, b) => a.pod.localeCompare(b.pod, 'en', { numeric: true }));
  const nameWidth = Math.max(0, ...rows.slice(0, podRowLimit).map((row) => row.pod.length));
  const lines = [head];
  for (const row of rows.slice(0, podRowLimit)) {
    const fraction = total > 0 ? row.requests / total : 0;
    lines.push(`  ${row.pod.padEnd(nameWidth)} ${unicodeBar(fraction, barWidth).padEnd(barWidth)} ${`${(fraction * 100).toFixed(1)}%`.padStart(6)} ${row.requests}`);
  }
  if (rows.length > podRowLimit) {
    const rest = rows.slice(podRowLimit);
    lines.push(`  … ${rest.length} more pod(s), ${rest.reduce((sum, row) => sum + row.requests, 0)} requests`);
  }
  if (rows.length === 0 && event.phase !== 'done') lines.push('  (no responses yet)');
  return lines.map((line) => fit(line, columns));
}

export interface ProgressViewOptions {
  write: (text: string) => void;
  /** Whether stderr is a terminal: only then is anything drawn beyond the log lines. */
  tty: boolean;
  /** Terminal width. @default 80 */
  columns?: () => number | undefined;
  /** @default Date.now */
  now?: () => number;
  /** @default 500 */
  minRedrawMs?: number;
}

/** Cursor to the start of the line `n` up, and clear from there to the end of the screen. */
const erase = (lines: number) => (lines > 0 ? `\x1b[${lines}F\x1b[J` : '');

export class ProgressView {
  readonly #options: ProgressViewOptions;
  /** Lines of the block on screen now (0: none). */
  #drawn = 0;
  #latest: RunProgress | undefined;
  #lastDraw = -Infinity;

  constructor(options: ProgressViewOptions) {
    this.#options = options;
  }

  /** Whether progress events are drawn (callers need not produce them otherwise). */
  get live(): boolean {
    return this.#options.tty;
  }

  /** A log line: as is; on a terminal above the block, which is redrawn under it. */
  log(line: string): void {
    if (!this.#options.tty || !this.#latest) {
      this.#options.write(`${line}\n`);
      return;
    }
    const block = this.#block(this.#latest);
    this.#options.write(`${erase(this.#drawn)}${line}\n${block.join('\n')}\n`);
    this.#drawn = block.length;
  }

  /** A progress event: redrawn at most every minRedrawMs; `done` takes the block away. */
  progress(event: RunProgress): void {
    if (!this.#options.tty) return;
    if (event.phase === 'done') {
      this.close();
      return;
    }
    this.#latest = event;
    const now = (this.#options.now ?? Date.now)();
    if (now - this.#lastDraw < (this.#options.minRedrawMs ?? 500)) return;
    this.#lastDraw = now;
    const block = this.#block(event);
    this.#options.write(`${erase(this.#drawn)}${block.join('\n')}\n`);
    this.#drawn = block.length;
  }

  /** Removes the block (the run's own result line follows in the log). */
  close(): void {
    if (this.#drawn > 0) this.#options.write(erase(this.#drawn));
    this.#drawn = 0;
    this.#latest = undefined;
    this.#lastDraw = -Infinity;
  }

  #block(event: RunProgress): string[] {
    return renderProgressBlock(event, this.#options.columns?.() ?? 80);
  }
}
