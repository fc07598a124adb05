/**
 * Many replicas on one 3-node lab (issue 14's scale goals): 100 replicas of the Go HTTP server from
 * apply until the Deployment is available, and the whole lab's RSS then; in the same run and on the
 * same lab, 30 replicas of the Node.js server (100 would need ~10 GiB), so per-pod memory and
 * start-up compare side by side. Goals: 100 Go replicas Ready ≤ 60 s, lab total ≤ 4 GiB.
 * Timings: wall-clock, performance.now (monotonic), in this process; RSS from /proc VmRSS of every
 * process the lab runs, 5 s after the Deployment turned available.
 *
 * Run: `npx tsx bench/lab/replicas.bench.ts`.
 */
import { apply, connect, ensureNamespace, podsOf, waitForDeployment } from '../../harness/kube/cluster.ts';
import { labDown, labUp } from '../../harness/lab/lab.ts';
import { sampleServiceObjects } from '../../manifests/sample-service.ts';
import type { ServerRuntime } from '../../harness/workloads/runtime.ts';
import { labRss, mib } from './lab-measure.ts';

const goals = { readySeconds: 60, labGiB: 4 };
const name = `bench-replicas-${process.pid.toString(36)}`;
const results: { runtime: ServerRuntime; replicas: number; readyS: number; labRss: number; podRss: number }[] = [];
try {
  const lab = await labUp({ name, nodes: 3, proxyMode: 'iptables', ownerPid: process.pid });
  const cluster = connect(lab.kubeconfig);
  const idle = labRss(name).rss;
  for (const [runtime, replicas] of [['go', 100], ['node', 30]] as const) {
    const ns = `bench-${runtime}`;
    await ensureNamespace(cluster, ns);
    const t0 = performance.now();
    await apply(cluster, sampleServiceObjects({ name: 'web', namespace: ns, runId: 'bench', server: 'http', runtime, replicas, topologySpread: {} }));
    await waitForDeployment(cluster, ns, 'web', 600_000);
    const readyS = (performance.now() - t0) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const measured = labRss(name);
    const podRss = (measured.perComponent[runtime === 'go' ? 'kth-sample-server' : 'serve http'] ?? 0) / replicas;
    results.push({ runtime, replicas, readyS, labRss: measured.rss, podRss });
    console.error(`${replicas} ${runtime} replicas: Ready in ${readyS.toFixed(1)} s, lab ${mib(measured.rss)}, ${mib(podRss)} per pod`);
    // Gone before the next runtime starts, so its RSS is its own.
    await cluster.apps.deleteNamespacedDeployment({ name: 'web', namespace: ns });
    for (let i = 0; i < 300 && (await podsOf(cluster, ns, 'app.kubernetes.io/name=web')).length > 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  const [go, node] = results as [(typeof results)[0], (typeof results)[0]];
  console.log(`idle 3-node lab: ${mib(idle)}`);
  console.log(`100 Go replicas Ready:   ${go.readyS.toFixed(1)} s   goal ≤ ${goals.readySeconds} s   ${go.readyS <= goals.readySeconds ? 'MET' : 'MISSED'}   | 30 Node.js replicas: ${node.readyS.toFixed(1)} s → per replica node/go ${(node.readyS / node.replicas / (go.readyS / go.replicas)).toFixed(1)}×`);
  console.log(`lab with 100 Go replicas: ${mib(go.labRss)}   goal ≤ ${goals.labGiB} GiB   ${go.labRss <= goals.labGiB * 2 ** 30 ? 'MET' : 'MISSED'}   | with 30 Node.js replicas: ${mib(node.labRss)}`);
  console.log(`RSS per sample pod: go ${mib(go.podRss)}   node ${mib(node.podRss)}   → node/go ${(node.podRss / go.podRss).toFixed(1)}×`);
  console.log('(one run; wall-clock, monotonic, in the benchmark process; RSS = VmRSS of every lab process)');
} finally {
  await labDown(name);
}
