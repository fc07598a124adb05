import type { V1Node, V1Service } from '@kubernetes/client-node';
import { allocationOrder, candidateNodes, lbNodeOf, lbServiceOf } from '../../../../harness/lab/load-balancer/model.ts';

const service = (spec: V1Service['spec'], extra: Partial<V1Service> = {}): V1Service => ({
  metadata: { name: 'web', namespace: 'shop', uid: 'u1', creationTimestamp: new Date('2025-01-01T00:00:00Z') },
  spec,
  ...extra,
});

const node = (name: string, ip: string | undefined, ready: boolean, labels: Record<string, string> = {}): V1Node => ({
  metadata: { name, labels },
  status: {
    addresses: ip ? [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: name }] : [],
    conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
  },
});

describe('lbServiceOf', () => {
  it('GIVEN a LoadBalancer Service with TCP and UDP ports THEN both are balanced to their node ports', () => {
    const lb = lbServiceOf(service({
      type: 'LoadBalancer',
      ports: [{ name: 'http', port: 80, nodePort: 31000, protocol: 'TCP' }, { name: 'dns', port: 53, nodePort: 31001, protocol: 'UDP' }],
    }));
    expect(lb).toMatchObject({
      key: 'shop/web',
      trafficPolicy: 'Cluster',
      ports: [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 31000 }, { name: 'dns', protocol: 'UDP', port: 53, nodePort: 31001 }],
      skippedPorts: [],
      statusIps: [],
      createdAt: '2025-01-01T00:00:00.000Z',
    });
    expect(lb).not.toHaveProperty('healthCheckNodePort');
  });

  it('GIVEN externalTrafficPolicy Local THEN the healthCheckNodePort comes along', () => {
    const lb = lbServiceOf(service({ type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 32000, ports: [{ port: 80, nodePort: 31000 }] }));
    expect(lb).toMatchObject({ trafficPolicy: 'Local', healthCheckNodePort: 32000, ports: [{ protocol: 'TCP', port: 80, nodePort: 31000, name: '' }] });
  });

  it('GIVEN Services that are not ours (other type, other loadBalancerClass) THEN they are left alone', () => {
    expect(lbServiceOf(service({ type: 'NodePort', ports: [{ port: 80, nodePort: 31000 }] }))).toBeUndefined();
    expect(lbServiceOf(service({ type: 'LoadBalancer', loadBalancerClass: 'example.com/other', ports: [{ port: 80, nodePort: 31000 }] }))).toBeUndefined();
  });

  it('GIVEN SCTP or a port without a node port THEN it is skipped with the reason', () => {
    const lb = lbServiceOf(service({ type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, ports: [{ port: 80 }, { port: 9, protocol: 'SCTP', nodePort: 31002 }] }));
    expect(lb?.ports).toEqual([]);
    expect(lb?.skippedPorts).toEqual([
      { port: 80, protocol: 'TCP', reason: expect.stringMatching(/allocateLoadBalancerNodePorts/) },
      { port: 9, protocol: 'SCTP', reason: expect.stringMatching(/SCTP/) },
    ]);
  });

  it('GIVEN spec.loadBalancerIP and an existing status THEN both are read', () => {
    const lb = lbServiceOf(service({ type: 'LoadBalancer', loadBalancerIP: '198.18.32.50', ports: [] }, { status: { loadBalancer: { ingress: [{ ip: '198.18.32.50' }] } } }));
    expect(lb).toMatchObject({ requestedIp: '198.18.32.50', statusIps: ['198.18.32.50'] });
  });
});

describe('nodes', () => {
  it('GIVEN nodes WHEN choosing candidates THEN only Ready, not excluded nodes with an InternalIP count, in name order', () => {
    const nodes = [
      node('lab-node-10', '198.18.0.20', true),
      node('lab-node-2', '198.18.0.12', true),
      node('lab-node-1', '198.18.0.11', false),
      node('lab-node-3', '198.18.0.13', true, { 'node.kubernetes.io/exclude-from-external-load-balancers': '' }),
      node('lab-node-4', undefined, true),
    ].map(lbNodeOf);
    expect(nodes[4]).toBeUndefined();
    const known = nodes.filter((n) => n !== undefined);
    expect(candidateNodes(known).map((n) => n.name)).toEqual(['lab-node-2', 'lab-node-10']);
    expect(known.find((n) => n.name === 'lab-node-3')).toMatchObject({ excluded: true, ready: true });
  });

  it('orders allocation oldest first, so the oldest Service wins a requested address', () => {
    const a = lbServiceOf(service({ type: 'LoadBalancer', ports: [] }))!;
    const b = { ...a, key: 'shop/older', createdAt: '2024-01-01T00:00:00.000Z' };
    expect(allocationOrder([a, b]).map((s) => s.key)).toEqual(['shop/older', 'shop/web']);
  });
});
