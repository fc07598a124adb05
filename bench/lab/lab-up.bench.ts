/**
 * Lab start-up benchmark (issue 3): `lab up` of 3 nodes until every node is Ready and every
 * kube-proxy has synced, then a 3-replica Deployment until all pods are Ready, then the idle RSS of
 * every process the lab runs. Timings are wall-clock (performance.now, monotonic) in this process.
 * kind cannot create clusters here (no images can be pulled), so its published single-node create
 * time stands beside ours for reference, not as a same-run peer.
 *
 * Run: node harness/bin/kth.mjs … is not needed; `npx tsx bench/lab/lab-up.bench.ts [--runs N]`.
 */
import { sampleServiceObjects } from '../../manifests/sample-service.ts';
import { apply, connect, ensureNamespace, waitForDeployment } from '../../harness/kube/cluster.ts';
import { labDown, labUp } from '../../harness/lab/lab.ts';
import { labRss, median, mib } from './lab-measure.ts';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 1) || 1;
const goals = { labUpSeconds: 10, podsReadySeconds: 3, idleRssGiB: 1.5 };
const kindPublished = '12–17 s (kind single-node create, published)';

const results: { up: number; pods: number; rss: number; perComponent: Record<string, number> }[] = [];
const podRss: number[] = [];
for (let run = 1; run <= runs; run += 1) {
  const name = `bench-${process.pid.toString(36)}-${run}`;
  try {
    const t0 = performance.now();
    const lab = await labUp({ name, nodes: 3, proxyMode: 'iptables', ownerPid: process.pid });
    const up = (performance.now() - t0) / 1000;
    // Idle means idle: measured after start-up settles, before any workload is deployed.
    await new Promise((r) => setTimeout(r, 10_000));
    const { rss, perComponent } = labRss(name);
    const cluster = connect(lab.kubeconfig);
    await ensureNamespace(cluster, 'bench');
    const t1 = performance.now();
    await apply(cluster, sampleServiceObjects({ name: 'web', namespace: 'bench', runId: 'bench', server: 'http', replicas: 3 }));
    await waitForDeployment(cluster, 'bench', 'web', 60_000);
    const pods = (performance.now() - t1) / 1000;
    const withPods = labRss(name);
    podRss.push(withPods.perComponent['serve http'] ?? 0);
    results.push({ up, pods, rss, perComponent });
  } finally {
    await labDown(name);
  }
}

const up = median(results.map((r) => r.up));
const pods = median(results.map((r) => r.pods));
const rss = median(results.map((r) => r.rss));
console.log(`lab up (3 nodes → all Ready, kube-proxy synced): ${up.toFixed(2)} s   goal ≤ ${goals.labUpSeconds} s   ${up <= goals.labUpSeconds ? 'MET' : 'MISSED'}   | kind: ${kindPublished} → ratio ${(14.5 / up).toFixed(2)}× faster than kind's midpoint`);
console.log(`3-replica Deployment → all pods Ready:            ${pods.toFixed(2)} s   goal ≤ ${goals.podsReadySeconds} s   ${pods <= goals.podsReadySeconds ? 'MET' : 'MISSED'}`);
console.log(`idle 3-node lab RSS (every lab process, no pods): ${mib(rss)}   goal ≤ ${goals.idleRssGiB} GiB   ${rss <= goals.idleRssGiB * 2 ** 30 ? 'MET' : 'MISSED'}`);
for (const [component, bytes] of Object.entries(results.at(-1)?.perComponent ?? {}).sort((a, b) => b[1] - a[1])) console.log(`  ${component.padEnd(26)} ${mib(bytes)}`);
console.log(`  (then 3 sample pods add ${mib(median(podRss))})`);
console.log(`(median of ${runs} run(s); wall-clock, monotonic, measured in the benchmark process)`);
