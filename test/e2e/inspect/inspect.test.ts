/** @lab iptables/3 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { V1Service } from '@kubernetes/client-node';
import { sampleServiceObjects } from '../../../manifests/sample-service.ts';
import { repoRoot } from '../../../harness/core/paths.ts';
import type { ServiceInspection } from '../../../harness/inspect/model.ts';
import { apply, type Cluster, connect, ensureNamespace, podsOf, waitForDeployment, watchUntil } from '../../../harness/kube/cluster.ts';
import { inCidr, labNetwork } from '../../../harness/lab/addressing.ts';
import type { LabInfo } from '../../../harness/lab/lab.ts';
import { labLayout } from '../../../harness/lab/layout.ts';
import type { LoadBalancerStatus } from '../../../harness/lab/load-balancer/controller.ts';
import { labNames } from '../../../harness/lab/names.ts';
import { eventually } from '../../support/eventually.ts';
import { testLabName } from '../../support/residue.ts';
import { useSharedLab } from '../../support/shared-lab.ts';

const exec = promisify(execFile);

/** Runs the real CLI; never throws on a non-zero exit. */
async function kth(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [join(repoRoot, 'harness/bin/kth.mjs'), ...args], { timeout: 30_000, env: { ...process.env, NO_COLOR: '1' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/**
 * `kth inspect service` against a real 3-node iptables lab: the sample HTTP service as a
 * LoadBalancer with externalTrafficPolicy Local and 3 replicas. Every fact it reports is checked
 * against an independent source: the API, each node's iptables-save text, and the lab load
 * balancer's own health-check view.
 */
describe('kth inspect service on a 3-node lab in iptables mode', () => {
  const ns = 'insp';
  const sharedLab = useSharedLab();
  let lab: LabInfo | undefined;
  let cluster: Cluster;
  let names: ReturnType<typeof labNames>;
  let service: V1Service;
  /** pod name → { ip, node } of the 3 ready pods. */
  let pods: Map<string, { ip: string; node: string }>;

  const natOf = async (node: number) => (await exec('ip', ['netns', 'exec', names.nodeNetns(node), 'iptables-save', '-t', 'nat'])).stdout;
  const lbView = async () => {
    try {
      return JSON.parse(await readFile(labLayout(lab!.spec.name).config('load-balancer.status.json'), 'utf8')) as LoadBalancerStatus;
    } catch {
      return undefined;
    }
  };

  beforeAll(async () => {
    const started = performance.now();
    lab = sharedLab();
    names = labNames(lab.spec.name);
    cluster = connect(lab.kubeconfig);
    await ensureNamespace(cluster, ns);
    const objects = sampleServiceObjects({ name: 'web', namespace: ns, runId: 'e2e', server: 'http', replicas: 3, topologySpread: {}, service: { type: 'LoadBalancer', externalTrafficPolicy: 'Local' } });
    await apply(cluster, objects);
    await waitForDeployment(cluster, ns, 'web', 60_000);
    const all = await watchUntil<V1Service>(cluster, `/api/v1/namespaces/${ns}/services`, { fieldSelector: 'metadata.name=web' }, (svcs) => {
      const svc = svcs.get(`${ns}/web`);
      return svc?.status?.loadBalancer?.ingress?.[0]?.ip && svc.spec?.healthCheckNodePort ? true : JSON.stringify(svc?.status ?? {});
    }, 20_000, `LoadBalancer address for ${ns}/web`);
    service = all.get(`${ns}/web`) as V1Service;
    pods = new Map((await podsOf(cluster, ns, 'app.kubernetes.io/name=web')).map((p) => [p.metadata?.name as string, { ip: p.status?.podIP as string, node: p.spec?.nodeName as string }]));
    const podIps = [...pods.values()].map((p) => p.ip).sort();
    const endpointNodes = [...new Set([...pods.values()].map((p) => p.node))].sort();
    const deployed = performance.now();
    // Ready pods reach the EndpointSlices a moment before every kube-proxy has programmed them, and
    // the load balancer's health checks follow: wait (bounded) for both.
    await eventually('every node\'s KUBE-SVC chain sends to the 3 pods and the LB sends to the nodes with pods', 30_000, async () => {
      for (let i = 1; i <= 3; i += 1) {
        const programmed = [...(await natOf(i)).matchAll(/^-A KUBE-SVC-\S+ .*"insp\/web:http -> ([\d.]+):8080"/gm)].map((m) => m[1]).sort();
        if (JSON.stringify(programmed) !== JSON.stringify(podIps)) return `node ${i} sends to ${programmed.join(', ') || 'nothing'}`;
      }
      const receiving = (await lbView())?.services.find((s) => s.service === `${ns}/web`)?.nodes.filter((n) => n.receives).map((n) => n.name).sort() ?? [];
      return JSON.stringify(receiving) === JSON.stringify(endpointNodes) ? true : `LB sends to ${receiving.join(', ') || 'none'}`;
    });
    process.stderr.write(`3 pods + LoadBalancer ready in ${((deployed - started) / 1000).toFixed(1)}s, programmed ${((performance.now() - deployed) / 1000).toFixed(1)}s later; pods on ${endpointNodes.join(', ')}\n`);
  }, 120_000);

  it('GIVEN the programmed Service WHEN inspected with --json THEN endpoints, LB address, per-node rules and health checks are the real ones', async () => {
    const { code, stdout, stderr } = await kth(['inspect', 'service', `${ns}/web`, '--lab', lab!.spec.name, '--json']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const model = JSON.parse(stdout) as ServiceInspection;
    const podIps = [...pods.values()].map((p) => p.ip).sort();

    // The Service and its load balancer address, as the API has them.
    const lbIp = service.status?.loadBalancer?.ingress?.[0]?.ip as string;
    expect(inCidr(lbIp, labNetwork.loadBalancerPool)).toBe(true);
    expect(model.service).toMatchObject({
      namespace: ns, name: 'web', type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: service.spec?.healthCheckNodePort,
      clusterIPs: service.spec?.clusterIPs, loadBalancer: [{ ip: lbIp, ipMode: 'VIP' }],
      ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: service.spec?.ports?.[0]?.nodePort, endpointPorts: [8080] }],
    });

    // 3 ready endpoints, each a Ready pod on its node.
    expect(model.summary).toEqual({ endpoints: 3, readyEndpoints: 3, servingTerminatingEndpoints: 0, nodesOutOfSync: [] });
    const endpoints = model.endpointSlices.flatMap((s) => s.endpoints);
    expect(endpoints.map((e) => [e.addresses[0], e.ready, e.nodeName, e.pod]).sort()).toEqual(
      [...pods.entries()].map(([name, p]) => [p.ip, true, p.node, name]).sort());
    expect(model.pods.map((p) => [p.name, p.ready, p.node, p.podIP]).sort()).toEqual([...pods.entries()].map(([name, p]) => [name, true, p.node, p.ip]).sort());

    // Each node's rules: the 3 pod IPs, with the probabilities kube-proxy really wrote.
    expect(model.proxy.mode).toBe('iptables');
    expect(model.proxy.nodes.map((n) => n.node)).toEqual([1, 2, 3].map((i) => names.nodeName(i)));
    for (const [i, node] of model.proxy.nodes.entries()) {
      expect({ node: node.node, inSync: node.inSync, error: node.error }).toEqual({ node: node.node, inSync: true, error: undefined });
      const cluster_ = node.ports[0]?.chains.find((c) => c.kind === 'cluster');
      expect(cluster_?.endpoints.map((e) => e.address).sort()).toEqual(podIps);
      const nat = await natOf(i + 1);
      const written = [...nat.matchAll(new RegExp(`^-A ${cluster_?.chain} .*"${ns}/web:http -> [\\d.:]+"(?: -m statistic --mode random --probability (\\S+))? -j KUBE-SEP-`, 'gm'))].map((m) => (m[1] === undefined ? 1 : Number(m[1])));
      expect(written).toHaveLength(3);
      expect(cluster_?.endpoints.map((e) => e.probability)).toEqual(written);
      expect(written[0]).toBeCloseTo(1 / 3, 6);
      expect(written.slice(1)).toEqual([0.5, 1]);
      for (const e of cluster_?.endpoints ?? []) expect(e.share).toBeCloseTo(1 / 3, 6);
      // externalTrafficPolicy Local: the node's local chain holds exactly its own pods.
      const local = node.ports[0]?.chains.find((c) => c.kind === 'local');
      expect(local?.endpoints.map((e) => e.address).sort() ?? []).toEqual([...pods.values()].filter((p) => p.node === node.node).map((p) => p.ip).sort());
    }

    // healthCheckNodePort answers 200 exactly on the nodes with a ready endpoint, and the LB agrees.
    const endpointNodes = [...new Set([...pods.values()].map((p) => p.node))].sort();
    const answering = model.nodes.filter((n) => n.healthCheck?.observed?.status === 200).map((n) => n.name).sort();
    expect(answering).toEqual(endpointNodes);
    for (const node of model.nodes) {
      expect(node.healthCheck).toMatchObject({ port: service.spec?.healthCheckNodePort, expected: node.healthCheck?.observed?.status, loadBalancerSends: endpointNodes.includes(node.name) });
      expect(node.internalIP).toMatch(/^198\.18\.0\.1\d$/);
    }
    expect(model.findings.filter((f) => f.level === 'warning')).toEqual([]);
  }, 30_000);

  it('GIVEN the same Service WHEN inspected for people THEN a plain tree names the proxy mode, the LB address and every pod', async () => {
    const { code, stdout } = await kth(['inspect', 'service', `${ns}/web`, '--lab', lab!.spec.name]);
    expect(code).toBe(0);
    expect(stdout).toContain('proxy mode iptables');
    expect(stdout).toContain(`LoadBalancer ${service.status?.loadBalancer?.ingress?.[0]?.ip}`);
    expect(stdout).toContain('in sync with the EndpointSlices');
    for (const name of pods.keys()) expect(stdout).toContain(name);
    expect([...stdout].every((c) => c.charCodeAt(0) < 128)).toBe(true);
  }, 30_000);

  it('GIVEN a Service that does not exist THEN exit 2, naming it and listing the namespace\'s Services', async () => {
    const { code, stdout, stderr } = await kth(['inspect', 'service', `${ns}/nope`, '--lab', lab!.spec.name]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(`service ${ns}/nope not found`);
    expect(stderr).toContain('web (LoadBalancer)');
    expect(stderr).toContain(`get svc -n ${ns}`);
  }, 30_000);

  it('GIVEN a scale-down to 1 pod THEN only its node answers the health check (200), the others answer 503, have no local endpoint and drop outside traffic', async () => {
    await apply(cluster, [{ ...sampleServiceObjects({ name: 'web', namespace: ns, runId: 'e2e', server: 'http', replicas: 1, topologySpread: {}, service: { type: 'LoadBalancer', externalTrafficPolicy: 'Local' } })[0] }]);
    await waitForDeployment(cluster, ns, 'web', 30_000);
    let survivor = { ip: '', node: '' };
    await eventually('1 pod left, every node sends only to it, the LB only to its node', 30_000, async () => {
      const left = await podsOf(cluster, ns, 'app.kubernetes.io/name=web');
      if (left.length !== 1) return `${left.length} pods`;
      survivor = { ip: left[0]?.status?.podIP as string, node: left[0]?.spec?.nodeName as string };
      for (let i = 1; i <= 3; i += 1) {
        const programmed = [...(await natOf(i)).matchAll(/^-A KUBE-SVC-\S+ .*"insp\/web:http -> ([\d.]+):8080"/gm)].map((m) => m[1]);
        if (JSON.stringify(programmed) !== JSON.stringify([survivor.ip])) return `node ${i} sends to ${programmed.join(', ')}`;
      }
      const receiving = (await lbView())?.services.find((s) => s.service === `${ns}/web`)?.nodes.filter((n) => n.receives).map((n) => n.name) ?? [];
      return JSON.stringify(receiving) === JSON.stringify([survivor.node]) ? true : `LB sends to ${receiving.join(', ')}`;
    });

    const { code, stdout } = await kth(['inspect', 'service', `${ns}/web`, '--lab', lab!.spec.name, '--json']);
    expect(code).toBe(0);
    const model = JSON.parse(stdout) as ServiceInspection;
    expect(model.summary).toEqual({ endpoints: 1, readyEndpoints: 1, servingTerminatingEndpoints: 0, nodesOutOfSync: [] });
    expect(model.nodes.map((n) => [n.name, n.localReadyEndpoints, n.healthCheck?.expected, n.healthCheck?.observed?.status, n.healthCheck?.loadBalancerSends])).toEqual(
      [1, 2, 3].map((i) => names.nodeName(i)).map((name) => name === survivor.node ? [name, 1, 200, 200, true] : [name, 0, 503, 503, false]));
    const lbIp = service.status?.loadBalancer?.ingress?.[0]?.ip as string;
    for (const node of model.proxy.nodes) {
      const port = node.ports[0];
      expect(port?.chains.find((c) => c.kind === 'cluster')?.endpoints.map((e) => [e.address, e.probability, e.share, e.pod !== undefined])).toEqual([[survivor.ip, 1, 1, true]]);
      if (node.node === survivor.node) {
        expect(port?.blocked).toEqual([]);
        expect(port?.chains.find((c) => c.kind === 'local')?.endpoints.map((e) => e.address)).toEqual([survivor.ip]);
      } else {
        expect(port?.chains.find((c) => c.kind === 'local')?.endpoints ?? []).toEqual([]);
        expect(port?.blocked).toContainEqual({ destination: `${lbIp}:80/tcp`, verdict: 'drop', reason: 'no local endpoints' });
      }
    }
  }, 60_000);

  it('GIVEN a lab that is not up THEN inspecting it is bad input', async () => {
    const name = testLabName('gone');
    const { code, stderr } = await kth(['inspect', 'service', `${ns}/web`, '--lab', name]);
    expect(code).toBe(2);
    expect(stderr).toContain(`there is no lab named '${name}'`);
  }, 60_000);
});
