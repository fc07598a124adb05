import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { PatchStrategy, setHeaderOptions, type V1Deployment, type V1Service } from '@kubernetes/client-node';
import { sampleServiceObjects } from '../../../manifests/sample-service.ts';
import { apply, type Cluster, connect, ensureNamespace, podsOf, waitForDeployment, watchUntil } from '../../../harness/kube/cluster.ts';
import { inCidr, labNetwork, nodeIp } from '../../../harness/lab/addressing.ts';
import type { LabInfo } from '../../../harness/lab/lab.ts';
import { labLayout } from '../../../harness/lab/layout.ts';
import type { LoadBalancerStatus } from '../../../harness/lab/load-balancer/controller.ts';
import { labNames } from '../../../harness/lab/names.ts';
import { parsePeer } from '../../../harness/workloads/identity.ts';
import { declaredSharedLab, useSharedLab } from '../../support/shared-lab.ts';
import { eventually } from '../../support/eventually.ts';

const exec = promisify(execFile);

/**
 * NodePort, LoadBalancer and externalTrafficPolicy from outside the cluster: every request is
 * sent from the lab's external client namespace (198.18.48.2), whose only way into the lab is
 * the lab load balancer's namespace, exactly as traffic enters a cloud cluster through its NLB.
 * The servers report which pod and node served and the source address they saw (x-kth-peer), so
 * each assertion is about what really happened on the path: kube-proxy's SNAT, its health check
 * node port, the load balancer's DNAT and node choice.
 */
interface Answer {
  status?: number;
  pod?: string;
  node?: string;
  peer?: string;
  error?: string;
}

/** N sequential requests, a new connection each; bounded per request (timeoutMs) and in total (deadlineMs). */
const requestsScript = `
const http = require('node:http');
const [url, count, timeoutMs, deadlineMs] = process.argv.slice(1);
const one = () => new Promise((resolve) => {
  const req = http.get(url, { agent: false, timeout: Number(timeoutMs), headers: { connection: 'close' } }, (res) => {
    let body = ''; res.setEncoding('utf8'); res.on('data', (d) => { body = (body + d).slice(0, 2048); });
    res.on('end', () => resolve({ status: res.statusCode, pod: res.headers['x-kth-pod'], node: res.headers['x-kth-node'], peer: res.headers['x-kth-peer'], body }));
  });
  req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
  req.on('error', (e) => resolve({ error: e.code || e.message }));
});
(async () => {
  const end = Date.now() + Number(deadlineMs); const out = [];
  for (let i = 0; i < Number(count) && Date.now() < end; i++) out.push(await one());
  console.log(JSON.stringify(out));
})();
`;

/** One file per proxy mode runs this on that mode's shared lab (external-traffic.<mode>.test.ts). */
export function externalTrafficSuite(): void {
  const mode = declaredSharedLab().proxyMode;
  describe(`external traffic (NodePort, LoadBalancer, externalTrafficPolicy) on a 3-node lab in ${mode} mode`, () => {
    const sharedLab = useSharedLab();
    const ns = 'ext';
    const clientIp = labNetwork.clientIp;
    let lab: LabInfo | undefined;
    let cluster: Cluster;
    let names: ReturnType<typeof labNames>;
    /** Every node: name, bridge address, and every IPv4 address of its namespace (pod gateways too). */
    let nodes: { name: string; ip: string; netns: string; addresses: string[] }[];
    /** Nodes running a ready `web` pod. */
    let endpointNodes: string[];
    let clusterSvc: V1Service;
    let localSvc: V1Service;
    let deployment: V1Deployment;

    /** Requests from the external client namespace. */
    async function fromClient(url: string, count: number, timeoutMs = 1500): Promise<Answer[]> {
      const { stdout } = await exec('ip', ['netns', 'exec', names.netns('client'), process.execPath, '-e', requestsScript, url, String(count), String(timeoutMs), '30000'], { timeout: 40_000 });
      return JSON.parse(stdout) as Answer[];
    }
    const peerOf = (a: Answer) => parsePeer(a.peer ?? '')?.address;
    const nodePortOf = (svc: V1Service) => svc.spec?.ports?.[0]?.nodePort as number;
    const lbIpOf = (svc: V1Service) => svc.status?.loadBalancer?.ingress?.[0]?.ip as string;

    async function lbView(): Promise<LoadBalancerStatus | undefined> {
      try {
        return JSON.parse(await readFile(labLayout(lab!.spec.name).config('load-balancer.status.json'), 'utf8')) as LoadBalancerStatus;
      } catch {
        return undefined;
      }
    }
    /** Waits (bounded) until the load balancer sends `service`'s new connections to exactly `expected` nodes. */
    async function waitForLbNodes(service: string, expected: string[], timeoutMs = 20_000): Promise<void> {
      const deadline = performance.now() + timeoutMs;
      let last = '';
      while (performance.now() < deadline) {
        const view = (await lbView())?.services.find((s) => s.service === service);
        const receiving = view?.nodes.filter((n) => n.receives).map((n) => n.name).sort() ?? [];
        if (JSON.stringify(receiving) === JSON.stringify([...expected].sort())) return;
        last = JSON.stringify(view?.nodes ?? 'no view');
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`load balancer did not converge on ${expected.join(', ')} for ${service} within ${timeoutMs}ms: ${last}`);
    }
    async function waitForLbAddress(name: string): Promise<V1Service> {
      const all = await watchUntil<V1Service>(cluster, `/api/v1/namespaces/${ns}/services`, { fieldSelector: `metadata.name=${name}` }, (svcs) => {
        const svc = svcs.get(`${ns}/${name}`);
        return svc?.status?.loadBalancer?.ingress?.[0]?.ip ? true : `status.loadBalancer ${JSON.stringify(svc?.status?.loadBalancer ?? {})}`;
      }, 20_000, `LoadBalancer address for ${ns}/${name}`);
      return all.get(`${ns}/${name}`) as V1Service;
    }
    async function endpointNodesNow(): Promise<string[]> {
      const pods = await podsOf(cluster, ns, 'app.kubernetes.io/name=web');
      return [...new Set(pods.filter((p) => !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
        .map((p) => p.spec?.nodeName as string))].sort();
    }
    const lbTable = async () => (await exec('ip', ['netns', 'exec', names.netns('lb'), 'nft', 'list', 'table', 'ip', 'kth_lb'])).stdout;

    beforeAll(async () => {
      const started = performance.now();
      lab = sharedLab();
      names = labNames(lab.spec.name);
      cluster = connect(lab.kubeconfig);
      await ensureNamespace(cluster, ns);
      const [rendered, base] = sampleServiceObjects({ name: 'web', namespace: ns, runId: 'e2e', server: 'http', replicas: 2, topologySpread: {}, service: { type: 'LoadBalancer', externalTrafficPolicy: 'Cluster' } });
      deployment = rendered;
      const local: V1Service = { ...base, metadata: { ...base.metadata, name: 'web-local' }, spec: { ...base.spec, externalTrafficPolicy: 'Local' } };
      const cluster_: V1Service = { ...base, metadata: { ...base.metadata, name: 'web-cluster' } };
      await apply(cluster, [deployment, cluster_, local]);
      await waitForDeployment(cluster, ns, 'web', 90_000);
      clusterSvc = await waitForLbAddress('web-cluster');
      localSvc = await waitForLbAddress('web-local');
      endpointNodes = await endpointNodesNow();
      nodes = [];
      for (let i = 1; i <= 3; i += 1) {
        const netns = names.nodeNetns(i);
        const { stdout } = await exec('ip', ['-n', netns, '-j', '-4', 'addr', 'show']);
        const addresses = (JSON.parse(stdout) as { addr_info: { local: string }[] }[]).flatMap((l) => l.addr_info.map((a) => a.local)).filter((a) => a !== '127.0.0.1');
        nodes.push({ name: names.nodeName(i), ip: nodeIp(i), netns, addresses });
      }
      const deployed = performance.now();
      // Ready pods are in the EndpointSlices a moment before every kube-proxy has programmed them:
      // wait (bounded) until each node's NodePort and health check node port answer as they should.
      const hcPort = localSvc.spec?.healthCheckNodePort as number;
      await eventually('the data plane programmed both Services on every node', 30_000, async () => {
        for (const node of nodes) {
          const [np] = await fromClient(`http://${node.ip}:${nodePortOf(clusterSvc)}/`, 1, 1000);
          if (np?.status !== 200) return `${node.name} NodePort answered ${np?.error ?? np?.status}`;
          const [hc] = await fromClient(`http://${node.ip}:${hcPort}/healthz`, 1, 1000);
          const want = endpointNodes.includes(node.name) ? 200 : 503;
          if (hc?.status !== want) return `${node.name} healthCheckNodePort answered ${hc?.error ?? hc?.status}, want ${want}`;
        }
        return true;
      });
      process.stderr.write(`[${mode}] 2 pods + 2 LoadBalancer Services ready in ${((deployed - started) / 1000).toFixed(1)}s, `
        + `the data plane programmed ${((performance.now() - deployed) / 1000).toFixed(1)}s later; endpoints on ${endpointNodes.join(', ')}\n`);
    }, 200_000);

    it('GIVEN a NodePort WHEN called on every node address from outside THEN every node answers (Cluster policy forwards to pods anywhere)', async () => {
      for (const node of nodes) {
        const answers = await fromClient(`http://${node.ip}:${nodePortOf(clusterSvc)}/`, 4);
        expect(answers.map((a) => a.error ?? a.status)).toEqual([200, 200, 200, 200]);
        for (const a of answers) expect(endpointNodes).toContain(a.node);
      }
    }, 60_000);

    it('GIVEN externalTrafficPolicy Local THEN its healthCheckNodePort answers 200 only on nodes with a ready local endpoint, 503 elsewhere', async () => {
      const port = localSvc.spec?.healthCheckNodePort as number;
      expect(port).toBeGreaterThanOrEqual(30000);
      expect(endpointNodes.length).toBeLessThan(3); // 2 replicas on 3 nodes: at least one node has none
      for (const node of nodes) {
        const [answer] = await fromClient(`http://${node.ip}:${port}/healthz`, 1);
        const has = endpointNodes.includes(node.name);
        expect({ node: node.name, status: answer?.status }).toEqual({ node: node.name, status: has ? 200 : 503 });
      }
    }, 60_000);

    it('GIVEN Cluster policy THEN a pod behind another node sees the entry node as source (SNAT); a local pod sees the client with Cilium, the node with kube-proxy; GIVEN Local THEN it sees the external client', async () => {
      for (const node of nodes) {
        const answers = await fromClient(`http://${node.ip}:${nodePortOf(clusterSvc)}/`, 6);
        for (const a of answers) {
          expect(a.status).toBe(200);
          // Forwarded to another node, the packet leaves through the bridge with the entry node's address.
          if (a.node !== node.name) expect(peerOf(a)).toBe(node.ip);
          // Served on the entry node: kube-proxy masquerades every Cluster-policy NodePort packet;
          // Cilium's BPF NodePort translates only the destination for a local backend.
          else if (mode === 'cilium') expect(peerOf(a)).toBe(clientIp);
          else {
            expect(peerOf(a)).not.toBe(clientIp);
            expect(node.addresses).toContain(peerOf(a));
          }
        }
      }
      for (const node of nodes) {
        const answers = await fromClient(`http://${node.ip}:${nodePortOf(localSvc)}/`, endpointNodes.includes(node.name) ? 4 : 1, 1000);
        if (endpointNodes.includes(node.name)) {
          // Local: served on the entry node itself, source untouched.
          expect(answers.map((a) => [a.status, a.node, peerOf(a)])).toEqual(Array(4).fill([200, node.name, clientIp]));
        } else {
          // Local and no local endpoint: the data plane drops rather than forwards.
          expect(answers[0]?.error).toBeDefined();
        }
      }
    }, 90_000);

    it('GIVEN type LoadBalancer THEN each Service gets its own pool address (ipMode VIP) and answers through it with Cluster semantics', async () => {
      for (const svc of [clusterSvc, localSvc]) {
        expect(svc.status?.loadBalancer?.ingress).toEqual([{ ip: expect.any(String), ipMode: 'VIP' }]);
        expect(inCidr(lbIpOf(svc), labNetwork.loadBalancerPool)).toBe(true);
      }
      expect(lbIpOf(clusterSvc)).not.toBe(lbIpOf(localSvc));

      await waitForLbNodes(`${ns}/web-cluster`, nodes.map((n) => n.name));
      expect(await lbTable()).toMatch(new RegExp(`${lbIpOf(clusterSvc).replaceAll('.', '\\.')} \\. tcp \\. 80 : jump`));
      const answers = await fromClient(`http://${lbIpOf(clusterSvc)}:80/`, 30);
      expect(answers.filter((a) => a.status !== 200)).toEqual([]);
      const allNodeAddresses = nodes.flatMap((n) => n.addresses);
      for (const a of answers) {
        expect(endpointNodes).toContain(a.node);
        // SNAT on the node the LB picked (Cilium: only when that node forwards to another node).
        expect(mode === 'cilium' ? [...allNodeAddresses, clientIp] : allNodeAddresses).toContain(peerOf(a));
      }
      // The LB spreads new connections over all 3 nodes: entry nodes without a pod forward with their own address.
      const entryNodes = new Set(answers.map(peerOf).filter((p) => nodes.some((n) => n.ip === p)));
      expect(entryNodes.size).toBeGreaterThanOrEqual(2);
    }, 60_000);

    it('GIVEN type LoadBalancer with Local THEN only nodes with endpoints receive traffic, and pods see the client address', async () => {
      await waitForLbNodes(`${ns}/web-local`, endpointNodes);
      const table = await lbTable();
      expect(table).toContain(`numgen random mod ${endpointNodes.length}`);
      const answers = await fromClient(`http://${lbIpOf(localSvc)}:80/`, 30);
      expect(answers.filter((a) => a.status !== 200)).toEqual([]);
      for (const a of answers) {
        expect(endpointNodes).toContain(a.node);
        expect(peerOf(a)).toBe(clientIp);
      }
      // Random spread over the healthy nodes: with 2 of them, all 30 on one has probability 2^-29.
      expect(new Set(answers.map((a) => a.node)).size).toBe(endpointNodes.length);
    }, 60_000);

    it('GIVEN Local WHEN a node loses its last endpoint THEN its health check turns 503 and the LB stops sending it new connections', async () => {
      const scaled: V1Deployment = { ...deployment, spec: { ...deployment.spec!, replicas: 1 } };
      await apply(cluster, [scaled]);
      await waitForDeployment(cluster, ns, 'web', 60_000);
      const remaining = await endpointNodesNow();
      expect(remaining).toHaveLength(1);
      const started = performance.now();
      await waitForLbNodes(`${ns}/web-local`, remaining, 20_000);
      process.stderr.write(`[${mode}] LB converged on ${remaining.join(', ')} ${((performance.now() - started) / 1000).toFixed(1)}s after the rollout finished\n`);
      const answers = await fromClient(`http://${lbIpOf(localSvc)}:80/`, 20);
      expect(answers.map((a) => [a.status, a.node, peerOf(a)])).toEqual(Array(20).fill([200, remaining[0], clientIp]));
    }, 90_000);

    it('GIVEN a Service stops being a LoadBalancer or is deleted THEN its address is released from status and from the LB table', async () => {
      const localIp = lbIpOf(localSvc);
      const clusterIp = lbIpOf(clusterSvc);
      await cluster.core.patchNamespacedService({ name: 'web-local', namespace: ns, body: { spec: { type: 'NodePort' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      await watchUntil<V1Service>(cluster, `/api/v1/namespaces/${ns}/services`, { fieldSelector: 'metadata.name=web-local' }, (svcs) => {
        const svc = svcs.get(`${ns}/web-local`);
        return svc?.spec?.type === 'NodePort' && (svc.status?.loadBalancer?.ingress ?? []).length === 0 ? true : JSON.stringify(svc?.status ?? {});
      }, 15_000, 'web-local status cleared');
      await cluster.core.deleteNamespacedService({ name: 'web-cluster', namespace: ns });
      const deadline = performance.now() + 15_000;
      let table = await lbTable();
      while ((table.includes(localIp) || table.includes(clusterIp)) && performance.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        table = await lbTable();
      }
      expect(table).not.toContain(localIp);
      expect(table).not.toContain(clusterIp);
      const refused = await fromClient(`http://${clusterIp}:80/`, 1, 1000);
      expect(refused[0]?.error).toBe('ECONNREFUSED');
    }, 60_000);
  });
}
