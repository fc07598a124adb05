/**
 * external-traffic-policy — Cluster hides the client's address; Local keeps it.
 *
 * Failure mode: clients outside the cluster reach a `type: LoadBalancer` Service. With
 * externalTrafficPolicy Cluster (the default, the baseline) a node may forward to a pod on another
 * node, and kube-proxy masquerades (SNATs) that traffic: the pods see a node's address, not the
 * client's, so per-client logic (allow-lists, rate limits, logs) breaks.
 *
 * Mitigation (variant `local`): externalTrafficPolicy Local only delivers to pods on the node that
 * received the traffic, without SNAT; the load balancer probes each node's healthCheckNodePort and
 * skips nodes without a ready pod. The price: shares follow nodes, not pods, so pods unevenly spread
 * over nodes get uneven traffic (the report's per-pod shares show it).
 *
 * Checks: under Cluster most requests arrive masqueraded (sourceIpPreservedRatio < 0.5); under
 * Local every one keeps the client's address (== 1); neither loses a request.
 */
import { defineScenario } from '../harness/engine/scenario.ts';

export default defineScenario({
  name: 'external-traffic-policy',
  description: 'External clients through a LoadBalancer: Cluster SNATs their source address away, Local preserves it (at the cost of per-node shares).',
  workload: { server: 'http', replicas: 3, serviceType: 'LoadBalancer', externalTrafficPolicy: 'Cluster' },
  load: [{ name: 'outside', protocol: 'http', model: 'short-lived', connections: 8, executor: 'constant-arrival-rate', rate: 100, duration: '60s', from: 'external' }],
  variants: [
    { name: 'cluster', description: 'baseline: externalTrafficPolicy Cluster' },
    { name: 'local', description: 'externalTrafficPolicy Local', workload: { externalTrafficPolicy: 'Local' } },
  ],
  checks: [
    { name: 'Cluster masquerades clients', expect: 'metrics.sourceIpPreservedRatio < 0.5', variants: ['cluster'] },
    { name: 'Local preserves client IPs', expect: 'metrics.sourceIpPreservedRatio == 1', variants: ['local'] },
    { name: 'no errors', expect: 'errors.total == 0' },
  ],
});
