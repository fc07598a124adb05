/**
 * ingress-spread — two Ingress controller replicas on one node: all external traffic crosses it.
 *
 * Failure mode: external clients reach the pods through an Ingress controller behind a
 * LoadBalancer Service. The controller runs two replicas "for availability", but nothing keeps
 * them apart, and both landed on node 1 (reproduced here by a node affinity). The load balancer
 * spreads connections over all three nodes; kube-proxy on each forwards them to a controller pod,
 * and both are on node 1: every request crosses that node's uplink and its one kernel, and node 1
 * going down takes the whole entry point with it, whatever the replica count says.
 *
 * Mitigation (variant `spread`): a topology spread constraint over hostnames (maxSkew 1,
 * DoNotSchedule) puts the replicas on different nodes, and a PodDisruptionBudget keeps one up
 * through drains. Each node's replica then carries its share.
 *
 * Node 1 down (variants `co-located-node-down`, `spread-node-down`): the same two placements
 * while node 1 stops for a minute under load. Co-located, the entry point goes down with it: every
 * connection the load balancer sends anywhere is forwarded to a replica on node 1, and no request
 * is answered until the node is back. Spread (one replica on node 1, one on node 2), the replica
 * on node 2 keeps answering what reaches it: connections the load balancer sends to node 1, and
 * those the proxies send to its replica or the controller sends to its backend pod, still fail
 * until the node lifecycle controller takes them out of the endpoints (lab: 20 s), so the entry
 * point degrades instead of disappearing. The load uses more connections there: requests into the
 * dead node hold theirs for the client's timeout.
 *
 * Checks: each request is credited to the replica that carried it (the backend pod saw the
 * replica's pod IP as its source). Co-located, one node's replicas carry every request
 * (metrics.ingressTopNodeShare == 1); spread, no node's carry more than 75 % (two replicas picked
 * at random per connection: ~50 %). Neither loses a request, and the backend pods share evenly
 * either way: the controller balances per request behind whichever replica. With node 1 down,
 * metrics.servedDuringFaults (the share of requests answered while the node was down) is 0
 * co-located and well above it spread.
 */
import { defineScenario } from '../harness/engine/scenario.ts';
import type { ChaosSpec, LoadSpec } from '../harness/engine/types.ts';

const nodeDown: ChaosSpec[] = [{ at: '8s', action: 'node-down', node: 1, duration: '60s' }];
const nodeDownLoad: Record<string, Partial<LoadSpec>> = { outside: { connections: 64, duration: '80s' } };

export default defineScenario({
  name: 'ingress-spread',
  description: 'Two Ingress controller replicas on one node carry every external request through it, and the entry point dies with that node; spread over nodes (topology spread + PDB), each node carries its share and one survives a node going down.',
  workload: { server: 'http', replicas: 3, ingress: { replicas: 2, nodes: [1], serviceType: 'LoadBalancer' } },
  load: [{ name: 'outside', protocol: 'http', model: 'short-lived', connections: 8, executor: 'constant-arrival-rate', rate: 60, duration: '30s', from: 'external', via: 'ingress' }],
  variants: [
    { name: 'co-located', description: 'baseline: both controller replicas on node 1' },
    { name: 'spread', description: 'replicas spread over nodes (topologySpreadConstraints on hostname) with a PDB', workload: { ingress: { replicas: 2, spread: 'hostname', pdb: { minAvailable: 1 }, serviceType: 'LoadBalancer' } } },
    { name: 'co-located-node-down', description: 'both replicas on node 1, and node 1 goes down for a minute', load: nodeDownLoad, chaos: nodeDown },
    { name: 'spread-node-down', description: 'one replica on node 1 and one on node 2 (topology spread, PDB), and node 1 goes down for a minute', workload: { ingress: { replicas: 2, spread: 'hostname', nodes: [1, 2], pdb: { minAvailable: 1 }, serviceType: 'LoadBalancer' } }, load: nodeDownLoad, chaos: nodeDown },
  ],
  checks: [
    { name: 'one node carries everything', expect: 'metrics.ingressTopNodeShare == 1', variants: ['co-located', 'co-located-node-down'] },
    { name: 'each node carries its share', expect: 'metrics.ingressTopNodeShare <= 0.75', variants: ['spread'] },
    { name: 'pods share evenly behind the controller', expect: 'metrics.chiSquareP >= 0.001', variants: ['co-located', 'spread'] },
    { name: 'no errors', expect: 'errors.total == 0', variants: ['co-located', 'spread'] },
    { name: 'the entry point goes down with node 1', expect: 'metrics.servedDuringFaults == 0', variants: ['co-located-node-down'] },
    { name: 'the replica on node 2 keeps answering', expect: 'metrics.servedDuringFaults >= 0.05', variants: ['spread-node-down'] },
  ],
});
