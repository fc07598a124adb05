import { createHash } from 'node:crypto';
import { formatMs } from '../../core/duration.ts';

export type Log = (line: string) => void;

/** Runs one named step, logging its start and end with its duration, and a heartbeat while it runs. */
export async function step<T>(log: Log, name: string, body: () => Promise<T>, heartbeatMs = 30_000): Promise<T> {
  const started = Date.now();
  log(`[node-image] ${name} ...`);
  const heartbeat = setInterval(() => log(`[node-image] ${name}: still running, ${formatMs(Date.now() - started)}`), heartbeatMs);
  try {
    const result = await body();
    log(`[node-image] ${name}: done in ${formatMs(Date.now() - started)}`);
    return result;
  } finally {
    clearInterval(heartbeat);
  }
}

/** First 8 hex digits of sha256 over the parts: the cache keys' short form. */
export function shortHash(...parts: readonly string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex').slice(0, 8);
}
