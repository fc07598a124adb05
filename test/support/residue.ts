import { findLabProcesses } from '../../harness/lab/processes.ts';
import { hostLinks, listNetns } from '../../harness/lab/netns.ts';
import { labNames } from '../../harness/lab/names.ts';
import { labLayout } from '../../harness/lab/layout.ts';
import { existsSync } from 'node:fs';

/** Everything of a lab still present on this host: what a removed lab must not leave behind. */
export async function labResidue(lab: string): Promise<{ netns: string[]; links: string[]; processes: string[]; stateDir: boolean }> {
  const names = labNames(lab);
  return {
    netns: (await listNetns()).filter((n) => n.startsWith(names.netnsPrefix)),
    links: (await hostLinks()).filter((l) => l.ifname === names.hostLink || l.alias === names.hostLinkAlias).map((l) => l.ifname),
    processes: findLabProcesses(lab).map((p) => `${p.pid} ${p.command}`),
    stateDir: existsSync(labLayout(lab).dir),
  };
}

export const noResidue = { netns: [], links: [], processes: [], stateDir: false };

/** A lab name unique to this test run, so parallel or leftover labs never collide. */
export function testLabName(prefix: string): string {
  return `${prefix}-${process.pid.toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`.slice(0, 20);
}
