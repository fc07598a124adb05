import { parseServiceRef } from '../../../harness/inspect/gather.ts';
import { inspectService } from '../../../harness/inspect/model.ts';
import { renderInspection } from '../../../harness/inspect/render.ts';
import { fixtureInput, fixtureText } from './fixtures.ts';

describe('inspect rendering', () => {
  it('GIVEN a synced iptables lab THEN the plain tree runs from the outside in: LB, NodePorts, ClusterIP, proxy mode with per-node rules, slices, pods', () => {
    const model = inspectService(fixtureInput('ipt-steady'));
    const text = renderInspection(model, { fancy: false });
    const order = ['LoadBalancer 198.18.32.1', 'NodePort 30680/TCP', 'ClusterIP 198.18.29.40', 'proxy mode iptables', 'EndpointSlices:', 'Pods:'].map((s) => text.indexOf(s));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(text).toContain('healthCheckNodePort 31708');
    expect(text).toContain('insp-node-1 (netns kth-insp-n1): in sync with the EndpointSlices');
    expect(text).toMatch(/198\.18\.128\.4:8080 {2}p=0\.3333 {2}33\.3% of new connections {2}web-6bf44bf564-md9j4 on insp-node-2/);
    for (const pod of model.pods) expect(text).toContain(pod.name);
    // Off a terminal: ASCII only, no colour.
    expect([...text].every((c) => c.charCodeAt(0) < 128)).toBe(true);
  });

  it('GIVEN a stale node THEN the tree says OUT OF SYNC and what is missing, and the findings explain it', () => {
    const text = renderInspection(inspectService(fixtureInput('nft-stale')), { fancy: false });
    expect(text).toContain('inspn-node-2 (netns kth-inspn-n2): OUT OF SYNC with the EndpointSlices (propagation not done)');
    expect(text).toMatch(/cluster service-KHN6ECMT-shop\/web\/tcp\/http: 3 endpoints - expected 4, missing 198\.18\.129\.3:8080/);
    expect(text).toMatch(/findings:\n {2}! inspn-node-2: the cluster chain of port http/);
  });

  it('GIVEN a terminal THEN box-drawing branches and colour', () => {
    const text = renderInspection(inspectService(fixtureInput('nft-terminating')), { fancy: true });
    expect(text).toContain('├─ ');
    expect(text).toContain('\u001b[33mserving, terminating\u001b[0m');
  });

  it('GIVEN a ClusterIP Service THEN there is no load balancer or node port part', () => {
    const text = renderInspection(inspectService(fixtureInput('ipt-steady', 'web-aff')), { fancy: false });
    expect(text).not.toContain('LoadBalancer');
    expect(text).not.toContain('NodePort');
    expect(text).toContain(':81/TCP (alt) -> targetPort 8080');
  });
});

describe('inspect rendering on a Cilium lab (real captures)', () => {
  it('GIVEN a synced Cilium lab THEN each node lists its frontends by type, as cilium-dbg names them, and each backend with state, weight, share and pod', () => {
    const text = renderInspection(inspectService(fixtureInput('cil-steady')), { fancy: false });
    expect(text).toContain('proxy mode cilium (from lab insp)');
    expect(text).toContain('insp-node-3 (netns kth-insp-n3): in sync with the EndpointSlices');
    expect(text).toContain('cluster frontends ClusterIP 198.18.18.147:80/TCP, LoadBalancer 198.18.32.1:80/TCP/i, NodePort 0.0.0.0:32127/TCP/i, 198.18.0.13:32127/TCP/i: 4 backends');
    expect(text).toContain('local frontends LoadBalancer 198.18.32.1:80/TCP, NodePort 0.0.0.0:32127/TCP, 198.18.0.13:32127/TCP: 2 backends');
    expect(text).toMatch(/198\.18\.128\.54:8080 {2}active {2}weight 100 {2}50\.0% of new connections {2}web-797bc786d5-x8h7t on insp-node-3/);
    expect([...text].every((c) => c.charCodeAt(0) < 128)).toBe(true);
  });

  it('GIVEN a terminating pod THEN its backend is shown as kept but not picked', () => {
    const text = renderInspection(inspectService(fixtureInput('cil-terminating')), { fancy: false });
    expect(text).toContain('NodePort 0.0.0.0:32127/TCP, 198.18.0.13:32127/TCP: 1 backend (+1 in the map, not picked for new connections)');
    expect(text).toMatch(/198\.18\.128\.54:8080 {2}terminating {2}weight 100 {2}no new connections {2}web-797bc786d5-x8h7t on insp-node-3/);
  });

  it('GIVEN a paused agent THEN its node is OUT OF SYNC, says the agent did not answer, and what its maps lack', () => {
    const text = renderInspection(inspectService(fixtureInput('cil-stale')), { fancy: false });
    expect(text).toContain('insp-node-2 (netns kth-insp-n2): OUT OF SYNC with the EndpointSlices (propagation not done)');
    expect(text).toContain('cilium-agent: cilium-dbg service list in kth-insp-n2 gave no answer within 5s (is cilium-agent on insp-node-2 stuck?); BPF maps read directly');
    expect(text).toMatch(/: 4 backends - expected 5, missing 198\.18\.128\.56:8080/);
    // Without the agent, the maps give no state: the line has the share and the pod only.
    expect(text).toMatch(/\|- 198\.18\.128\.78:8080 {2}25\.0% of new connections {2}web-797bc786d5-r5swq on insp-node-3/);
  });

  it('GIVEN an agent whose table is ahead of its maps (derived: node 2\'s stale maps with node 1\'s table of the same moment) THEN the port says agent != maps and a warning explains it', () => {
    const input = fixtureInput('cil-stale');
    const rules = input.rules?.map((r) => (r.node === 'insp-node-2' ? { ...r, agentError: undefined, ciliumServices: fixtureText('cil-stale', 'cilium-service-n1.json') } : r));
    const model = inspectService({ ...input, ...(rules ? { rules } : {}) });
    const text = renderInspection(model, { fancy: false });
    expect(text).toContain('agent != maps: 198.18.18.147:80/TCP: the BPF maps lack 198.18.128.56:8080 (the agent\'s table: 5 backends)');
    expect(model.findings).toContainEqual({ level: 'warning', message: 'insp-node-2: port http: 198.18.18.147:80/TCP: the BPF maps lack 198.18.128.56:8080 (the agent\'s table: 5 backends) — cilium-agent has not written its table to the datapath yet' });
  });
});

describe('service reference', () => {
  it('GIVEN namespace/name THEN both parts', () => {
    expect(parseServiceRef('shop/web')).toEqual({ namespace: 'shop', name: 'web' });
  });
  it.each(['web', 'shop/', '/web', 'a/b/c', 'Shop/web'])('GIVEN %p THEN bad input (exit 2) with an example', (ref) => {
    expect(() => parseServiceRef(ref)).toThrow(expect.objectContaining({ kind: 'bad-input', exitCode: 2, hint: expect.stringContaining('kth inspect service default/web') }));
  });
});
