/**
 * Cilium against kube-proxy, side by side in one run (issue 8's goals): a 3-node lab in cilium
 * mode and one in iptables mode, alternately, each timed from `lab up` until every node is Ready
 * and every data-plane component is healthy (cilium: `cilium-dbg status` OK on each agent), then
 * the idle RSS of every lab process. Goals: cilium Ready ≤ 2× iptables; idle cilium lab ≤ 2.5 GiB.
 * Timings: wall-clock, performance.now (monotonic), in this process.
 *
 * Run: `npx tsx bench/lab/cilium-vs-iptables.bench.ts [--runs N]`.
 */
import { labDown, labUp } from '../../harness/lab/lab.ts';
import type { LabProxyMode } from '../../harness/lab/spec.ts';
import { labRss, median, mib } from './lab-measure.ts';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 1) || 1;
const goals = { readyRatio: 2, idleRssGiB: 2.5 };
const modes: LabProxyMode[] = ['iptables', 'cilium'];
const results = new Map<LabProxyMode, { up: number; rss: number; perComponent: Record<string, number> }[]>(modes.map((m) => [m, []]));

for (let run = 1; run <= runs; run += 1) {
  for (const mode of modes) {
    const name = `bench-${mode.slice(0, 3)}-${process.pid.toString(36)}-${run}`;
    try {
      const t0 = performance.now();
      await labUp({ name, nodes: 3, proxyMode: mode, ownerPid: process.pid });
      const up = (performance.now() - t0) / 1000;
      // Idle means idle: after start-up settles (agents finish compiling their datapath), no workloads.
      await new Promise((r) => setTimeout(r, 20_000));
      results.get(mode)!.push({ up, ...labRss(name) });
      console.error(`run ${run} ${mode}: ready in ${up.toFixed(2)} s`);
    } finally {
      await labDown(name);
    }
  }
}

const summary = (mode: LabProxyMode) => {
  const list = results.get(mode)!;
  return { up: median(list.map((r) => r.up)), rss: median(list.map((r) => r.rss)), perComponent: list.at(-1)?.perComponent ?? {} };
};
const ipt = summary('iptables');
const cil = summary('cilium');
const ratio = cil.up / ipt.up;
console.log(`3-node lab Ready: iptables ${ipt.up.toFixed(2)} s, cilium ${cil.up.toFixed(2)} s → cilium/iptables ${ratio.toFixed(2)}×   goal ≤ ${goals.readyRatio}×   ${ratio <= goals.readyRatio ? 'MET' : 'MISSED'}`);
console.log(`idle 3-node lab RSS: iptables ${mib(ipt.rss)}, cilium ${mib(cil.rss)} (${(cil.rss / ipt.rss).toFixed(2)}×)   goal cilium ≤ ${goals.idleRssGiB} GiB   ${cil.rss <= goals.idleRssGiB * 2 ** 30 ? 'MET' : 'MISSED'}`);
const agents = cil.perComponent['cilium-agent'] ?? 0;
console.log(`  cilium-agent: ${mib(agents)} for 3 agents (${mib(agents / 3)} per node)`);
for (const [component, bytes] of Object.entries(cil.perComponent).sort((a, b) => b[1] - a[1])) console.log(`  cilium lab: ${component.padEnd(26)} ${mib(bytes)}`);
console.log(`(median of ${runs} run(s) per mode, modes alternating; wall-clock, monotonic, measured in the benchmark process)`);
