import { parseServiceRef } from '../../../harness/inspect/gather.ts';
import { inspectService } from '../../../harness/inspect/model.ts';
import { renderInspection } from '../../../harness/inspect/render.ts';
import { fixtureInput } from './fixtures.ts';

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

describe('service reference', () => {
  it('GIVEN namespace/name THEN both parts', () => {
    expect(parseServiceRef('shop/web')).toEqual({ namespace: 'shop', name: 'web' });
  });
  it.each(['web', 'shop/', '/web', 'a/b/c', 'Shop/web'])('GIVEN %p THEN bad input (exit 2) with an example', (ref) => {
    expect(() => parseServiceRef(ref)).toThrow(expect.objectContaining({ kind: 'bad-input', exitCode: 2, hint: expect.stringContaining('kth inspect service default/web') }));
  });
});
