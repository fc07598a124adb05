import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Container } from '@kubernetes/client-node';

/**
 * Termination messages, as the kubelet reads them (pkg/kubelet/kuberuntime): every container
 * instance gets a file of its own in the pod's state directory, which the lab bind-mounts at the
 * container's terminationMessagePath (process.ts). When the container ends, the agent reads the
 * file's last 4096 bytes into state.terminated.message; with FallbackToLogsOnError, a non-zero
 * exit and nothing written, the tail of this instance's log (80 lines, 2048 bytes) is used
 * instead. The status carries at most 12 KiB of messages per pod (status.ts).
 */
export const DEFAULT_TERMINATION_MESSAGE_PATH = '/dev/termination-log';
export const MAX_CONTAINER_MESSAGE_BYTES = 4096;
export const MAX_POD_MESSAGE_BYTES = 12 * 1024;
export const LOG_TAIL_LINES = 80;
export const LOG_TAIL_BYTES = 2048;

/** Where one container instance's message is read from. */
export interface MessageSource {
  /** The host file bind-mounted at terminationMessagePath. */
  file: string;
  fallbackToLogs: boolean;
  logPath: string;
  /** Size of the (shared, appended) log when this instance started: its output begins here. */
  logOffset: number;
}

/** The last `max` bytes: the kubelet keeps a message's end, where the error usually is. */
export function lastBytes(data: Buffer, max: number): Buffer {
  return data.length > max ? data.subarray(data.length - max) : data;
}

/**
 * The last `lines` lines of a log, then at most its last `maxBytes` bytes (what the kubelet's
 * TailLines read into a ring buffer yields). `data` may be only the log's end: when it holds fewer
 * than `lines` lines, the whole of it is inside the window anyway.
 */
export function logTail(data: Buffer, lines: number, maxBytes: number): Buffer {
  // A trailing newline ends the last line; it does not start another one.
  let end = data.length;
  if (end > 0 && data[end - 1] === 0x0a) end -= 1;
  let start = 0;
  let seen = 0;
  for (let i = end - 1; i >= 0; i -= 1) {
    if (data[i] !== 0x0a) continue;
    seen += 1;
    if (seen === lines) {
      start = i + 1;
      break;
    }
  }
  return lastBytes(data.subarray(start), maxBytes);
}

/** The first `maxBytes` bytes of a string, cut back to a whole UTF-8 character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let cut = Math.max(0, maxBytes);
  // Step back over continuation bytes (10xxxxxx) so no character is split.
  while (cut > 0 && ((bytes[cut] as number) & 0xc0) === 0x80) cut -= 1;
  return bytes.subarray(0, cut).toString('utf8');
}

/** Each container's share of the pod's 12 KiB (the kubelet's status manager splits it evenly). */
export function podMessageCap(containerCount: number): number {
  return containerCount > 0 ? Math.floor(MAX_POD_MESSAGE_BYTES / containerCount) : MAX_POD_MESSAGE_BYTES;
}

/** The kubelet appends what the application wrote to the runtime's own message, if any. */
export function composeMessage(runtimeMessage: string | undefined, written: string): string | undefined {
  if (!written) return runtimeMessage;
  return runtimeMessage ? `${runtimeMessage}: ${written}` : written;
}

/** Reads at most `max` bytes from the end of a file, not before `from`. */
function readEnd(path: string, max: number, from = 0): Buffer {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(from, size - max, 0);
    const buffer = Buffer.alloc(Math.max(0, size - start));
    let read = 0;
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, start + read);
      if (n === 0) break;
      read += n;
    }
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

/**
 * The message for an instance that ended with `exitCode`. Synchronous on purpose: the worker sets
 * the terminated state in the same turn as it learns of the exit, so the status written before
 * the pod's final delete already carries the message.
 */
export function readTerminationMessage(source: MessageSource, exitCode: number): string {
  let data: Buffer;
  try {
    data = readEnd(source.file, MAX_CONTAINER_MESSAGE_BYTES);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return `Error on reading termination log ${source.file}: ${(error as Error).message}`;
    data = Buffer.alloc(0);
  }
  if (data.length > 0 || !source.fallbackToLogs || exitCode === 0) return data.toString('utf8');
  try {
    return logTail(readEnd(source.logPath, LOG_TAIL_BYTES, source.logOffset), LOG_TAIL_LINES, LOG_TAIL_BYTES).toString('utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    return `Error on reading termination message from logs: ${(error as Error).message}`;
  }
}

/** What the container asks for: the path (empty: no message file) and whether logs stand in. */
export function messageSpec(container: V1Container): { path: string; fallbackToLogs: boolean } {
  return {
    // The API server defaults both; a pod that did not pass through one gets the same defaults.
    path: container.terminationMessagePath ?? DEFAULT_TERMINATION_MESSAGE_PATH,
    fallbackToLogs: container.terminationMessagePolicy === 'FallbackToLogsOnError',
  };
}

export const messageDir = (podDir: string): string => join(podDir, 'termination-messages');

/** A fresh, empty, world-writable file for one instance (as the kubelet makes it: any user may write). */
export async function createMessageFile(podDir: string, container: string, instance: number): Promise<string> {
  await mkdir(messageDir(podDir), { recursive: true });
  const file = join(messageDir(podDir), `${container}.${instance}`);
  await writeFile(file, '');
  await chmod(file, 0o666);
  return file;
}

export async function removeMessageFile(file: string | undefined): Promise<void> {
  if (file) await rm(file, { force: true });
}
