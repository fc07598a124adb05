/**
 * kind provider benchmark (issue 9), side by side in one run on one machine: the node image build
 * from cache (goal ≤ 1 min), a 1-node and a 3-node kind cluster from `kind create cluster` to every
 * node Ready (the harness's own load balancer and network included), and the 3-node lab to every
 * node Ready with kube-proxy synced. kind's published single-node figure (12–17 s on typical
 * hardware) is printed beside ours for reference. Timings are wall-clock (performance.now,
 * monotonic) in this process; each cluster is deleted before the next starts.
 *
 * Run: `npx tsx bench/kind/kind-vs-lab.bench.ts [--runs N]` (root; the node image is built first when missing).
 */
import { useDockerEngine } from '../../harness/docker/engine.ts';
import { ensureHarnessNetwork } from '../../harness/docker/network.ts';
import { createKindCluster, deleteKindCluster, kindClusterName } from '../../harness/kind/cluster.ts';
import { hostNeeds, kindConfig } from '../../harness/kind/config.ts';
import { ensureOutsidePath } from '../../harness/kind/load-balancer.ts';
import { buildNodeImage } from '../../harness/kind/node-image/index.ts';
import { labDown, labUp } from '../../harness/lab/lab.ts';
import { median } from '../lab/lab-measure.ts';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 1) || 1;
const quiet = () => undefined;
await using _engine = await useDockerEngine({ purpose: 'the kind benchmark', log: console.log, privileged: true });

await buildNodeImage({ log: console.log });
const cached = await buildNodeImage({ log: quiet });
console.log(`node image from cache: ${(cached.durationMs / 1000).toFixed(1)} s   goal ≤ 60 s   ${cached.durationMs <= 60_000 ? 'MET' : 'MISSED'}   (${cached.ref})`);

async function kindCreate(nodes: number): Promise<number> {
  await ensureHarnessNetwork();
  await ensureOutsidePath();
  const name = kindClusterName('bench');
  try {
    const created = await createKindCluster({ name, proxyMode: 'iptables', nodes, image: cached.ref, config: kindConfig({ proxyMode: 'iptables', nodes, needs: hostNeeds() }), retained: false, log: quiet });
    return created.createMs / 1000;
  } finally {
    await deleteKindCluster(name, quiet);
  }
}

async function labCreate(): Promise<number> {
  const name = `bench-${process.pid.toString(36)}`;
  try {
    const t0 = performance.now();
    await labUp({ name, nodes: 3, proxyMode: 'iptables', ownerPid: process.pid });
    return (performance.now() - t0) / 1000;
  } finally {
    await labDown(name);
  }
}

const times = { kind1: [] as number[], kind3: [] as number[], lab3: [] as number[] };
for (let run = 1; run <= runs; run += 1) {
  times.kind1.push(await kindCreate(1));
  times.kind3.push(await kindCreate(3));
  times.lab3.push(await labCreate());
}
const kind1 = median(times.kind1);
const kind3 = median(times.kind3);
const lab3 = median(times.lab3);
console.log(`kind, 1 node  → Ready: ${kind1.toFixed(1)} s   (kind's published single-node create: 12–17 s → ${(kind1 / 14.5).toFixed(2)}× its midpoint)`);
console.log(`kind, 3 nodes → Ready: ${kind3.toFixed(1)} s   ${(kind3 / lab3).toFixed(2)}× the 3-node lab`);
console.log(`lab,  3 nodes → Ready: ${lab3.toFixed(1)} s`);
console.log(`(median of ${runs} run(s); wall-clock, monotonic, measured in the benchmark process)`);
