/** @lab iptables/2 */
import type { V1Pod } from '@kubernetes/client-node';
import { apply, connect, ensureNamespace, podsOf, waitForDeployment } from '../../../harness/kube/cluster.ts';
import type { LabInfo } from '../../../harness/lab/lab.ts';
import { labNames } from '../../../harness/lab/names.ts';
import { renderSampleService, sampleServiceObjects } from '../../../manifests/sample-service.ts';
import { inNetns } from '../../support/lab-workloads.ts';
import { useSharedLab } from '../../support/shared-lab.ts';

// The rendered manifests against a real API server and the lab's kubelet stand-in: every Service
// variant is accepted as rendered, probes (HTTP and native gRPC) make pods Ready, and the downward
// API env reaches the servers, which report it back.
describe('sample service manifests on a 2-node lab', () => {
  const sharedLab = useSharedLab();
  let lab: LabInfo;
  const ns = 'manifests';
  beforeAll(() => {
    lab = sharedLab();
  });

  /** GETs `url` from inside a node's namespace (where pod IPs are routable) and parses the JSON. */
  async function fromNode(pod: V1Pod, url: string): Promise<Record<string, unknown>> {
    const node = labNames(lab.spec.name).nodeNetns(Number(/-node-(\d+)$/.exec(pod.spec?.nodeName ?? '')?.[1]));
    const script = `fetch(${JSON.stringify(url)}).then(r => r.text()).then(t => process.stdout.write(t))`;
    return JSON.parse(await inNetns(node, [process.execPath, '-e', script])) as Record<string, unknown>;
  }

  it('GIVEN the HTTP server behind a NodePort with ETP Local, ClientIP affinity, exec preStop and spread WHEN applied THEN pods get Ready and report their downward-API identity', async () => {
    const cluster = connect(lab.kubeconfig);
    await ensureNamespace(cluster, ns);
    await apply(
      cluster,
      sampleServiceObjects({
        name: 'web',
        namespace: ns,
        runId: 'e2e-manifests',
        server: 'http',
        replicas: 2,
        preStop: { seconds: 1, method: 'exec' },
        topologySpread: { whenUnsatisfiable: 'DoNotSchedule' },
        service: { type: 'NodePort', externalTrafficPolicy: 'Local', sessionAffinity: 'ClientIP', sessionAffinityTimeoutSeconds: 60 },
        settings: { keepAliveTimeoutMs: '30s' },
      }),
    );
    await waitForDeployment(cluster, ns, 'web', 90_000);
    const service = await cluster.core.readNamespacedService({ name: 'web', namespace: ns });
    expect(service.spec?.ports?.[0]?.nodePort).toBeGreaterThanOrEqual(30_000);
    expect(service.spec).toMatchObject({ externalTrafficPolicy: 'Local', sessionAffinity: 'ClientIP' });

    const pods = await podsOf(cluster, ns, 'app.kubernetes.io/name=web');
    expect(new Set(pods.map((p) => p.spec?.nodeName)).size).toBe(2);
    for (const pod of pods) {
      const body = await fromNode(pod, `http://${pod.status?.podIP}:8080/`);
      expect(body).toMatchObject({ pod: pod.metadata?.name, node: pod.spec?.nodeName, podIp: pod.status?.podIP, namespace: ns, sequence: 1 });
    }
  }, 180_000);

  it('GIVEN the gRPC server with max connection age WHEN applied THEN its native gRPC readiness probe makes pods Ready and the side port serves metrics', async () => {
    const cluster = connect(lab.kubeconfig);
    await apply(
      cluster,
      sampleServiceObjects({ name: 'echo', namespace: ns, runId: 'e2e-manifests', server: 'grpc', replicas: 1, preStop: { seconds: 1 }, settings: { maxConnectionAgeMs: '30s' } }),
    );
    await waitForDeployment(cluster, ns, 'echo', 90_000);
    const [pod] = await podsOf(cluster, ns, 'app.kubernetes.io/name=echo');
    const node = labNames(lab.spec.name).nodeNetns(Number(/-node-(\d+)$/.exec(pod?.spec?.nodeName ?? '')?.[1]));
    const script = `fetch('http://${pod?.status?.podIP}:9091/metrics').then(r => r.text()).then(t => process.stdout.write(t))`;
    expect(await inNetns(node, [process.execPath, '-e', script])).toContain('kth_grpc_connections_total');
  }, 180_000);

  it.each([
    ['headless', { type: 'Headless' }, { clusterIP: 'None' }],
    ['load-balancer', { type: 'LoadBalancer', externalTrafficPolicy: 'Cluster' }, { type: 'LoadBalancer' }],
    ['internal-local', { internalTrafficPolicy: 'Local' }, { type: 'ClusterIP', internalTrafficPolicy: 'Local' }],
  ] as const)('GIVEN a %s Service WHEN applied THEN the API server accepts it as rendered', async (name, service, expected) => {
    const cluster = connect(lab.kubeconfig);
    await ensureNamespace(cluster, ns);
    const rendered = renderSampleService({ name, namespace: ns, runId: 'e2e-manifests', server: 'http', replicas: 0, service });
    await apply(cluster, [rendered.deployment, rendered.service]);
    const stored = await cluster.core.readNamespacedService({ name, namespace: ns });
    expect(stored.spec).toMatchObject(expected);
    expect(stored.metadata?.labels).toMatchObject({ 'kube-traffic-harness.io/run-id': 'e2e-manifests', 'app.kubernetes.io/managed-by': 'kube-traffic-harness' });
  }, 60_000);
});
