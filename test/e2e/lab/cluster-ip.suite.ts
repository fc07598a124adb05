import { sampleServiceObjects, serverMetricsUrl } from '../../../manifests/sample-service.ts';
import { apply, connect, ensureNamespace, podsOf, waitForDeployment, waitForReadyEndpoints } from '../../../harness/kube/cluster.ts';
import type { LabInfo } from '../../../harness/lab/lab.ts';
import { labNames } from '../../../harness/lab/names.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ciliumNodeCommand } from '../../../harness/inspect/gather.ts';
import { checkCiliumInspect } from '../inspect/cilium-inspect.ts';
import { findLabProcesses } from '../../../harness/lab/processes.ts';
import { inNetns, loadFrom, podNetns, startClientPod } from '../../support/lab-workloads.ts';
import { declaredSharedLab, useSharedLab } from '../../support/shared-lab.ts';

const exec = promisify(execFile);

/**
 * The lab's traffic path is real: the distribution comes from kube-proxy's own rules in each
 * node's netfilter (or Cilium's BPF maps), and the rules are read back from the node namespace.
 * One file per proxy mode runs this on that mode's shared lab (cluster-ip.<mode>.test.ts).
 */
export function clusterIpSuite(): void {
  const mode = declaredSharedLab().proxyMode;
  describe(`ClusterIP Service on a 3-node lab in ${mode} mode`, () => {
    const sharedLab = useSharedLab();
    let lab: LabInfo;
    const ns = 'traffic';
    beforeAll(() => {
      lab = sharedLab();
    });

    it('GIVEN 3 pods behind a ClusterIP WHEN a client pod opens 600 short-lived connections THEN all 3 pods serve and chi-square does not reject uniform', async () => {
      const cluster = connect(lab.kubeconfig);
      await ensureNamespace(cluster, ns);
      const [deployment, service] = sampleServiceObjects({ name: 'web', namespace: ns, runId: 'e2e', server: 'http', replicas: 3, topologySpread: {} });
      await apply(cluster, [deployment, service]);
      await waitForDeployment(cluster, ns, 'web', 90_000);
      const svc = await cluster.core.readNamespacedService({ name: 'web', namespace: ns });
      expect(await waitForReadyEndpoints(cluster, ns, 'web', 3)).toHaveLength(3);

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
      } else if (mode === 'nftables') {
        const rules = await inNetns(node, ['nft', 'list', 'table', 'ip', 'kube-proxy']);
        expect(rules).toMatch(new RegExp(`chain service-\\S+-${ns}/web/tcp/http`));
        expect(rules).toContain(svc.spec?.clusterIP as string);
      } else {
        // No kube-proxy anywhere: the Service lives in each agent's BPF service map, 3 backends.
        expect(findLabProcesses(lab.spec.name).filter((p) => /\/kube-proxy( |$)/.test(p.command))).toEqual([]);
        expect(findLabProcesses(lab.spec.name).filter((p) => /\/cilium-agent /.test(p.command))).toHaveLength(3);
        const pods = await podsOf(cluster, ns, 'app.kubernetes.io/name=web');
        for (let i = 1; i <= 3; i += 1) {
          const [command, ...args] = ciliumNodeCommand(lab.spec.name, i, ['bpf', 'lb', 'list']);
          const { stdout } = await exec(command as string, args);
          const lines = stdout.split('\n').filter((line) => line.startsWith(`${svc.spec?.clusterIP}:80/TCP`));
          for (const pod of pods) expect(lines.some((line) => line.includes(`${pod.status?.podIP}:8080/TCP`))).toBe(true);
        }
      }
    }, 240_000);

    it('GIVEN 2 persistent connections WHEN they carry 200 requests THEN every request follows its connection: at most 2 pods serve, and the servers count the same', async () => {
      const cluster = connect(lab.kubeconfig);
      const svc = await cluster.core.readNamespacedService({ name: 'web', namespace: ns });
      const servers = await podsOf(cluster, ns, 'app.kubernetes.io/name=web');
      const client = await cluster.core.readNamespacedPod({ name: 'client', namespace: ns });
      const run = await loadFrom(podNetns(lab.spec.name, client), [
        'http', '--target', `http://${svc.spec?.clusterIP}:80/`, '--model', 'persistent', '--connections', '2',
        '--max-requests', '200', '--duration', '30s', '--rate', '50', '--expect-pods', '3', '--unit', 'connections',
        '--server-metrics', servers.map((pod) => `${pod.metadata?.name}=${serverMetricsUrl(pod)}`).join(','), '--settle', '30s']);
      expect(run.totals.attributed).toBe(200);
      expect(run.errors.total).toBe(0);
      expect(run.totals.serverCounted).toBe(200);
      const serving = run.pods.filter((pod) => pod.requests > 0);
      expect(serving.length).toBeLessThanOrEqual(2);
      // Each serving pod holds one of the two connections, or both: the data plane picked per connection.
      expect(serving.reduce((sum, pod) => sum + pod.connections, 0)).toBe(2);
      for (const pod of serving) expect(pod.connections).toBeGreaterThanOrEqual(1);
    }, 120_000);

    if (mode === 'cilium') {
      it('GIVEN the Service WHEN kth inspect service reads every node THEN each agent\'s BPF maps hold exactly the ready endpoints of the slices', async () => {
        const inspection = await checkCiliumInspect(lab.spec.name, lab.kubeconfig, ns, 'web');
        expect(inspection.nodes).toHaveLength(3);
      }, 120_000);
    }
  });
}
