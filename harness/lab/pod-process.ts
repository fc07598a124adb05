import { readFileSync } from 'node:fs';
import { environmentError } from '../core/errors.ts';
import { findLabProcesses } from './processes.ts';
import { labRunner } from './guest/lab-guest.ts';
import type { LabSpec } from './spec.ts';

function environOf(pid: number): Map<string, string> {
  const env = new Map<string, string>();
  try {
    for (const entry of readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0')) {
      const at = entry.indexOf('=');
      if (at > 0) env.set(entry.slice(0, at), entry.slice(at + 1));
    }
  } catch {
    // Gone meanwhile.
  }
  return env;
}

function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

/**
 * The main process of a lab pod's container: among the lab's processes (KTH_LAB marker) carrying
 * the pod's downward-API identity, the one whose parent is not one of them. Found by environment,
 * never by name, so only a process the lab started can be chosen.
 */
export function podMainProcess(lab: string, namespace: string, pod: string): number {
  const members = findLabProcesses(lab).map((p) => p.pid).filter((pid) => {
    const env = environOf(pid);
    return env.get('POD_NAME') === pod && env.get('POD_NAMESPACE') === namespace;
  });
  const set = new Set(members);
  const roots = members.filter((pid) => !set.has(parentOf(pid)));
  if (roots.length === 0) throw environmentError(`no running process of pod ${namespace}/${pod} in lab ${lab}`, { hint: 'the pod may have stopped already; kth lab status shows what runs' });
  return roots[0]!;
}

/**
 * The same search as podMainProcess, as a shell script for a guest-kernel lab (its pods' /proc is
 * the guest's): prints the pid it killed, or nothing.
 */
const guestCrashScript = `
lab=$1 ns=$2 pod=$3
members=" "
for environ in /proc/[0-9]*/environ; do
  pid=\${environ#/proc/}; pid=\${pid%/environ}
  env=$(tr '\\0' '\\n' < "$environ" 2>/dev/null) || continue
  grep -qx "KTH_LAB=$lab" <<<"$env" && grep -qx "POD_NAME=$pod" <<<"$env" && grep -qx "POD_NAMESPACE=$ns" <<<"$env" && members+="$pid "
done
for pid in $members; do
  parent=$(awk '{ sub(/.*\\) /, ""); print $2 }' /proc/$pid/stat 2>/dev/null)
  case "$members" in *" $parent "*) ;; *) kill -KILL "$pid" && echo "$pid"; exit 0 ;; esac
done`;

/** SIGKILL to a pod's main process: a crash, which the lab's node agent sees and restarts. */
export async function crashPod(spec: Pick<LabSpec, 'name' | 'slot' | 'guest'>, namespace: string, pod: string): Promise<number> {
  if (!spec.guest) {
    const pid = podMainProcess(spec.name, namespace, pod);
    process.kill(pid, 'SIGKILL');
    return pid;
  }
  const { stdout } = await labRunner(spec)(['bash', '-c', guestCrashScript, 'crash-pod', spec.name, namespace, pod], { purpose: `kill pod ${namespace}/${pod}'s main process in the guest` });
  const pid = Number(stdout.trim());
  if (!pid) throw environmentError(`no running process of pod ${namespace}/${pod} in lab ${spec.name}'s guest`, { hint: 'the pod may have stopped already; kth lab status shows what runs' });
  return pid;
}
