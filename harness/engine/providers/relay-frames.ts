import { createWriteStream, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { parseRelayFrame } from '../../load/relay.ts';

/** The host path a load writes its events to (`--events <path>`), which the relay frames carry back. */
export function eventsPath(argv: readonly string[]): string | undefined {
  const index = argv.indexOf('--events');
  return index >= 0 ? argv[index + 1] : undefined;
}

/**
 * Decodes a `kth load relay` output stream (a pod's log, a container's stdout) into the load's
 * stdout, stderr and events file on this host. Resolves with the exit code the relay reported,
 * or undefined when the stream ended without one (the relay was killed, or the stream was cut).
 */
export async function decodeRelayFrames(input: Readable, sinks: { stdout: Writable; stderr: Writable; eventsFile: string | undefined }): Promise<number | null | undefined> {
  let events: WriteStream | undefined;
  let exit: number | null | undefined;
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    const frame = parseRelayFrame(line);
    if (!frame) continue;
    if (frame.relay === 'stdout') sinks.stdout.write(frame.data);
    else if (frame.relay === 'stderr') sinks.stderr.write(frame.data);
    else if (frame.relay === 'events' && sinks.eventsFile) (events ??= createWriteStream(sinks.eventsFile, { flags: 'a' })).write(`${frame.line}\n`);
    else if (frame.relay === 'exit') exit = frame.code;
  }
  if (events) await new Promise((resolve) => events!.end(resolve));
  return exit;
}
