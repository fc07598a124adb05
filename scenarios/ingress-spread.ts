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
 * Checks: each request is credited to the replica that carried it (the backend pod saw the
 * replica's pod IP as its source). Co-located, one node's replicas carry every request
 * (metrics.ingressTopNodeShare == 1); spread, no node's carry more than 75 % (two replicas picked
 * at random per connection: ~50 %). Neither loses a request, and the backend pods share evenly
 * either way: the controller balances per request behind whichever replica.
 */
import { defineScenario } from '../harness/engine/scenario.ts';

export default defineScenario({
  name: 'ingress-spread',
  description: 'Two Ingress controller replicas on one node carry every external request through it; spread over nodes (topology spread + PDB), each node carries its share.',
  workload: { server: 'http', replicas: 3, ingress: { replicas: 2, nodes: [1], serviceType: 'LoadBalancer' } },
  load: [{ name: 'outside', protocol: 'http', model: 'short-lived', connections: 8, executor: 'constant-arrival-rate', rate: 60, duration: '30s', from: 'external', via: 'ingress' }],
  variants: [
    { name: 'co-located', description: 'baseline: both controller replicas on node 1' },
    { name: 'spread', description: 'replicas spread over nodes (topologySpreadConstraints on hostname) with a PDB', workload: { ingress: { replicas: 2, spread: 'hostname', pdb: { minAvailable: 1 }, serviceType: 'LoadBalancer' } } },
  ],
  checks: [
    { name: 'one node carries everything', expect: 'metrics.ingressTopNodeShare == 1', variants: ['co-located'] },
    { name: 'each node carries its share', expect: 'metrics.ingressTopNodeShare <= 0.75', variants: ['spread'] },
    { name: 'pods share evenly behind the controller', expect: 'metrics.chiSquareP >= 0.001' },
    { name: 'no errors', expect: 'errors.total == 0' },
  ],
});
