import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../../../harness/core/paths.ts';
import { ciliumNodeCommand } from '../../../harness/inspect/gather.ts';
import type { ServiceInspection } from '../../../harness/inspect/model.ts';
import { connect, endpointSlicesOf } from '../../../harness/kube/cluster.ts';
import { eventually } from '../../support/eventually.ts';

const exec = promisify(execFile);

/**
 * The body of an e2e test of `kth inspect service` on a lab in cilium mode, for a suite that owns
 * the lab (test/e2e/lab/cilium.test.ts starts one lab for many checks):
 *
 *   import { checkCiliumInspect } from '../inspect/cilium-inspect.ts';
 *   it('GIVEN … WHEN inspected THEN …', async () => {
 *     await checkCiliumInspect(lab.spec.name, lab.kubeconfig, 'ns', 'web');
 *   }, 90_000);
 *
 * The Service must exist with a selector and at least one ready pod. It waits (bounded, 60 s)
 * until every node's agent lists the ready endpoints for the Service's cluster IP, then runs the
 * real CLI (`--json` and the human form) and checks what it reports against sources it did not
 * use: the API's EndpointSlices, and each node's `cilium-dbg service list` in its table form
 * (inspect reads the JSON forms and the BPF maps). Returns the inspection for further checks.
 */
export async function checkCiliumInspect(labName: string, kubeconfig: string, namespace: string, service: string): Promise<ServiceInspection> {
  const cluster = connect(kubeconfig);
  const svc = await cluster.core.readNamespacedService({ name: service, namespace });
  const nodeNames = (await cluster.core.listNode()).items.map((n) => n.metadata?.name as string).sort();
  const clusterIp = svc.spec?.clusterIP as string;
  const ports = svc.spec?.ports ?? [];
  const internalLocal = svc.spec?.internalTrafficPolicy === 'Local';
  const externalLocal = svc.spec?.externalTrafficPolicy === 'Local' && (svc.spec.type === 'NodePort' || svc.spec.type === 'LoadBalancer');

  /** Ready `ip:port` per Service port name, and the node of each address, from the API. */
  const readyEndpoints = async () => {
    const slices = await endpointSlicesOf(cluster, namespace, service);
    const byPort = new Map<string, { key: string; node?: string }[]>();
    for (const slice of slices) {
      for (const p of slice.ports ?? []) {
        const list = byPort.get(p.name ?? '') ?? [];
        for (const e of slice.endpoints ?? []) {
          if (e.conditions?.ready === false) continue;
          list.push({ key: `${e.addresses[0]}:${p.port}`, ...(e.nodeName ? { node: e.nodeName } : {}) });
        }
        byPort.set(p.name ?? '', list);
      }
    }
    return byPort;
  };

  /** Each node's `cilium-dbg service list` table: frontend → its active backends. */
  const agentTable = async (node: string) => {
    const index = Number(/-node-(\d+)$/.exec(node)?.[1]);
    const [program, ...args] = ciliumNodeCommand(labName, index, ['service', 'list']);
    const { stdout } = await exec(program as string, args, { timeout: 15_000 });
    const table = new Map<string, string[]>();
    let frontend = '';
    for (const line of stdout.split('\n').slice(1)) {
      // `6    198.18.18.147:80/TCP     ClusterIP      1 => 198.18.128.78:8080/TCP (active)` then continuation lines.
      const head = /^\d+\s+(\S+)\s+\S+\s+\d+ => (\S+)\/\w+ \(([\w-]+)\)/.exec(line);
      const more = /^\s+\d+ => (\S+)\/\w+ \(([\w-]+)\)/.exec(line);
      if (head) {
        frontend = head[1] as string;
        table.set(frontend, head[3] === 'active' ? [head[2] as string] : []);
      } else if (more && frontend) {
        if (more[2] === 'active') table.get(frontend)?.push(more[1] as string);
      } else if (/^\d+\s+(\S+)/.test(line)) {
        frontend = (/^\d+\s+(\S+)/.exec(line)?.[1]) as string;
        table.set(frontend, []);
      }
    }
    return table;
  };

  const wantFor = (endpoints: { key: string; node?: string }[], node: string, local: boolean) =>
    endpoints.filter((e) => !local || e.node === node).map((e) => e.key).sort();

  await eventually(`every node's cilium-agent lists the ready endpoints of ${namespace}/${service}`, 60_000, async () => {
    const ready = await readyEndpoints();
    if ([...ready.values()].every((l) => l.length === 0)) return 'no ready endpoints yet';
    for (const node of nodeNames) {
      const table = await agentTable(node);
      for (const p of ports) {
        const have = (table.get(`${clusterIp}:${p.port}/${p.protocol ?? 'TCP'}`) ?? []).sort();
        const want = wantFor(ready.get(p.name ?? '') ?? [], node, internalLocal);
        if (JSON.stringify(have) !== JSON.stringify(want)) return `${node} ${clusterIp}:${p.port}: agent has ${have.join(', ') || 'nothing'}, the slices call for ${want.join(', ') || 'nothing'}`;
      }
    }
    return true;
  });

  const kth = (args: string[]) => exec(process.execPath, [join(repoRoot, 'harness/bin/kth.mjs'), 'inspect', 'service', `${namespace}/${service}`, '--lab', labName, ...args], {
    timeout: 30_000,
    env: { ...process.env, NO_COLOR: '1' },
  });
  const { stdout, stderr } = await kth(['--json']);
  expect(stderr).toBe('');
  const model = JSON.parse(stdout) as ServiceInspection;
  const ready = await readyEndpoints();

  expect(model.proxy).toMatchObject({ mode: 'cilium', rulesRead: true });
  expect(model.proxy.nodes.map((n) => n.node)).toEqual(nodeNames);
  expect(model.summary.nodesOutOfSync).toEqual([]);
  for (const node of model.proxy.nodes) {
    expect({ node: node.node, mode: node.mode, inSync: node.inSync, error: node.error, agentError: node.agentError })
      .toEqual({ node: node.node, mode: 'cilium', inSync: true, error: undefined, agentError: undefined });
    const table = await agentTable(node.node);
    for (const p of ports) {
      const port = node.ports.find((x) => x.port === (p.name ?? ''));
      const clusterIpKey = `${clusterIp}:${p.port}/${p.protocol ?? 'TCP'}`;
      // The chain holding the cluster IP frontend sends new connections to exactly what the agent's table and the slices say.
      const viaClusterIp = port?.chains.find((c) => c.frontends?.some((f) => f.key === clusterIpKey));
      const picked = (viaClusterIp?.endpoints ?? []).filter((e) => e.share > 0).map((e) => `${e.address}:${e.port}`).sort();
      expect(picked).toEqual((table.get(clusterIpKey) ?? []).sort());
      expect(picked).toEqual(wantFor(ready.get(p.name ?? '') ?? [], node.node, internalLocal));
      expect(viaClusterIp?.kind).toBe(internalLocal ? 'local' : 'cluster');
      for (const e of viaClusterIp?.endpoints ?? []) expect(e.share).toBeCloseTo(1 / picked.length, 9);
      // A node port frontend on the node's own address follows externalTrafficPolicy.
      if (p.nodePort) {
        const internalIP = model.nodes.find((n) => n.name === node.node)?.internalIP;
        const nodePort = port?.chains.find((c) => c.frontends?.some((f) => f.key === `${internalIP}:${p.nodePort}/${p.protocol ?? 'TCP'}`));
        expect(nodePort?.kind).toBe(externalLocal ? 'local' : 'cluster');
        expect((nodePort?.endpoints ?? []).filter((e) => e.share > 0).map((e) => `${e.address}:${e.port}`).sort())
          .toEqual(wantFor(ready.get(p.name ?? '') ?? [], node.node, externalLocal));
      }
    }
  }
  expect(model.findings.filter((f) => f.level === 'warning')).toEqual([]);

  const human = await kth([]);
  expect(human.stdout).toContain('proxy mode cilium');
  for (const node of nodeNames) expect(human.stdout).toContain(`${node} (netns `);
  expect(human.stdout).not.toContain('OUT OF SYNC');
  expect([...human.stdout].every((c) => c.charCodeAt(0) < 128)).toBe(true);
  return model;
}
