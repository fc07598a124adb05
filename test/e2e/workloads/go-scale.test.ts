/** @lab iptables/3 */
import type { V1Pod } from '@kubernetes/client-node';
import { apply, type Cluster, connect, ensureNamespace, podsOf, readyEndpoints, waitForDeployment } from '../../../harness/kube/cluster.ts';
import type { LabInfo } from '../../../harness/lab/lab.ts';
import { sampleServiceObjects } from '../../../manifests/sample-service.ts';
import { eventually } from '../../support/eventually.ts';
import { loadFrom, type LoadRun, podNetns, startClientPod } from '../../support/lab-workloads.ts';
import { useSharedLab } from '../../support/shared-lab.ts';

// Issue 14's scale acceptance on one real 3-node iptables lab: 100 replicas of the Go HTTP server
// (the Node.js one would need ~10 GiB for as many pods) become Ready, short-lived load reaches every
// pod, the spread passes χ² over connections, and the servers' own counters equal the client's.
describe('100 replicas of the Go HTTP server on a 3-node lab', () => {
  const ns = 'scale';
  const sharedLab = useSharedLab();
  const replicas = 100;
  let lab: LabInfo | undefined;
  let cluster: Cluster;
  let servers: V1Pod[];
  let readyMs: number;

  beforeAll(async () => {
    lab = sharedLab();
    cluster = connect(lab.kubeconfig);
    await ensureNamespace(cluster, ns);
    const started = performance.now();
    await apply(cluster, sampleServiceObjects({ name: 'web', namespace: ns, runId: 'e2e-scale', server: 'http', runtime: 'go', replicas, topologySpread: {} }));
    await waitForDeployment(cluster, ns, 'web', 300_000);
    readyMs = performance.now() - started;
    process.stderr.write(`[go-scale] ${replicas} Go replicas Ready in ${(readyMs / 1000).toFixed(1)} s (wall clock, from apply to Deployment available)\n`);
    servers = (await podsOf(cluster, ns, 'app.kubernetes.io/name=web')).filter((pod) => !pod.metadata?.deletionTimestamp);
  }, 420_000);

  it('GIVEN the Deployment WHEN Ready THEN all 100 pods run the Go image, spread over the 3 nodes, and are ready endpoints', async () => {
    expect(servers).toHaveLength(replicas);
    expect(new Set(servers.map((pod) => pod.spec?.containers[0]?.image))).toEqual(new Set([expect.stringMatching(/kube-traffic-harness\/http-server-go:/)]));
    const perNode = new Map<string, number>();
    for (const pod of servers) perNode.set(pod.spec?.nodeName as string, (perNode.get(pod.spec?.nodeName as string) ?? 0) + 1);
    expect(perNode.size).toBe(3);
    for (const count of perNode.values()) expect(count).toBeGreaterThanOrEqual(30);
    // The EndpointSlice controller batches updates: the slices may trail the Deployment by a moment.
    await eventually('all 100 pods ready in the EndpointSlices', 30_000, async () => {
      const ready = (await readyEndpoints(cluster, ns, 'web')).length;
      return ready === replicas ? true : `${ready} ready endpoints`;
    });
  });

  it('GIVEN short-lived load from a client pod WHEN 3000 connections go to the ClusterIP THEN every pod is reached, χ² over connections passes, and the servers counted exactly what the client did', async () => {
    const netns = podNetns(lab!.spec.name, await startClientPod(cluster, ns, 'client'));
    const service = await cluster.core.readNamespacedService({ name: 'web', namespace: ns });
    const names = servers.map((pod) => pod.metadata?.name as string).sort();
    const metrics = servers.map((pod) => `${pod.metadata?.name}=http://${pod.status?.podIP}:8080/metrics`).join(',');
    const run = await loadFrom<LoadRun & { metrics: { chiSquare: { unit: string; n: number; valid: boolean } } }>(netns, ['http', '--target', `http://${service.spec?.clusterIP}:80/`, '--model', 'short-lived', '--connections', '8',
      '--rate', '300', '--duration', '10s', '--max-requests', '3000', '--unit', 'connections', '--expect-pods', names.join(','), '--server-metrics', metrics, '--settle', '60s'], 240_000);

    expect(run.errors.total).toBe(0);
    expect(run.totals.attributed).toBe(run.totals.requests);
    expect(run.totals.requests).toBeGreaterThanOrEqual(2500);
    expect(run.pods.map((pod) => pod.name).sort()).toEqual(names);
    for (const pod of run.pods) expect(pod.requests).toBeGreaterThan(0);
    // Short-lived: one request per connection, each an independent sample of kube-proxy's pick.
    expect(run.metrics.chiSquare).toMatchObject({ unit: 'connections', valid: true });
    expect(run.metrics.chiSquare.n).toBe(run.totals.requests);
    expect(run.metrics.chiSquareP).toBeGreaterThanOrEqual(0.001);
    expect(run.totals.serverCounted).toBe(run.totals.requests);
  }, 300_000);
});
