import type { V1EndpointSlice } from '@kubernetes/client-node';
import { inspectService } from '../../../harness/inspect/model.ts';
import { proxyModeFromConfigMaps } from '../../../harness/inspect/proxy-mode.ts';
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
});
