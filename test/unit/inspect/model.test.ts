import type { V1EndpointSlice } from '@kubernetes/client-node';
import { inspectService } from '../../../harness/inspect/model.ts';
import { clusterProxyMode, proxyModeFromConfigMaps } from '../../../harness/inspect/proxy-mode.ts';
import { fixtureInput } from './fixtures.ts';

describe('inspect model: API objects + each node\'s rules → the traffic path (real captures)', () => {
  it.each(['ipt-steady', 'nft-steady'] as const)('GIVEN %s THEN the Service, nodes, slices and pods are as the API said, and every node is in sync', (state) => {
    const model = inspectService(fixtureInput(state));
    const lab = state.startsWith('ipt') ? 'insp' : 'inspn';
    expect(model.service).toMatchObject({
      namespace: 'shop', name: 'web', type: 'LoadBalancer', externalTrafficPolicy: 'Local', internalTrafficPolicy: 'Cluster', sessionAffinity: 'None',
      loadBalancer: [{ ip: '198.18.32.1', ipMode: 'VIP' }],
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 'http', nodePort: expect.any(Number), endpointPorts: [8080] }],
    });
    expect(model.nodes.map((n) => [n.name, n.internalIP, n.localReadyEndpoints, n.healthCheck?.expected])).toEqual([
      [`${lab}-node-1`, '198.18.0.11', 1, 200],
      [`${lab}-node-2`, '198.18.0.12', 2, 200],
    ]);
    expect(model.summary).toEqual({ endpoints: 3, readyEndpoints: 3, servingTerminatingEndpoints: 0, nodesOutOfSync: [] });
    expect(model.pods.every((p) => p.ready && p.inSlices && p.podIP)).toBe(true);
    expect(model.proxy).toMatchObject({ mode: state.startsWith('ipt') ? 'iptables' : 'nftables', rulesRead: true });
    for (const node of model.proxy.nodes) {
      const [port] = node.ports;
      expect(port?.chains.map((c) => [c.kind, c.used, c.inSync, c.endpoints.length])).toEqual([
        ['cluster', true, true, 3],
        ['local', true, true, node.node.endsWith('1') ? 1 : 2],
      ]);
      // Every rule endpoint is named by its pod and node.
      for (const e of port?.chains.flatMap((c) => c.endpoints) ?? []) expect(model.pods.find((p) => p.name === e.pod)).toMatchObject({ podIP: e.address, node: e.node });
    }
    expect(model.findings.filter((f) => f.level === 'warning')).toEqual([]);
  });

  it.each([
    ['ipt-stale', 'insp-node-2', '198.18.130.4:8080'],
    ['nft-stale', 'inspn-node-2', '198.18.129.3:8080'],
  ] as const)('GIVEN %s (kube-proxy paused on node 2 during a scale-out) THEN node 2 is flagged: its rules lack the new endpoint', (state, node, missing) => {
    const model = inspectService(fixtureInput(state));
    expect(model.summary.readyEndpoints).toBe(4);
    expect(model.summary.nodesOutOfSync).toEqual([node]);
    const stale = model.proxy.nodes.find((n) => n.node === node);
    const cluster = stale?.ports[0]?.chains.find((c) => c.kind === 'cluster');
    expect(cluster).toMatchObject({ inSync: false, missing: [missing], unexpected: [] });
    expect(cluster?.endpoints).toHaveLength(3);
    expect(cluster?.expected).toHaveLength(4);
    // Its local chain is right: the new pod landed on node 1.
    expect(stale?.ports[0]?.chains.find((c) => c.kind === 'local')?.inSync).toBe(true);
    const warning = model.findings.find((f) => f.level === 'warning')?.message;
    expect(warning).toContain(node);
    expect(warning).toContain(missing);
    expect(warning).toContain('propagation not done');
  });

  it.each(['ipt-terminating', 'nft-terminating'] as const)('GIVEN %s THEN the serving-but-terminating endpoint is shown but not expected in the rules (there are ready ones), and the rules agree', (state) => {
    const model = inspectService(fixtureInput(state));
    expect(model.summary).toMatchObject({ endpoints: 4, readyEndpoints: 3, servingTerminatingEndpoints: 1, nodesOutOfSync: [] });
    const terminating = model.endpointSlices.flatMap((s) => s.endpoints).find((e) => e.terminating);
    expect(terminating).toMatchObject({ ready: false, serving: true, terminating: true });
    const pod = model.pods.find((p) => p.name === terminating?.pod);
    expect(pod?.deletionTimestamp).toMatch(/^2026-/);
    for (const node of model.proxy.nodes) {
      for (const chain of node.ports[0]?.chains ?? []) expect(chain.endpoints.map((e) => e.address)).not.toContain(terminating?.addresses[0]);
    }
    // The node with the terminating pod still has one ready local endpoint: its health check passes.
    expect(model.nodes.find((n) => n.name === pod?.node)?.healthCheck?.expected).toBe(200);
  });

  it.each([
    ['ipt-one', 'insp-node-2'],
    ['nft-one', 'inspn-node-1'],
  ] as const)('GIVEN %s (1 pod) THEN the node without a local endpoint should fail the health check, drops outside traffic, and is still in sync', (state, empty) => {
    const model = inspectService(fixtureInput(state));
    const node = model.nodes.find((n) => n.name === empty);
    expect(node).toMatchObject({ localReadyEndpoints: 0, healthCheck: { expected: 503 } });
    expect(model.summary.nodesOutOfSync).toEqual([]);
    const rules = model.proxy.nodes.find((n) => n.node === empty)?.ports[0];
    expect(rules?.blocked.map((b) => b.reason)).toEqual(['no local endpoints', 'no local endpoints']);
    expect(model.findings).toContainEqual({ level: 'note', message: expect.stringContaining(`${empty} has no ready local endpoint`) });
  });

  it('GIVEN internalTrafficPolicy Local with two ports THEN only local chains are used, per port, and the ClientIP affinity is noted', () => {
    const model = inspectService(fixtureInput('nft-steady', 'web-aff'));
    expect(model.service).toMatchObject({ type: 'ClusterIP', internalTrafficPolicy: 'Local', sessionAffinity: 'ClientIP', sessionAffinityTimeoutSeconds: 10800 });
    expect(model.nodes.every((n) => n.healthCheck === undefined)).toBe(true);
    for (const node of model.proxy.nodes) {
      expect(node.ports.map((p) => p.port)).toEqual(['http', 'alt']);
      for (const port of node.ports) expect(port.chains.map((c) => [c.kind, c.inSync])).toEqual([['local', true]]);
    }
    expect(model.findings.map((f) => f.message)).toContainEqual(expect.stringContaining('sessionAffinity ClientIP'));
  });

  it('GIVEN health check answers THEN they are kept per node, and one that contradicts the slices is a warning', () => {
    const input = fixtureInput('ipt-one');
    const model = inspectService({
      ...input,
      health: [{ node: 'insp-node-1', status: 200, localEndpoints: 1 }, { node: 'insp-node-2', status: 200, localEndpoints: 1 }],
      loadBalancerNodes: [{ node: 'insp-node-1', receives: true, detail: 'HTTP 200' }, { node: 'insp-node-2', receives: false, detail: 'HTTP 503' }],
    });
    expect(model.nodes.map((n) => [n.name, n.healthCheck?.expected, n.healthCheck?.observed?.status, n.healthCheck?.loadBalancerSends])).toEqual([
      ['insp-node-1', 200, 200, true],
      ['insp-node-2', 503, 200, false],
    ]);
    expect(model.findings).toContainEqual({ level: 'warning', message: expect.stringContaining('insp-node-2: healthCheckNodePort 31708 answered 200, expected 503') });
  });

  it('GIVEN a node whose health check does not answer (kube-proxy paused) THEN a warning says so', () => {
    const input = fixtureInput('ipt-steady');
    const model = inspectService({ ...input, health: [{ node: 'insp-node-1', status: 200, localEndpoints: 1 }, { node: 'insp-node-2', error: 'no answer within 1500ms' }] });
    expect(model.findings).toEqual([{ level: 'warning', message: expect.stringContaining('insp-node-2: healthCheckNodePort 31708 did not answer (no answer within 1500ms), expected 200') }]);
  });

  it('GIVEN every endpoint terminating (derived from a capture) THEN kube-proxy\'s fallback to serving-terminating endpoints is what the rules should hold', () => {
    const input = fixtureInput('ipt-steady');
    const slices = input.endpointSlices.map((s): V1EndpointSlice => ({
      ...s, endpoints: (s.endpoints ?? []).map((e) => ({ ...e, conditions: { ready: false, serving: true, terminating: true } })),
    }));
    const model = inspectService({ ...input, endpointSlices: slices });
    expect(model.summary).toMatchObject({ readyEndpoints: 0, servingTerminatingEndpoints: 3 });
    // The captured rules (taken before) hold the same 3 endpoints: in sync under the fallback.
    expect(model.summary.nodesOutOfSync).toEqual([]);
    expect(model.nodes.map((n) => n.healthCheck?.expected)).toEqual([503, 503]);
    expect(model.findings[0]).toEqual({ level: 'warning', message: expect.stringContaining('falls back to the 3 serving, terminating endpoint(s)') });
  });

  it('GIVEN zone hints on every endpoint (derived from a capture) THEN each node expects only the endpoints hinted for its zone', () => {
    const input = fixtureInput('ipt-steady');
    const slices = input.endpointSlices.map((s): V1EndpointSlice => ({
      ...s, endpoints: (s.endpoints ?? []).map((e) => ({ ...e, hints: { forZones: [{ name: e.zone as string }] } })),
    }));
    const model = inspectService({ ...input, endpointSlices: slices });
    const expected = model.proxy.nodes.map((n) => [n.node, n.ports[0]?.chains.find((c) => c.kind === 'cluster')?.expected]);
    expect(expected).toEqual([['insp-node-1', ['198.18.130.2:8080']], ['insp-node-2', ['198.18.128.4:8080', '198.18.128.5:8080']]]);
    // The captured rules (no hints then) send to all 3: both nodes are flagged.
    expect(model.summary.nodesOutOfSync).toEqual(['insp-node-1', 'insp-node-2']);
    expect(model.findings.map((f) => f.message)).toContainEqual(expect.stringContaining('topology hints'));
  });

  it('GIVEN a node whose rules could not be read THEN it is out of sync with the reason as a warning', () => {
    const input = fixtureInput('ipt-steady');
    const model = inspectService({ ...input, rules: [input.rules![0]!, { node: 'insp-node-2', mode: 'iptables', error: 'iptables-save exited 1' }] });
    expect(model.summary.nodesOutOfSync).toEqual(['insp-node-2']);
    expect(model.findings).toContainEqual({ level: 'warning', message: 'insp-node-2: rules not read: iptables-save exited 1' });
  });

  it('GIVEN no rules (an existing cluster) THEN the model has the path without per-node rules', () => {
    const { rules: _rules, ...input } = fixtureInput('nft-steady');
    const model = inspectService({ ...input, proxy: { mode: 'unknown', source: 'no kube-proxy ConfigMap in kube-system' } });
    expect(model.proxy).toEqual({ mode: 'unknown', source: 'no kube-proxy ConfigMap in kube-system', rulesRead: false, nodes: [] });
    expect(model.summary.nodesOutOfSync).toEqual([]);
  });

  it('GIVEN the model THEN it survives JSON unchanged (what --json prints)', () => {
    const model = inspectService(fixtureInput('ipt-terminating'));
    expect(JSON.parse(JSON.stringify(model))).toEqual(model);
  });
});

describe('proxy mode of an existing cluster from its kube-proxy ConfigMap', () => {
  const configMap = (data: Record<string, string>, name = 'kube-proxy') => ({ metadata: { name, namespace: 'kube-system' }, data });

  it('GIVEN a kubeadm-style ConfigMap with mode nftables THEN nftables, naming the ConfigMap', () => {
    const conf = 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nclusterCIDR: 10.244.0.0/16\nmode: nftables\n';
    expect(proxyModeFromConfigMaps([configMap({ 'config.conf': conf, 'kubeconfig.conf': 'apiVersion: v1\nkind: Config\n' })]))
      .toEqual({ mode: 'nftables', source: 'kube-system/kube-proxy ConfigMap (config.conf)' });
  });

  it('GIVEN an empty mode THEN iptables, kube-proxy\'s Linux default, with a note saying so', () => {
    expect(proxyModeFromConfigMaps([configMap({ 'config.conf': 'kind: KubeProxyConfiguration\nmode: ""\n' })])).toMatchObject({ mode: 'iptables', note: expect.stringContaining('leaves mode empty') });
  });

  it('GIVEN no ConfigMap, or one without a mode THEN unknown', () => {
    expect(proxyModeFromConfigMaps([]).mode).toBe('unknown');
    expect(proxyModeFromConfigMaps([configMap({ config: 'kind: Something\n' }, 'kube-proxy-config')])).toMatchObject({ mode: 'unknown', source: 'no mode in kube-system/kube-proxy-config' });
  });

  it('GIVEN a cluster\'s kube-system THEN Cilium\'s kube-proxy replacement wins over a leftover kube-proxy, else kube-proxy\'s ConfigMap (EKS\'s name too) says', async () => {
    const reader = (maps: Record<string, ReturnType<typeof configMap>>) => async (name: string) => maps[name];
    const ipvs = configMap({ 'config.conf': 'kind: KubeProxyConfiguration\nmode: ipvs\n' });
    expect(await clusterProxyMode(reader({ 'cilium-config': configMap({ 'kube-proxy-replacement': 'true' }, 'cilium-config'), 'kube-proxy': ipvs })))
      .toEqual({ mode: 'cilium', source: 'kube-system/cilium-config ConfigMap (kube-proxy-replacement)' });
    expect(await clusterProxyMode(reader({ 'cilium-config': configMap({ 'kube-proxy-replacement': 'false' }, 'cilium-config'), 'kube-proxy': ipvs }))).toMatchObject({ mode: 'ipvs' });
    expect(await clusterProxyMode(reader({ 'kube-proxy-config': configMap({ config: 'kind: KubeProxyConfiguration\nmode: nftables\n' }, 'kube-proxy-config') })))
      .toEqual({ mode: 'nftables', source: 'kube-system/kube-proxy-config ConfigMap (config)' });
    expect((await clusterProxyMode(reader({}))).mode).toBe('unknown');
  });
});

describe('inspect model on a Cilium lab: each node\'s BPF service maps against the slices (real captures, 3 nodes)', () => {
  const nodes = ['insp-node-1', 'insp-node-2', 'insp-node-3'];

  it('GIVEN cil-steady (4 pods: 1, 1, 2 per node) THEN every node is in sync: cluster frontends hold the 4, local frontends the node\'s own', () => {
    const model = inspectService(fixtureInput('cil-steady'));
    expect(model.proxy).toMatchObject({ mode: 'cilium', rulesRead: true });
    expect(model.summary).toEqual({ endpoints: 4, readyEndpoints: 4, servingTerminatingEndpoints: 0, nodesOutOfSync: [] });
    expect(model.proxy.nodes.map((n) => [n.node, n.mode, n.inSync, n.agentError])).toEqual(nodes.map((n) => [n, 'cilium', true, undefined]));
    const podIps = model.pods.map((p) => `${p.podIP}:8080`).sort();
    for (const node of model.proxy.nodes) {
      const [port] = node.ports;
      expect(port?.chains.map((c) => [c.kind, c.used, c.inSync])).toEqual([['cluster', true, true], ['local', true, true]]);
      const cluster = port?.chains.find((c) => c.kind === 'cluster');
      expect(cluster?.frontends?.map((f) => f.type)).toEqual(['ClusterIP', 'LoadBalancer', 'NodePort', 'NodePort']);
      expect(cluster?.endpoints.map((e) => `${e.address}:${e.port}`).sort()).toEqual(podIps);
      const local = port?.chains.find((c) => c.kind === 'local');
      expect(local?.endpoints.map((e) => e.pod).sort()).toEqual(model.pods.filter((p) => p.node === node.node).map((p) => p.name).sort());
      // Every backend is named by its pod and node, with the agent's state and weight.
      for (const e of [...(cluster?.endpoints ?? []), ...(local?.endpoints ?? [])]) {
        expect(model.pods.find((p) => p.name === e.pod)).toMatchObject({ podIP: e.address, node: e.node });
        expect(e).toMatchObject({ state: 'active', weight: 100 });
      }
    }
    expect(model.findings).toEqual([]);
  });

  it('GIVEN cil-stale (node 2\'s cilium-agent SIGSTOPped, then 4 → 5 pods) THEN node 2 is out of sync: its maps lack the new pod, and its agent did not answer', () => {
    const model = inspectService(fixtureInput('cil-stale'));
    expect(model.summary).toMatchObject({ readyEndpoints: 5, nodesOutOfSync: ['insp-node-2'] });
    const stale = model.proxy.nodes.find((n) => n.node === 'insp-node-2');
    expect(stale?.agentError).toBe('cilium-dbg service list in kth-insp-n2 gave no answer within 5s (is cilium-agent on insp-node-2 stuck?)');
    const cluster = stale?.ports[0]?.chains.find((c) => c.kind === 'cluster');
    expect(cluster).toMatchObject({ inSync: false, missing: ['198.18.128.56:8080'], unexpected: [] });
    expect(cluster?.endpoints).toHaveLength(4);
    // The new pod landed on node 3: node 2's local frontends are right.
    expect(stale?.ports[0]?.chains.find((c) => c.kind === 'local')?.inSync).toBe(true);
    const warnings = model.findings.filter((f) => f.level === 'warning').map((f) => f.message);
    expect(warnings).toEqual([
      expect.stringContaining('insp-node-2: cilium-dbg service list in kth-insp-n2 gave no answer within 5s'),
      expect.stringMatching(/^insp-node-2: the cluster frontends of port http \(198\.18\.18\.147:80\/TCP, .*\) lack 198\.18\.128\.56:8080 \(web-797bc786d5-ncdff\): send to 4, the EndpointSlices call for 5 — propagation not done \(or cilium-agent on this node is stuck\)$/),
    ]);
  });

  it('GIVEN cil-terminating THEN the serving-terminating pod is kept in the maps but picked for nothing, and every node agrees with the slices', () => {
    const model = inspectService(fixtureInput('cil-terminating'));
    expect(model.summary).toMatchObject({ endpoints: 5, readyEndpoints: 4, servingTerminatingEndpoints: 1, nodesOutOfSync: [] });
    for (const node of model.proxy.nodes) {
      const cluster = node.ports[0]?.chains.find((c) => c.kind === 'cluster');
      expect(cluster?.endpoints.find((e) => e.address === '198.18.128.54')).toMatchObject({ share: 0, state: 'terminating', pod: 'web-797bc786d5-x8h7t', node: 'insp-node-3' });
      expect(cluster?.expected).not.toContain('198.18.128.54:8080');
    }
    const n3Local = model.proxy.nodes.find((n) => n.node === 'insp-node-3')?.ports[0]?.chains.find((c) => c.kind === 'local');
    expect(n3Local?.endpoints.map((e) => [e.address, e.share, e.state])).toEqual([['198.18.128.78', 1, 'active'], ['198.18.128.54', 0, 'terminating']]);
  });

  it('GIVEN cil-one (1 pod on node 1) THEN nodes 2 and 3 should fail the health check and drop outside traffic, and are still in sync', () => {
    const model = inspectService(fixtureInput('cil-one'));
    expect(model.nodes.map((n) => [n.name, n.localReadyEndpoints, n.healthCheck?.expected])).toEqual([['insp-node-1', 1, 200], ['insp-node-2', 0, 503], ['insp-node-3', 0, 503]]);
    expect(model.summary.nodesOutOfSync).toEqual([]);
    expect(model.proxy.nodes.map((n) => n.ports[0]?.blocked.map((b) => `${b.destination} ${b.verdict}`))).toEqual([
      [],
      ['198.18.32.1:80/tcp drop', 'node port 32127/tcp drop'],
      ['198.18.32.1:80/tcp drop', 'node port 32127/tcp drop'],
    ]);
  });

  it('GIVEN cil-none (0 pods) THEN the warning says Cilium drops new connections, and the empty maps agree with the empty slices', () => {
    const model = inspectService(fixtureInput('cil-none'));
    expect(model.summary).toEqual({ endpoints: 0, readyEndpoints: 0, servingTerminatingEndpoints: 0, nodesOutOfSync: [] });
    expect(model.findings[0]).toEqual({ level: 'warning', message: expect.stringContaining('no ready endpoints: Cilium drops new connections to this Service') });
  });

  it('GIVEN internalTrafficPolicy Local with two ports THEN each port has only its cluster IP frontend, local, in sync', () => {
    const model = inspectService(fixtureInput('cil-steady', 'web-aff'));
    for (const node of model.proxy.nodes) {
      expect(node.ports.map((p) => [p.port, p.chains.map((c) => [c.kind, c.chain, c.inSync])])).toEqual([
        ['http', [['local', '198.18.21.119:8080/TCP', true]]],
        ['alt', [['local', '198.18.21.119:81/TCP', true]]],
      ]);
    }
  });

  it('GIVEN a NodePort with externalTrafficPolicy Cluster THEN one table per node: cluster IP, node port on 0.0.0.0 and on the node address', () => {
    const model = inspectService(fixtureInput('cil-steady', 'web-np'));
    expect(model.proxy.nodes.map((n) => n.ports[0]?.chains.map((c) => [c.kind, c.chain, c.endpoints.length, c.inSync]))).toEqual([1, 2, 3].map((i) => [
      ['cluster', `198.18.21.154:80/TCP, 0.0.0.0:32010/TCP, 198.18.0.1${i}:32010/TCP`, 4, true],
    ]));
  });

  it('GIVEN zone hints (derived from a capture) THEN Cilium, which ignores them in the lab, still expects every endpoint on every node, and the note says why', () => {
    const input = fixtureInput('cil-steady');
    const slices = input.endpointSlices.map((s): V1EndpointSlice => ({
      ...s, endpoints: (s.endpoints ?? []).map((e) => ({ ...e, hints: { forZones: [{ name: e.zone as string }] } })),
    }));
    const model = inspectService({ ...input, endpointSlices: slices });
    expect(model.summary.nodesOutOfSync).toEqual([]);
    expect(model.findings.map((f) => f.message)).toContainEqual(expect.stringContaining('Cilium ignores them unless started with --enable-service-topology'));
  });

  it('GIVEN the model THEN it survives JSON unchanged (what --json prints)', () => {
    const model = inspectService(fixtureInput('cil-terminating'));
    expect(JSON.parse(JSON.stringify(model))).toEqual(model);
  });
});
