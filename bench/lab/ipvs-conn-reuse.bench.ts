/**
 * IPVS under high connection churn: does a new connection that reuses a recent source port stall?
 * The known behaviour: with net.ipv4.vs.conn_reuse_mode=1 and conntrack, IPVS used to drop the
 * first SYN of a connection whose (client, port) matched an entry still in TIME_WAIT, so the
 * client waited for its SYN retransmit (~1 s); kernels since 5.9 reschedule instead, and
 * kube-proxy leaves conn_reuse_mode alone on them. This measures it on the lab's kernel: a client
 * pod whose ephemeral port range is narrowed to 32 ports opens N short-lived connections to a
 * 3-pod ClusterIP (so each port is reused N/32 times within seconds), then reads the kernel's own
 * count of SYN retransmits in the client's namespace and the slowest requests.
 * Timings under emulation are ~10× the host's; the retransmit count is what compares.
 *
 * Run: `npx tsx bench/lab/ipvs-conn-reuse.bench.ts [--requests N]`.
 */
import { apply, connect, ensureNamespace, waitForDeployment, waitForPodReady } from '../../harness/kube/cluster.ts';
import { labKthEntry, labRunner, startupScale } from '../../harness/lab/guest/lab-guest.ts';
import { labDown, labUp } from '../../harness/lab/lab.ts';
import { labNames } from '../../harness/lab/names.ts';
import { clientPod } from '../../manifests/client-pod.ts';
import { sampleServiceObjects } from '../../manifests/sample-service.ts';

const requests = Number(process.argv[process.argv.indexOf('--requests') + 1] || 640) || 640;
const name = `bench-reuse-${process.pid.toString(36)}`;
try {
  const lab = await labUp({ name, nodes: 3, proxyMode: 'ipvs', ownerPid: process.pid, log: (line) => console.error(line) });
  const cluster = connect(lab.kubeconfig);
  await ensureNamespace(cluster, 'reuse');
  await apply(cluster, sampleServiceObjects({ name: 'web', namespace: 'reuse', runId: 'bench', server: 'http', replicas: 3, topologySpread: {} }));
  await waitForDeployment(cluster, 'reuse', 'web', 90_000 * startupScale(lab.spec));
  await apply(cluster, [clientPod({ name: 'client', namespace: 'reuse' })]);
  const client = await waitForPodReady(cluster, 'reuse', 'client', 60_000 * startupScale(lab.spec));
  const svc = await cluster.core.readNamespacedService({ name: 'web', namespace: 'reuse' });
  const netns = labNames(name).podNetns(client.metadata?.uid ?? '');
  const run = labRunner(lab.spec);
  const inClient = (argv: string[]) => run(['ip', 'netns', 'exec', netns, ...argv], { timeoutMs: 600_000 });
  await inClient(['sysctl', '-q', '-w', 'net.ipv4.ip_local_port_range=40000 40031']);
  const before = (await inClient(['nstat', '-az', 'TcpExtTCPSynRetrans', 'TcpRetransSegs'])).stdout;
  const load = await inClient([process.execPath, labKthEntry(lab.spec), 'load', 'http', '--target', `http://${svc.spec?.clusterIP}:80/`, '--model', 'short-lived',
    '--connections', '2', '--concurrency', '2', '--max-requests', `${requests}`, '--duration', '300s', '--expect-pods', '3', '--json']);
  const after = (await inClient(['nstat', '-az', 'TcpExtTCPSynRetrans', 'TcpRetransSegs'])).stdout;
  const count = (text: string, key: string) => Number(new RegExp(`^${key}\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  const summary = JSON.parse(load.stdout) as { totals: { requests: number; errors: number }; latencyMs?: { p50: number; p99: number; max: number }; pods: { requests: number }[] };
  const reuseMode = await run(['ip', 'netns', 'exec', labNames(name).nodeNetns(1), 'sysctl', '-n', 'net.ipv4.vs.conn_reuse_mode'], { nothrow: true });
  console.log(`kernel ${lab.spec.guest ? `guest ${lab.spec.guest.kernelRelease} (${lab.spec.guest.accel})` : 'host'}; net.ipv4.vs.conn_reuse_mode=${reuseMode.stdout.trim() || '?'}`);
  console.log(`${summary.totals.requests} short-lived connections over 32 source ports (each reused ~${Math.round(requests / 32)}×): errors ${summary.totals.errors}, per pod ${summary.pods.map((p) => p.requests).join('/')}`);
  console.log(`SYN retransmits in the client: ${count(after, 'TcpExtTCPSynRetrans') - count(before, 'TcpExtTCPSynRetrans')}; all retransmitted segments: ${count(after, 'TcpRetransSegs') - count(before, 'TcpRetransSegs')}`);
  if (summary.latencyMs) console.log(`latency ms p50 ${summary.latencyMs.p50.toFixed(1)}, p99 ${summary.latencyMs.p99.toFixed(1)}, max ${summary.latencyMs.max.toFixed(1)} (a ~1 s max would be a SYN retransmit)`);
} finally {
  await labDown(name);
}
