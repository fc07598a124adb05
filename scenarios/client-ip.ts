/**
 * client-ip — behind an Ingress controller the pods never see the client at L4; X-Forwarded-For
 * carries it only if the controller itself saw it.
 *
 * Failure mode: external clients reach the pods through an Ingress controller (Traefik, two
 * replicas on different nodes) behind a LoadBalancer Service with externalTrafficPolicy Cluster,
 * the default. The pods' L4 source is always the controller's pod IP (it opens its own connections
 * to them), so allow-lists and logs must read X-Forwarded-For. But the controller sets that header
 * from the source *it* saw, and under Cluster kube-proxy masquerades external traffic on the node
 * that received it: X-Forwarded-For names a node, not the client. (The header rescues the client
 * address only from the proxy hop, not from the SNAT before it.)
 *
 * Mitigation (variant `local`): externalTrafficPolicy Local on the controller's Service delivers
 * external traffic only to controller pods on the receiving node, without SNAT, and the load
 * balancer skips the node without one (its healthCheckNodePort says so). The controller sees the
 * client and X-Forwarded-For carries it to every pod.
 *
 * Checks: in both variants no pod sees the client's address at L4 (metrics.sourceIpPreservedRatio
 * == 0: the controller connects to the pods); under Cluster fewer than half the responses name
 * the client first in X-Forwarded-For (metrics.forwardedForPreservedRatio; every one names a node
 * here), under Local all do; neither loses a request. The sample servers echo X-Forwarded-For in
 * x-kth-forwarded-for so the client can compare it with its own address.
 */
import { defineScenario } from '../harness/engine/scenario.ts';

export default defineScenario({
  name: 'client-ip',
  description: 'Through an Ingress the pods see the controller at L4; X-Forwarded-For names the client only under externalTrafficPolicy Local on the controller\'s Service (Cluster SNATs it to a node first).',
  workload: { server: 'http', replicas: 3, ingress: { replicas: 2, spread: 'hostname', serviceType: 'LoadBalancer', externalTrafficPolicy: 'Cluster' } },
  load: [{ name: 'outside', protocol: 'http', model: 'short-lived', connections: 8, executor: 'constant-arrival-rate', rate: 60, duration: '30s', from: 'external', via: 'ingress' }],
  variants: [
    { name: 'cluster', description: 'baseline: the controller\'s Service with externalTrafficPolicy Cluster' },
    { name: 'local', description: 'the controller\'s Service with externalTrafficPolicy Local', workload: { ingress: { replicas: 2, spread: 'hostname', serviceType: 'LoadBalancer', externalTrafficPolicy: 'Local' } } },
  ],
  checks: [
    { name: 'pods see the controller, not the client, at L4', expect: 'metrics.sourceIpPreservedRatio == 0' },
    { name: 'Cluster: X-Forwarded-For names a node', expect: 'metrics.forwardedForPreservedRatio < 0.5', variants: ['cluster'] },
    { name: 'Local: X-Forwarded-For names the client', expect: 'metrics.forwardedForPreservedRatio == 1', variants: ['local'] },
    { name: 'no errors', expect: 'errors.total == 0' },
  ],
});
