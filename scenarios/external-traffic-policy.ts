/**
 * external-traffic-policy — Cluster hides the client's address and hops nodes; Local keeps it, at
 * the price of shares that follow nodes, not pods.
 *
 * Failure mode: clients outside the cluster reach a `type: LoadBalancer` Service whose 3 pods run
 * on 2 of the 3 nodes, unevenly (2 + 1), as pods of a real Deployment often do. The load balancer
 * spreads new connections over nodes at random (a cloud NLB hashes each flow, which looks random;
 * the lab's picks with nftables `numgen random`). With externalTrafficPolicy Cluster (the
 * baseline) the receiving node forwards to any pod: most requests cross to another node, and
 * kube-proxy masquerades them, so pods see a node's address, not the client's (allow-lists, rate
 * limits and logs break).
 *
 * Mitigation (variant `local`): externalTrafficPolicy Local delivers only to pods on the node that
 * received the traffic, without SNAT; the load balancer probes each node's healthCheckNodePort and
 * skips the node without a ready pod. The price the seed warns about: each node with pods gets half
 * the traffic, so the pod alone on its node takes 50% and the two sharing a node 25% each.
 *
 * Checks: under Cluster every request is masqueraded, more than a third cross nodes
 * (metrics.crossNodeRatio; random entry over 3 nodes makes it ~2/3), and pods share evenly; under
 * Local every request keeps the client's address, none crosses a node, the pods' shares are 25/25/50
 * (max/min ≈ 2), and the empty node's exclusion loses nothing; neither loses a request.
 */
import { defineScenario } from '../harness/engine/scenario.ts';

export default defineScenario({
  name: 'external-traffic-policy',
  description: 'External clients through a LoadBalancer to 3 pods on 2 of 3 nodes: Cluster SNATs their address away and hops nodes; Local preserves it, and shares follow nodes (25/25/50).',
  workload: { server: 'http', replicas: 3, nodes: [1, 2], serviceType: 'LoadBalancer', externalTrafficPolicy: 'Cluster' },
  load: [{ name: 'outside', protocol: 'http', model: 'short-lived', connections: 8, executor: 'constant-arrival-rate', rate: 100, duration: '60s', from: 'external' }],
  variants: [
    { name: 'cluster', description: 'baseline: externalTrafficPolicy Cluster' },
    { name: 'local', description: 'externalTrafficPolicy Local', workload: { externalTrafficPolicy: 'Local' } },
  ],
  checks: [
    { name: 'Cluster masquerades clients', expect: 'metrics.sourceIpPreservedRatio < 0.5', variants: ['cluster'] },
    { name: 'Cluster hops nodes', expect: 'metrics.crossNodeRatio > 0.33', variants: ['cluster'] },
    { name: 'Cluster spreads over pods', expect: 'metrics.chiSquareP >= 0.001', variants: ['cluster'] },
    { name: 'Local preserves client IPs', expect: 'metrics.sourceIpPreservedRatio == 1', variants: ['local'] },
    { name: 'Local never hops', expect: 'metrics.crossNodeRatio == 0', variants: ['local'] },
    { name: 'Local shares follow nodes (25/25/50)', expect: 'metrics.maxMinRatio > 1.5', variants: ['local'] },
    { name: 'no errors', expect: 'errors.total == 0' },
  ],
});
