import { readdirSync, readFileSync } from 'node:fs';
import { LAB_MARKER_ENV } from './names.ts';

/**
 * Finds the processes a lab started by the marker every one of them carries in its environment
 * (KTH_LAB=<lab>). Reading /proc/<pid>/environ identifies exactly what the harness started, even
 * after its supervisor was killed, without ever matching other programs by name.
 */
export interface LabProcess {
  pid: number;
  lab: string;
  command: string;
}

export function findLabProcesses(lab?: string): LabProcess[] {
  const found: LabProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
    } catch {
      continue;
    }
    const marker = environ.split('\0').find((kv) => kv.startsWith(`${LAB_MARKER_ENV}=`));
    if (!marker) continue;
    const owner = marker.slice(LAB_MARKER_ENV.length + 1);
    if (lab !== undefined && owner !== lab) continue;
    let command = '';
    try {
      command = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim();
    } catch {
      continue;
    }
    found.push({ pid, lab: owner, command });
  }
  return found;
}

/** Alive and not a zombie (a zombie has exited; it only waits for its parent to reap it). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after `graceMs` for whatever still runs; resolves when all are gone. */
export async function terminate(pids: readonly number[], graceMs = 3000): Promise<void> {
  const signal = (pid: number, sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  };
  for (const pid of pids) signal(pid, 'SIGCONT'); // a paused process cannot act on SIGTERM
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pids.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const pid of pids.filter(isAlive)) signal(pid, 'SIGKILL');
  const hardDeadline = Date.now() + 5000;
  while (pids.some(isAlive) && Date.now() < hardDeadline) await new Promise((r) => setTimeout(r, 20));
}
