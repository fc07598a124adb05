import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * `kth load relay -- <load argv>`: one `kth load …` inside a pod of a cluster the harness reaches
 * only through its API. The API gives back one thing from a pod, its log, so the relay frames
 * everything the load produces as JSON lines on stdout: its stdout and stderr, the lines of its
 * events file (`--events`), and its exit code last. The harness decodes them (relay-client.ts)
 * exactly as if the load had run beside it. Pod logs merge stdout and stderr; framing keeps them
 * apart and makes a truncated log detectable (no exit frame).
 */
export type RelayFrame =
  | { relay: 'stdout' | 'stderr'; data: string }
  | { relay: 'events'; line: string }
  | { relay: 'exit'; code: number | null; signal: string | null };

export const relayFrame = (frame: RelayFrame): string => `${JSON.stringify(frame)}\n`;

/** Parses one log line; undefined for anything that is not a frame (a runtime's own message). */
export function parseRelayFrame(line: string): RelayFrame | undefined {
  if (!line.startsWith('{"relay":')) return undefined;
  try {
    return JSON.parse(line) as RelayFrame;
  } catch {
    return undefined;
  }
}

/** Runs the load with its events file moved into a private directory, frames all it produces, and returns its exit code. */
export async function runRelay(loadArgv: readonly string[], out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'kth-relay-'));
  const argv = [...loadArgv];
  const events = argv.indexOf('--events');
  const eventsFile = join(dir, 'events.ndjson');
  if (events >= 0 && argv[events + 1]) argv[events + 1] = eventsFile;
  const write = (frame: RelayFrame) => out.write(relayFrame(frame));
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1] as string, 'load', ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.setEncoding('utf8').on('data', (data: string) => write({ relay: 'stdout', data }));
  child.stderr.setEncoding('utf8').on('data', (data: string) => write({ relay: 'stderr', data }));
  // Deleting the pod (the harness stopping a load early) is SIGTERM here: the load's Ctrl-C, which prints what it measured.
  const forward = () => child.kill('SIGINT');
  process.on('SIGTERM', forward);
  process.on('SIGINT', forward);
  try {
    const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
    if (events >= 0) {
      try {
        for await (const line of createInterface({ input: createReadStream(eventsFile), crlfDelay: Infinity })) if (line) write({ relay: 'events', line });
      } catch (error) {
        // A load that failed before it wrote anything leaves no file.
        if ((error as { code?: string }).code !== 'ENOENT') throw error;
      }
    }
    write({ relay: 'exit', code, signal });
    return code ?? 1;
  } finally {
    process.off('SIGTERM', forward);
    process.off('SIGINT', forward);
    await rm(dir, { recursive: true, force: true });
  }
}
