/**
 * node-failure — a node dies under load: its pods' requests fail until the control plane notices,
 * and its pods come back elsewhere only as fast as their tolerations allow.
 *
 * Failure mode: a node stops (power, kernel panic, a partitioned rack): its kubelet stops renewing
 * the node's Lease and its pods stop answering, but nothing removes them from the endpoints until
 * the node lifecycle controller gives up on the node (node-monitor-grace-period; 50 s by default,
 * 20 s in the lab) and marks its pods NotReady. Until then every proxy keeps sending new
 * connections to the dead pods. Then the pods stay bound to the node for their NoExecute
 * toleration (300 s by default) before they are evicted and the ReplicaSet replaces them: the
 * Service runs a pod short for five minutes.
 *
 * Mitigation (variant `short-toleration`): a 5 s not-ready/unreachable toleration gets the pods
 * replaced on the healthy nodes seconds after the node is declared lost. The error window itself
 * is the grace period's: no workload setting shortens it (a client retry policy would hide it).
 *
 * Non-mitigation (variant `pdb`): a PodDisruptionBudget that allows no disruption at all, with the
 * same short toleration. The node lifecycle controller's taint eviction deletes the pod directly,
 * not through the Eviction API, so a PDB neither holds the pod on the dead node nor shortens the
 * error window: it guards drains and other voluntary evictions only.
 *
 * Checks: requests fail in both; the endpoints lose the dead pod only after the grace period
 * (metrics.endpointsRemovedAfterFaultMs); with the short toleration a replacement serves before
 * the run ends, PDB or not. The grace period and tolerations are not scaled by --time-scale.
 */
import { defineScenario } from '../harness/engine/scenario.ts';

export default defineScenario({
  name: 'node-failure',
  description: 'A node goes down under load: requests to its pod fail until the node is declared lost; a short NoExecute toleration gets the pod replaced at once.',
  workload: { server: 'http', replicas: 3 },
  load: [{ name: 'client', protocol: 'http', model: 'short-lived', connections: 8, executor: 'constant-arrival-rate', rate: 40, duration: '60s' }],
  chaos: [{ at: '8s', action: 'node-down', node: 3, duration: '45s' }],
  variants: [
    { name: 'default-toleration', description: 'baseline: pods tolerate an unreachable node for 300 s' },
    { name: 'short-toleration', description: 'pods tolerate a NotReady/unreachable node for 5 s', workload: { notReadyToleration: '5s' } },
    { name: 'pdb', description: 'the short toleration plus a PDB allowing no disruption: the dead node\'s pod is evicted anyway', workload: { notReadyToleration: '5s', pdb: { minAvailable: 3 } } },
  ],
  checks: [
    { name: 'requests to the dead node fail', expect: 'errors.total > 0' },
    { name: 'endpoints follow only after the grace period', expect: 'metrics.endpointsRemovedAfterFaultMs >= 10000' },
    { name: 'a replacement pod serves before the run ends', expect: 'metrics.newPodsReady >= 1', variants: ['short-toleration', 'pdb'] },
    { name: 'no replacement within the default toleration', expect: 'metrics.newPodsReady == 0', variants: ['default-toleration'] },
  ],
});
