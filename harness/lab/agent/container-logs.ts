import { readSync, watch } from 'node:fs';
import { access, type FileHandle, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { V1Pod } from '@kubernetes/client-node';
import { podDirName } from './names.ts';
import { type PersistedPod, podsDir, podStatePath } from './pod-state.ts';
import { procStartTime } from './process.ts';
import { ByteBudget, labUnsupported, type LogQuery, LogRequestError, tailOffset } from './log-query.ts';

/**
 * A container's log as the kubelet's `/containerLogs` serves it, from what the agent leaves on
 * disk: `<stateDir>/pods/<ns>_<name>_<uid8>/<container>.log` (appended by the process itself, so
 * it survives agent restarts) and the pod's state.json (the running process's pid and start time,
 * which say when a follow ends, and where each instance's output starts). Reading disk rather than the pod workers keeps this independent
 * of them, and right across agent restarts.
 */
export interface ContainerLog {
  path: string;
  /** Where the instance's output starts in the file, and where it ends (undefined: still growing). */
  start: number;
  end?: number;
  /** Whether the container instance whose output is being read still runs. */
  running: () => Promise<boolean>;
}

/** A container's log file: every instance of the container appends to it. */
export const containerLogPath = (podDir: string, container: string): string => join(podDir, `${container}.log`);

/**
 * What state.json says about a container, with where its instances' output starts in the log:
 * `logOffset` for the current (or last) instance, `lastLogOffset` for the one before. The pod
 * worker records them as it starts an instance; without them the whole file is one instance.
 */
type SavedContainer = PersistedPod['containers'][number] & { logOffset?: number; lastLogOffset?: number };

const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false);

const containerNames = (pod: V1Pod): string[] =>
  [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? []), ...(pod.spec?.ephemeralContainers ?? [])].map((c) => c.name);

async function readState(dir: string): Promise<PersistedPod | undefined> {
  try {
    return JSON.parse(await readFile(podStatePath(dir), 'utf8')) as PersistedPod;
  } catch {
    return undefined;
  }
}

/** Finds the log to serve, or throws the error a kubelet would answer with (status + message). */
export async function locateContainerLog(stateDir: string, pod: V1Pod | undefined, podName: string, container: string, query: LogQuery): Promise<ContainerLog> {
  if (!pod) throw new LogRequestError(404, `pod "${podName}" does not exist`);
  const names = containerNames(pod);
  if (!names.includes(container)) throw new LogRequestError(404, `container "${container}" not found in pod "${podName}" (its containers: ${names.join(', ')})`);
  const unsupported = labUnsupported(query);
  if (unsupported) throw new LogRequestError(400, unsupported);
  const dir = join(podsDir(stateDir), podDirName(pod.metadata?.namespace ?? '', podName, pod.metadata?.uid ?? ''));
  const state = await readState(dir);
  const saved: SavedContainer | undefined = state?.containers.find((c) => c.name === container);
  const path = containerLogPath(dir, container);
  if (query.previous) {
    if (!saved || (saved.restartCount === 0 && !saved.lastTerminated)) throw new LogRequestError(400, `previous terminated container "${container}" in pod "${podName}" not found`);
    if (saved.lastLogOffset === undefined || saved.logOffset === undefined || !(await exists(path))) {
      throw new LogRequestError(400, `previous=true is not supported by the lab node agent: every instance of container "${container}" appended to one log file and where the previous one's output starts is not recorded, so it cannot be told from the current one's; omit previous to read the whole log`);
    }
    return { path, start: saved.lastLogOffset, end: saved.logOffset, running: async () => false };
  }
  if (!(await exists(path))) {
    const status = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].find((s) => s.name === container);
    throw new LogRequestError(400, `container "${container}" in pod "${podName}" is waiting to start: ${status?.state?.waiting?.reason ?? 'ContainerCreating'}`);
  }
  // The instance running now (if any): a follow ends when it does, as the kubelet's does.
  const pid = saved?.pid;
  const procStart = saved?.procStart;
  const running = async () => pid !== undefined && procStart !== undefined && procStartTime(pid) === procStart;
  return { path, start: saved?.logOffset ?? 0, running };
}

export interface StreamOptions {
  /** How often a follow checks that the container still runs (and re-reads, should a change event be missed). */
  checkIntervalMs?: number;
}

/** Bytes from `offset` to the current end of the file, in chunks. */
async function* readFrom(fh: FileHandle, offset: number): AsyncGenerator<Buffer> {
  const buffer = Buffer.allocUnsafe(64 * 1024);
  for (;;) {
    const { bytesRead } = await fh.read(buffer, 0, buffer.length, offset);
    if (bytesRead === 0) return;
    offset += bytesRead;
    yield Buffer.from(buffer.subarray(0, bytesRead));
  }
}

async function write(out: Writable, chunk: Buffer, signal: AbortSignal): Promise<void> {
  if (out.write(chunk) || signal.aborted) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      out.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    out.on('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Writes the log to `out` as the query says: from the start or the last `tailLines` lines, at
 * most `limitBytes`, then (with `follow`) what is appended until the container stops, the limit
 * is reached or `signal` aborts (the client went away). The watcher and timer are released on
 * every way out.
 */
export async function streamContainerLog(log: ContainerLog, query: LogQuery, out: Writable, signal: AbortSignal, options: StreamOptions = {}): Promise<void> {
  const fh = await open(log.path, 'r');
  const budget = new ByteBudget(query.limitBytes);
  let watcher: ReturnType<typeof watch> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  let changed = false;
  const onAbort = () => wake?.();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const size = (await fh.stat()).size;
    const end = Math.min(log.end ?? size, size);
    // A recorded start past the end means the file is not the one it was recorded for: read it all.
    const start = log.start <= end ? log.start : 0;
    let offset = start;
    if (query.tailLines !== undefined) {
      const tailRead = (position: number, length: number) => {
        const chunk = Buffer.alloc(length);
        // Synchronous reads keep tailOffset pure; tails are read once per request.
        readSyncAt(fh, chunk, start + position);
        return chunk;
      };
      offset = start + tailOffset(end - start, query.tailLines, tailRead);
    }
    // Whether the instance runs is decided before reading: lines it wrote before exiting are all read after.
    let running = query.follow && (await log.running());
    const pump = async () => {
      for await (const read of readFrom(fh, offset)) {
        if (signal.aborted) return;
        const chunk = log.end === undefined ? read : read.subarray(0, Math.max(0, end - offset));
        offset += chunk.length;
        await write(out, budget.take(chunk), signal);
        if (log.end !== undefined && offset >= end) return;
        if (budget.exhausted) return;
      }
    };
    await pump();
    if (!running) return;
    watcher = watch(log.path, { persistent: false }, () => {
      changed = true;
      wake?.();
    });
    watcher.on('error', () => {}); // the file went away with the pod: the timer ends the follow
    const interval = options.checkIntervalMs ?? 500;
    let due = false;
    timer = setInterval(() => {
      due = true;
      wake?.();
    }, interval);
    timer.unref();
    while (!signal.aborted && !budget.exhausted) {
      if (!changed && !due) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
        continue;
      }
      if (due) {
        due = false;
        running = await log.running();
      }
      changed = false;
      await pump();
      if (!running) return;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    watcher?.close();
    if (timer) clearInterval(timer);
    await fh.close();
  }
}


function readSyncAt(fh: FileHandle, into: Buffer, position: number): void {
  let done = 0;
  while (done < into.length) {
    const n = readSync(fh.fd, into, done, into.length - done, position + done);
    if (n === 0) break;
    done += n;
  }
}
