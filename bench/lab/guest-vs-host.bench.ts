/**
 * A guest-kernel lab against a host-kernel lab, side by side in one run (issue 15's goal): a 3-node
 * ipvs lab whose nodes run in a qemu guest (this host has no IP_VS; elsewhere --kernel guest forces
 * it) and a 3-node iptables lab on the host kernel, alternately, each timed from `lab up` (guest
 * boot included) until every node is Ready and every kube-proxy healthy. Goal: guest ≤ 10× host.
 * Also prints where the guest's time went (the supervisor's milestones) and qemu's RSS.
 * Timings: wall-clock, performance.now (monotonic), in this process; milestones from the
 * supervisor's monotonic clock.
 *
 * Run: `npx tsx bench/lab/guest-vs-host.bench.ts [--runs N]`.
 */
import { labDown, labUp } from '../../harness/lab/lab.ts';
import { findLabProcesses } from '../../harness/lab/processes.ts';
import { median, mib, rssBytes } from './lab-measure.ts';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 1) || 1;
const goal = 10;
const kinds = [{ key: 'host', mode: 'iptables', kernel: 'host' }, { key: 'guest', mode: 'ipvs', kernel: 'guest' }] as const;
const results = new Map<string, { up: number; timings: Record<string, number>; qemuRss: number }[]>(kinds.map((k) => [k.key, []]));

for (let run = 1; run <= runs; run += 1) {
  for (const kind of kinds) {
    const name = `bench-${kind.key}-${process.pid.toString(36)}-${run}`;
    try {
      const t0 = performance.now();
      const lab = await labUp({ name, nodes: 3, proxyMode: kind.mode, kernel: kind.kernel, ownerPid: process.pid });
      const up = (performance.now() - t0) / 1000;
      const qemu = findLabProcesses(name).find((p) => p.command.startsWith('qemu-system-x86_64 '));
      results.get(kind.key)!.push({ up, timings: lab.status?.timings ?? {}, qemuRss: qemu ? rssBytes(qemu.pid) : 0 });
      console.error(`run ${run} ${kind.key} (${kind.mode}): ready in ${up.toFixed(2)} s`);
    } finally {
      await labDown(name);
    }
  }
}

const host = median(results.get('host')!.map((r) => r.up));
const guestRuns = results.get('guest')!;
const guest = median(guestRuns.map((r) => r.up));
const ratio = guest / host;
console.log(`3-node lab Ready: host kernel (iptables) ${host.toFixed(2)} s, guest kernel (ipvs, qemu) ${guest.toFixed(2)} s → guest/host ${ratio.toFixed(2)}×   goal ≤ ${goal}×   ${ratio <= goal ? 'MET' : 'MISSED'}`);
const last = guestRuns.at(-1)!;
const t = last.timings;
console.log(`  guest milestones (s from supervisor start): guest daemon answering ${t.guest}, node network ${t['guest-network']}, agents registered ≤ ${Math.max(...Object.entries(t).filter(([k]) => k.startsWith('agent-')).map(([, v]) => v))}, nodes Ready ${t.nodesReady}`);
console.log(`  qemu RSS with the lab idle at Ready: ${mib(last.qemuRss)}`);
console.log(`(median of ${runs} run(s) per kind, alternating; wall-clock, monotonic, measured in the benchmark process)`);
