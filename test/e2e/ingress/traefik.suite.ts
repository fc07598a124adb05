import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { V1Pod } from '@kubernetes/client-node';
import type { ServiceInspection } from '../../../harness/inspect/model.ts';
import { apply, type Cluster, connect, ensureNamespace, podsOf, waitForDeployment, waitForReadyEndpoints } from '../../../harness/kube/cluster.ts';
import { TRAEFIK_VERSION } from '../../../harness/setup/versions.ts';
import { ingressClassOf, ingressControllerObjects, ingressPorts, ingressTo } from '../../../manifests/ingress-controller.ts';
import { sampleServiceObjects } from '../../../manifests/sample-service.ts';
import { inNetns, loadFrom, podNetns, startClientPod } from '../../support/lab-workloads.ts';
import { declaredSharedLab, useSharedLab } from '../../support/shared-lab.ts';
import { failures, kthRun } from '../../support/kth-run.ts';

const exec = promisify(execFile);

/**
 * The Ingress layer in the lab: a real Traefik (built by setup from its Go module) runs as a pod,
 * finds the API server through the `kubernetes` Service with its projected ServiceAccount token,
 * watches the Ingress and the EndpointSlices of its namespace, and proxies to the pods' IPs.
 *
 * On the shared lab of each proxy mode the issue names (traefik.iptables.test.ts,
 * traefik.nftables.test.ts): the controller, its inspection and the three built-in Ingress
 * scenarios, every variant.
 */
export function traefikSuite(): void {
  const proxyMode = declaredSharedLab().proxyMode;
  describe(`a Traefik Ingress controller on a 3-node ${proxyMode} lab`, () => {
    const sharedLab = useSharedLab();
    const ns = 'ingress';
    let labName: string;
    let cluster: Cluster;
    let servers: V1Pod[];
    let traefik: V1Pod;
    let netns: string;

    beforeAll(async () => {
      const lab = sharedLab();
      labName = lab.spec.name;
      cluster = connect(lab.kubeconfig);
      await ensureNamespace(cluster, ns);
      await apply(cluster, [
        ...sampleServiceObjects({ name: 'web', namespace: ns, runId: 'e2e-ingress', server: 'http', replicas: 3 }),
        ...ingressControllerObjects({ namespace: ns, runId: 'e2e-ingress' }),
        ingressTo({ name: 'web', namespace: ns, runId: 'e2e-ingress', className: ingressClassOf({}), service: 'web', port: 80 }),
      ]);
      await waitForDeployment(cluster, ns, 'web', 90_000);
      expect(await waitForReadyEndpoints(cluster, ns, 'web', 3)).toHaveLength(3);
      await waitForDeployment(cluster, ns, 'traefik', 90_000);
      servers = await podsOf(cluster, ns, 'app.kubernetes.io/name=web');
      [traefik] = (await podsOf(cluster, ns, 'app.kubernetes.io/name=traefik')) as [V1Pod];
      netns = podNetns(labName, await startClientPod(cluster, ns, 'client'));
    }, 240_000);

    const entry = () => `http://${traefik.status?.podIP}:${ingressPorts.web}/`;

    it('GIVEN the controller pod THEN it runs the built Traefik of the pinned release, as its image says', () => {
      expect(traefik.status?.containerStatuses?.[0]?.imageID).toBe(`kth-lab://traefik@${TRAEFIK_VERSION}`);
      expect(traefik.spec?.containers[0]?.image).toBe(`traefik:${TRAEFIK_VERSION}`);
    });

    it('GIVEN two persistent client connections to the controller THEN it balances per request: every backend pod gets its share (χ² passes) and the servers counted exactly what the clients did', async () => {
      // Ready means Traefik answers /ping; the route appears once its provider has read the Ingress: wait for it (bounded).
      const deadline = Date.now() + 60_000;
      let status = '';
      while (Date.now() < deadline) {
        status = await inNetns(netns, ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '2', entry()]).catch(() => 'error');
        if (status === '200') break;
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(status).toBe('200');

      const names = servers.map((pod) => pod.metadata?.name as string).sort();
      const serverMetrics = servers.map((pod) => `${pod.metadata?.name}=http://${pod.status?.podIP}:8080/metrics`).join(',');
      const run = await loadFrom(netns, ['http', '--target', entry(), '--model', 'persistent', '--connections', '2', '--rate', '60', '--duration', '5s',
        '--expect-pods', names.join(','), '--server-metrics', serverMetrics, '--settle', '0s'], 120_000);
      expect(run.errors.total).toBe(0);
      expect(run.pods.map((pod) => pod.name).sort()).toEqual(names);
      // Two connections to a ClusterIP reach at most two pods; through the controller all three serve.
      for (const pod of run.pods) expect(pod.requests).toBeGreaterThan(run.totals.attributed / 6);
      expect(run.metrics.chiSquareP).toBeGreaterThan(0.001);
      // The sample servers identify themselves through the proxy, and their own counters agree.
      expect(run.totals.attributed).toBe(run.totals.requests);
      expect(run.totals.serverCounted).toBe(run.totals.attributed);
    }, 180_000);

    it('GIVEN kth inspect service on the backend Service THEN it follows the path in through the Ingress: the route, the controller\'s Service and its replica on its node', async () => {
      const { stdout } = await exec(process.execPath, ['harness/bin/kth.mjs', 'inspect', 'service', `${ns}/web`, '--lab', labName, '--json'], { maxBuffer: 16 * 1024 * 1024 });
      const model = JSON.parse(stdout) as ServiceInspection;
      expect(model.ingresses).toEqual([{
        ingress: 'web', className: ingressClassOf({}), routes: [{ path: '/', port: 80 }],
        controller: {
          service: 'traefik', type: 'ClusterIP', clusterIP: expect.any(String), loadBalancer: [],
          nodes: [{ node: traefik.spec?.nodeName, pods: [{ name: traefik.metadata?.name, podIP: traefik.status?.podIP, ready: true }] }],
        },
      }]);
      const { stdout: text } = await exec(process.execPath, ['harness/bin/kth.mjs', 'inspect', 'service', `${ns}/web`, '--lab', labName]);
      expect(text).toContain(`Ingress web (class ${ingressClassOf({})}): */ -> :80`); // ASCII: not a terminal
    }, 60_000);

    it('GIVEN the ingress-per-request scenario (time scale 0.4) THEN through the controller every pod gets its share and the new pods theirs at once, straight to the ClusterIP the new pods get nothing, the controller sending to the ClusterIP (lb: native) pins again, and every run counted exactly what the servers did', async () => {
      const { code, stderr, report } = await kthRun('scenarios/ingress-per-request.ts', ['--time-scale', '0.4', '--proxy-mode', proxyMode, '--cluster', labName]);
      expect({ code, failed: failures(report), stderr: code === 0 ? '' : stderr.slice(-4000) }).toEqual({ code: 0, failed: [], stderr: '' });
      expect(report.runs.map((run) => run.variant)).toEqual(['service', 'ingress', 'native']);
      for (const run of report.runs) {
        // The controller of every run is recorded, wherever it ran; the cross-check holds through it.
        expect(run.ingress).toMatchObject({ controller: 'traefik', version: TRAEFIK_VERSION, image: `traefik:${TRAEFIK_VERSION}` });
        expect(run.ingress?.replicas).toEqual([expect.objectContaining({ pod: expect.stringMatching(/^ingress-/), node: expect.stringContaining('node-') })]);
        expect(run.crossCheck?.agree).toBe(true);
        expect(run.totals?.serverCounted).toBe(run.totals?.attributed);
      }
      const [service, ingress, native] = report.runs as [NonNullable<typeof report.runs[0]>, NonNullable<typeof report.runs[0]>, NonNullable<typeof report.runs[0]>];
      expect([ingress.ingress?.lb, native.ingress?.lb]).toEqual(['round-robin', 'native']);
      // Through the controller's kept-alive connections to the ClusterIP: no more pods than it opened connections to.
      expect(native.pods?.filter((pod) => pod.requests > 0).length).toBeLessThanOrEqual(3);
      expect(ingress.loads?.steady?.pods.map((pod) => pod.name)).toHaveLength(3);
      expect(ingress.metrics?.rebalanceSeconds).not.toBeNull();
      // Straight to the ClusterIP, the four connections were all opened before the scale-out: no new pod served.
      expect(service.pods?.filter((pod) => pod.requests > 0).length).toBeLessThanOrEqual(3);
      expect(service.pods).toHaveLength(6);
    }, 600_000);

    it('GIVEN the ingress-spread scenario (time scale 0.3) THEN external requests all cross node 1 while both replicas live there, and spread over two nodes each node\'s replica carries its share; with node 1 down, co-located nothing is answered and spread the replica on node 2 keeps answering; every answer is credited to a replica', async () => {
      // 0.3: node 1 stays down 18 s, so the steady part of the outage (after the 10 s request timeout) is 8 s long.
      const { code, stderr, report } = await kthRun('scenarios/ingress-spread.ts', ['--time-scale', '0.3', '--proxy-mode', proxyMode, '--cluster', labName]);
      expect({ code, failed: failures(report), stderr: code === 0 ? '' : stderr.slice(-4000) }).toEqual({ code: 0, failed: [], stderr: '' });
      const placement = (variant: string) => report.runs.find((run) => run.variant === variant)!.ingress!.replicas;
      expect(placement('co-located').map((replica) => replica.node.replace(/^.*-node-/, 'node-'))).toEqual(['node-1', 'node-1']);
      expect(new Set(placement('spread').map((replica) => replica.node)).size).toBe(2);
      expect(placement('spread-node-down').map((replica) => replica.node.replace(/^.*-node-/, 'node-')).sort()).toEqual(['node-1', 'node-2']);
      const run = (variant: string) => report.runs.find((r) => r.variant === variant)!;
      expect(run('co-located-node-down').metrics?.servedDuringFaults).toBe(0);
      expect(run('co-located-node-down').errors?.total).toBeGreaterThan(0);
      expect(run('spread-node-down').metrics?.servedDuringFaults).toBeGreaterThan(0.05);
      for (const { variant, ingress, totals, crossCheck } of report.runs) {
        // Each response was credited to the replica whose address the pod saw: none unaccounted for.
        expect(ingress?.unknownPeer).toBeUndefined();
        expect(ingress?.replicas.reduce((sum, replica) => sum + replica.requests, 0)).toBe(totals?.attributed);
        // With a node down, answers the servers sent can be lost on the way back (the report's check allows as many as the errors).
        if (!variant.endsWith('node-down')) expect(crossCheck?.agree).toBe(true);
      }
    }, 900_000);

    it('GIVEN the client-ip scenario (time scale 0.25) THEN no pod sees the client at L4, and X-Forwarded-For names it only when the controller\'s Service keeps it (Local)', async () => {
      const { code, stderr, report } = await kthRun('scenarios/client-ip.ts', ['--time-scale', '0.25', '--proxy-mode', proxyMode, '--cluster', labName]);
      expect({ code, failed: failures(report), stderr: code === 0 ? '' : stderr.slice(-4000) }).toEqual({ code: 0, failed: [], stderr: '' });
      const ratio = (variant: string) => report.runs.find((run) => run.variant === variant)!.metrics!.forwardedForPreservedRatio;
      // Under Cluster every request was masqueraded by the node that received it, before the controller saw it.
      expect([ratio('cluster'), ratio('local')]).toEqual([0, 1]);
    }, 600_000);
  });
}
