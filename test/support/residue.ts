import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { findLabProcesses } from '../../harness/lab/processes.ts';
import { hostLinks, listNetns } from '../../harness/lab/netns.ts';
import { labNames } from '../../harness/lab/names.ts';
import { labLayout } from '../../harness/lab/layout.ts';
import { labCgroupDir } from '../../harness/lab/dataplane/node-cgroup.ts';
import { run } from '../../harness/core/exec.ts';

/** Mounts a lab's node sandboxes made (tmpfs `kth-<lab>-<node>`), seen from any process on the host. */
function labMounts(lab: string): string[] {
  const found = new Set<string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let text: string;
    try {
      text = readFileSync(`/proc/${entry}/mountinfo`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) if (line.includes(` kth-${lab}-`)) found.add(line.split(' ').slice(4, 5).concat(line.split(' - ')[1] ?? '').join(' '));
  }
  return [...found];
}

/** Everything of a lab still present on this host: what a removed lab must not leave behind. */
export async function labResidue(lab: string): Promise<{ netns: string[]; links: string[]; processes: string[]; stateDir: boolean; cgroups: boolean; mounts: string[] }> {
  const names = labNames(lab);
  const cgroups = labCgroupDir(lab);
  return {
    netns: (await listNetns()).filter((n) => n.startsWith(names.netnsPrefix)),
    links: (await hostLinks()).filter((l) => l.ifname === names.hostLink || l.alias === names.hostLinkAlias).map((l) => l.ifname),
    processes: findLabProcesses(lab).map((p) => `${p.pid} ${p.command}`),
    stateDir: existsSync(labLayout(lab).dir),
    cgroups: cgroups !== undefined && existsSync(cgroups),
    mounts: labMounts(lab),
  };
}

export const noResidue = { netns: [], links: [], processes: [], stateDir: false, cgroups: false, mounts: [] };

/** BPF links attached to cgroups (Cilium's socket LB attaches with links), by id: compare before and after a lab. */
export async function cgroupBpfLinks(): Promise<number[]> {
  const result = await run(['bpftool', '-j', 'link', 'show'], { nothrow: true, timeoutMs: 15_000 });
  if (result.exitCode !== 0) throw new Error(`bpftool link show failed: ${result.stderr}`);
  return (JSON.parse(result.stdout || '[]') as { id: number; type: string }[]).filter((l) => l.type === 'cgroup').map((l) => l.id).sort((a, b) => a - b);
}

/** A lab name unique to this test run, so parallel or leftover labs never collide. */
export function testLabName(prefix: string): string {
  return `${prefix}-${process.pid.toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`.slice(0, 20);
}
