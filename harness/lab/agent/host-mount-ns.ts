import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { environmentError } from '../../core/errors.ts';

/**
 * Where `ip netns add/del` must run so a pod's namespace is visible to everyone.
 *
 * `ip netns add` names a namespace by bind-mounting it on /run/netns/<name>. The agent is started
 * with `ip netns exec <node> …`, which puts it in a mount namespace of its own whose mounts are
 * *slaves* of the host's: mounts made on the host show up in the agent, but mounts the agent
 * makes never reach the host. A pod namespace added from inside the agent would be invisible to
 * `ip netns list`, `kth lab exec` and `kth cleanup` on the host. So the agent finds the mount
 * namespace its /run/netns is a slave of (the peer group in /proc/self/mountinfo's `master:N`)
 * and runs `ip netns add/del` there through nsenter; everything else (veths, routes, pod
 * processes) runs in the agent's own namespaces, where the host's mounts propagate.
 */
export interface NetnsMountControl {
  /** Prefix for `ip netns add|del …` ([] when the agent already shares the host's /run/netns). */
  prefix: string[];
  /** What was found, for the agent's log. */
  describe: string;
  close(): void;
}

interface MountEntry {
  mountPoint: string;
  shared?: number;
  master?: number;
}

export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (fields.length < 7 || dash < 6) continue;
    const entry: MountEntry = { mountPoint: (fields[4] as string).replace(/\\040/g, ' ') };
    for (const tag of fields.slice(6, dash)) {
      const [key, value] = tag.split(':');
      if (key === 'shared') entry.shared = Number(value);
      if (key === 'master') entry.master = Number(value);
    }
    entries.push(entry);
  }
  return entries;
}

const netnsMountOf = (mountinfo: string): MountEntry | undefined => parseMountinfo(mountinfo).filter((m) => m.mountPoint === '/run/netns').at(-1);

function readMountinfo(pid: number | 'self'): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
  } catch {
    return undefined;
  }
}

/** Candidate processes, most likely first: our ancestors, kthreadd, then everything else. */
function candidatePids(): number[] {
  const pids: number[] = [];
  let pid = process.ppid;
  for (let depth = 0; depth < 32 && pid > 1; depth += 1) {
    pids.push(pid);
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      break;
    }
  }
  pids.push(2);
  for (const entry of readdirSync('/proc')) if (/^\d+$/.test(entry)) pids.push(Number(entry));
  return [...new Set(pids)].filter((p) => p !== process.pid);
}

export function resolveNetnsMountControl(override?: string): NetnsMountControl {
  if (override) {
    const fd = openSync(override, 'r');
    return { prefix: ['nsenter', `--mount=/proc/${process.pid}/fd/${fd}`, '--'], describe: `configured mount namespace ${override}`, close: () => closeSync(fd) };
  }
  const own = netnsMountOf(readMountinfo('self') ?? '');
  if (!own || own.master === undefined) {
    return { prefix: [], describe: '/run/netns is not a slave mount here: ip netns runs in place', close: () => {} };
  }
  let group = own.master;
  const candidates = candidatePids();
  // Follow master links up to a mount that is shared and no one's slave: the host's /run/netns.
  for (let hop = 0; hop < 8; hop += 1) {
    let next: number | undefined;
    for (const pid of candidates) {
      const entry = netnsMountOf(readMountinfo(pid) ?? '');
      if (entry?.shared !== group) continue;
      if (entry.master === undefined) {
        let fd: number;
        try {
          fd = openSync(`/proc/${pid}/ns/mnt`, 'r');
        } catch {
          continue;
        }
        return {
          prefix: ['nsenter', `--mount=/proc/${process.pid}/fd/${fd}`, '--'],
          describe: `pod namespaces are named in the mount namespace of pid ${pid} (/run/netns peer group ${group})`,
          close: () => closeSync(fd),
        };
      }
      next = entry.master;
      break;
    }
    if (next === undefined) break;
    group = next;
  }
  throw environmentError(`cannot find the host's mount namespace for /run/netns (this agent's /run/netns is a slave of peer group ${own.master})`, {
    where: 'lab node agent',
    hint: 'start the agent with `nsenter --net=/run/netns/<node> …` instead of `ip netns exec`, or set hostMountNamespace in its config to /proc/<pid>/ns/mnt of a host process',
  });
}
