import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TerminatedState } from './status.ts';

/**
 * What the agent remembers about each pod it runs, in `<stateDir>/pods/<dir>/state.json`, so a
 * restarted agent adopts running pods (as a kubelet finds its containers through the runtime)
 * instead of starting them twice, and removes what belongs to pods deleted while it was down.
 */
export interface PersistedContainer {
  name: string;
  init: boolean;
  restartCount: number;
  pid?: number;
  procStart?: string;
  startedAt?: string;
  containerId?: string;
  lastContainerId?: string;
  /**
   * The running instance's termination-message file and where its output starts in the log: a
   * restarted agent that adopts the process reads the message from there when it ends. Once it
   * has ended, the message is part of `terminated`.
   */
  messageFile?: string;
  logOffset?: number;
  /** Set when the container is not running. */
  terminated?: Omit<TerminatedState, 'startedAt' | 'finishedAt'> & { startedAt?: string; finishedAt: string };
  lastTerminated?: Omit<TerminatedState, 'startedAt' | 'finishedAt'> & { startedAt?: string; finishedAt: string };
}

export interface PersistedPod {
  uid: string;
  namespace: string;
  name: string;
  /** The pod network namespace, or null for hostNetwork pods. */
  podNetns: string | null;
  hostVeth: string | null;
  podIp: string;
  startTime: string;
  /** The pod completed or failed by itself; its network is gone, nothing runs. */
  completed: boolean;
  containers: PersistedContainer[];
}

export const podsDir = (stateDir: string): string => join(stateDir, 'pods');
export const podStatePath = (podDir: string): string => join(podDir, 'state.json');

export async function writePodState(podDir: string, state: PersistedPod): Promise<void> {
  await mkdir(podDir, { recursive: true });
  const path = podStatePath(podDir);
  await writeFile(`${path}.tmp`, JSON.stringify(state, null, 2));
  await rename(`${path}.tmp`, path);
}

export async function removePodState(podDir: string): Promise<void> {
  await rm(podStatePath(podDir), { force: true });
}

/** Every pod state the agent left, with the directory it is in. */
export async function readPodStates(stateDir: string): Promise<{ dir: string; state: PersistedPod }[]> {
  let entries: string[];
  try {
    entries = await readdir(podsDir(stateDir));
  } catch {
    return [];
  }
  const found: { dir: string; state: PersistedPod }[] = [];
  for (const entry of entries) {
    const dir = join(podsDir(stateDir), entry);
    try {
      found.push({ dir, state: JSON.parse(await readFile(podStatePath(dir), 'utf8')) as PersistedPod });
    } catch {
      // no state (a finished pod's logs) or a torn write: nothing to adopt
    }
  }
  return found;
}

export function toPersistedTerminated(t: TerminatedState): NonNullable<PersistedContainer['terminated']> {
  const { startedAt, finishedAt, ...rest } = t;
  return { ...rest, ...(startedAt ? { startedAt: startedAt.toISOString() } : {}), finishedAt: finishedAt.toISOString() };
}

export function fromPersistedTerminated(t: NonNullable<PersistedContainer['terminated']>): TerminatedState {
  const { startedAt, finishedAt, ...rest } = t;
  return { ...rest, kind: 'terminated', ...(startedAt ? { startedAt: new Date(startedAt) } : {}), finishedAt: new Date(finishedAt) };
}
