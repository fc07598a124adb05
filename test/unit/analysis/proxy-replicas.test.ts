import { creditProxyReplicas } from '../../../harness/analysis/proxy-replicas.ts';

const replicas = [
  { pod: 'ingress-a', node: 'node-1', podIp: '10.2.0.5' },
  { pod: 'ingress-b', node: 'node-1', podIp: '10.2.0.6' },
  { pod: 'ingress-c', node: 'node-2', podIp: '10.2.1.5' },
];

describe('creditProxyReplicas: which Ingress controller replica carried the requests', () => {
  it('GIVEN samples keyed by the source address the pods saw THEN each replica gets its requests, and the top node share counts replicas sharing a node together', () => {
    const credit = creditProxyReplicas(replicas, [
      { peer: '10.2.0.5', requests: 30 },
      { peer: '10.2.0.6', requests: 30 },
      { peer: '10.2.1.5', requests: 40 },
      { peer: '10.2.0.5', requests: 0 },
    ]);
    expect(credit.replicas.map((replica) => [replica.pod, replica.requests])).toEqual([['ingress-a', 30], ['ingress-b', 30], ['ingress-c', 40]]);
    expect(credit.topNodeShare).toBeCloseTo(0.6);
    expect(credit.unknownPeer).toBe(0);
  });

  it('GIVEN a source address that is no replica\'s, or none recorded THEN it is counted apart, never credited to a replica', () => {
    const credit = creditProxyReplicas(replicas, [{ peer: '10.9.9.9', requests: 5 }, { requests: 2 }, { peer: '10.2.1.5', requests: 1 }]);
    expect(credit.unknownPeer).toBe(7);
    expect(credit.topNodeShare).toBe(1);
  });

  it('GIVEN no request through the proxy THEN no share is claimed', () => {
    expect(creditProxyReplicas(replicas, []).topNodeShare).toBeNull();
  });
});
