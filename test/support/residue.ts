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

/**
 * Every BPF link on the host, by id and type (Cilium's socket LB attaches to cgroups with links,
 * its tc programs to devices with tcx links): compare before and after a lab.
 */
export async function bpfLinks(): Promise<{ id: number; type: string | number }[]> {
  const result = await run(['bpftool', '-j', 'link', 'show'], { nothrow: true, timeoutMs: 15_000 });
  if (result.exitCode !== 0) throw new Error(`bpftool link show failed: ${result.stderr}`);
  return (JSON.parse(result.stdout || '[]') as { id: number; type: string | number }[]).map(({ id, type }) => ({ id, type })).sort((a, b) => a.id - b.id);
}

/** `bpftool cgroup tree` lines naming a lab's node cgroups (programs attached there). */
export async function labCgroupPrograms(lab: string): Promise<string[]> {
  const result = await run(['bpftool', 'cgroup', 'tree'], { nothrow: true, timeoutMs: 15_000 });
  const lines = result.stdout.split('\n');
  const out: string[] = [];
  let inLab = false;
  for (const line of lines) {
    if (!line.startsWith(' ')) inLab = line.includes(`/kth/${lab}/`);
    else if (inLab && line.trim()) out.push(line.trim());
  }
  return out;
}

/** A lab name unique to this test run, so parallel or leftover labs never collide. */
export function testLabName(prefix: string): string {
  return `${prefix}-${process.pid.toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`.slice(0, 20);
}
