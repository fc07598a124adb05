import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The cgroup2 subtrees lab nodes live in: `<cgroup2 root>/kth/<lab>/<node>` (made by
 * node-sandbox.sh). The cgroup2 hierarchy is found where this process can see it, or through
 * pid 1's root when this process runs in a mount namespace that hides /sys/fs/cgroup (as
 * `ip netns exec` does).
 */
export function cgroup2Root(): string | undefined {
  const find = (mountinfo: string) =>
    mountinfo.split('\n').map((line) => line.split(' ')).find((f) => f[f.indexOf('-') + 1] === 'cgroup2' && f[3] === '/')?.[4];
  const read = (path: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return '';
    }
  };
  const own = find(read('/proc/self/mountinfo'));
  if (own && existsSync(join(own, 'cgroup.procs'))) return own;
  const init = find(read('/proc/1/mountinfo'));
  return init ? join('/proc/1/root', init) : undefined;
}

export function labCgroupDir(lab: string, root = cgroup2Root()): string | undefined {
  return root ? join(root, 'kth', lab) : undefined;
}

/** Labs that have node cgroups on this host (a crash can leave them without any other trace). */
export function labsWithCgroups(): string[] {
  const root = cgroup2Root();
  if (!root || !existsSync(join(root, 'kth'))) return [];
  return readdirSync(join(root, 'kth'), { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
}

/** Processes still in the lab's node cgroups (they keep a cgroup from being removed). */
export function labCgroupProcs(lab: string): number[] {
  const dir = labCgroupDir(lab);
  if (!dir || !existsSync(dir)) return [];
  const pids: number[] = [];
  const walk = (path: string) => {
    try {
      for (const line of readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n')) if (line.trim()) pids.push(Number(line));
      for (const entry of readdirSync(path, { withFileTypes: true })) if (entry.isDirectory()) walk(join(path, entry.name));
    } catch {
      // removed meanwhile
    }
  };
  walk(dir);
  return pids;
}

/**
 * Removes the lab's (empty) node cgroups, deepest first, and `kth/` when no lab is left;
 * `lastLab` says no lab's cgroups remain.
 */
export function removeLabCgroups(lab: string): { removed: string[]; lastLab: boolean } {
  const root = cgroup2Root();
  const dir = labCgroupDir(lab, root);
  if (!root || !dir) return { removed: [], lastLab: false };
  const removed: string[] = [];
  const remove = (path: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) if (entry.isDirectory()) remove(join(path, entry.name));
    rmdirSync(path); // EBUSY while a process is still inside: the caller ends processes first
    removed.push(path);
  };
  if (existsSync(dir)) remove(dir);
  try {
    if (existsSync(join(root, 'kth'))) rmdirSync(join(root, 'kth'));
    return { removed, lastLab: true };
  } catch {
    return { removed, lastLab: false }; // another lab's cgroups are there
  }
}
