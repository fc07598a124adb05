import { sampleServiceObjects } from '../../../manifests/sample-service.ts';
import { apply, connect, ensureNamespace, readyEndpoints, waitForDeployment } from '../../../harness/kube/cluster.ts';
import { type StartedLab, startLab } from '../../../harness/lab/lab.ts';
import { labNames } from '../../../harness/lab/names.ts';
import { inNetns, loadFrom, podNetns, startClientPod } from '../../support/lab-workloads.ts';
import { testLabName } from '../../support/residue.ts';

// The lab's traffic path is real: the distribution comes from kube-proxy's own rules in each
// node's netfilter, and the rules are read back from the node namespace.
describe.each(['iptables', 'nftables'] as const)('ClusterIP Service on a 3-node lab in %s mode', (mode) => {
  let lab: StartedLab;
  const ns = 'traffic';
  beforeAll(async () => {
    lab = await startLab({ name: testLabName(mode.slice(0, 4)), nodes: 3, proxyMode: mode });
  }, 180_000);
  afterAll(async () => {
    await lab?.down();
  }, 60_000);

  it('GIVEN 3 pods behind a ClusterIP WHEN a client pod opens 600 short-lived connections THEN all 3 pods serve and chi-square does not reject uniform', async () => {
    const cluster = connect(lab.kubeconfig);
    await ensureNamespace(cluster, ns);
    const [deployment, service] = sampleServiceObjects({ name: 'web', namespace: ns, runId: 'e2e', server: 'http', replicas: 3, topologySpread: {} });
    await apply(cluster, [deployment, service]);
    await waitForDeployment(cluster, ns, 'web', 90_000);
    const svc = await cluster.core.readNamespacedService({ name: 'web', namespace: ns });
    expect(await readyEndpoints(cluster, ns, 'web')).toHaveLength(3);

    const client = await startClientPod(cluster, ns, 'client');
    const run = await loadFrom(podNetns(lab.spec.name, client), [
      'http', '--target', `http://${svc.spec?.clusterIP}:80/`, '--model', 'short-lived', '--connections', '4',
      '--max-requests', '600', '--duration', '60s', '--expect-pods', '3', '--unit', 'connections',
      // Ready endpoints reach the client node's rules up to a sync period later: wait for that first.
      '--settle', '30s']);

    expect(run.totals.requests).toBe(600);
    expect(run.totals.attributed).toBe(600);
    expect(run.errors.total).toBe(0);
    expect(run.pods).toHaveLength(3);
    for (const pod of run.pods) expect(pod.requests).toBeGreaterThan(0);
    expect(run.metrics.chiSquareP).toBeGreaterThanOrEqual(0.001);

    // kube-proxy's own service chains, read from a node's netfilter.
    const node = labNames(lab.spec.name).nodeNetns(1);
    if (mode === 'iptables') {
      const rules = await inNetns(node, ['iptables-save', '-t', 'nat']);
      expect(rules).toMatch(/^:KUBE-SERVICES /m);
      expect(rules).toMatch(new RegExp(`-A KUBE-SERVICES -d ${svc.spec?.clusterIP}/32 .*${ns}/web:http cluster IP.* -j KUBE-SVC-`));
      expect(rules.match(/-A KUBE-SVC-\S+ .*-j KUBE-SEP-/g)?.length).toBeGreaterThanOrEqual(3);
    } else {
      const rules = await inNetns(node, ['nft', 'list', 'table', 'ip', 'kube-proxy']);
      expect(rules).toMatch(new RegExp(`chain service-\\S+-${ns}/web/tcp/http`));
      expect(rules).toContain(svc.spec?.clusterIP as string);
    }
  }, 240_000);
});
