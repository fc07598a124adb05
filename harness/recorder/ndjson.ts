import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { environmentError } from '../core/errors.ts';
import type { TimelineEvent } from './events.ts';
import type { EventSink } from './recorder.ts';

export interface NdjsonWriter {
  /** Pass this to the recorder. */
  readonly sink: EventSink;
  readonly path: string;
  /** Lines written so far. */
  readonly lines: number;
  /** Flushes and closes the file; rejects when any write failed. */
  close(): Promise<void>;
}

/**
 * Writes `events.ndjson`: one event per line, in the order the recorder emits them (aggregated
 * samples come out when their bucket closes, so lines are in time order per source, not globally).
 * Lines are batched and handed to the stream together; nothing is kept after it is written.
 */
export function createNdjsonWriter(path: string): NdjsonWriter {
  mkdirSync(dirname(path), { recursive: true });
  const stream = createWriteStream(path, { flags: 'w' });
  let failure: Error | undefined;
  stream.on('error', (error) => {
    failure ??= error;
  });
  let pending: string[] = [];
  let scheduled = false;
  let lines = 0;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const chunk = pending.join('');
    pending = [];
    stream.write(chunk);
  };
  return {
    path,
    get lines() {
      return lines;
    },
    sink(event: TimelineEvent) {
      pending.push(`${JSON.stringify(event)}\n`);
      lines++;
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    async close() {
      flush();
      await new Promise<void>((resolve) => stream.end(resolve));
      if (failure) throw environmentError(`could not write ${path}: ${failure.message}`, { where: path, cause: failure });
    },
  };
}

/** Reads an events.ndjson back, one event at a time (for analysis of long runs without loading it all). */
export async function* readEvents(path: string): AsyncGenerator<TimelineEvent> {
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let number = 0;
  for await (const line of lines) {
    number++;
    if (line.trim() === '') continue;
    try {
      yield JSON.parse(line) as TimelineEvent;
    } catch (error) {
      throw environmentError(`${path}:${number}: not a JSON line`, { where: `${path}:${number}`, cause: error });
    }
  }
}
