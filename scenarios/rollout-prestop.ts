/**
 * rollout-prestop — a rolling restart drops requests unless pods wait for the proxies to catch up.
 *
 * Failure mode: `kubectl rollout restart` under load. The kubelet sends SIGTERM the moment a pod is
 * deleted, while removing it from the EndpointSlice and then from every node's proxy rules takes a
 * while longer. A server that stops accepting on SIGTERM refuses (or resets) the connections the
 * proxies still send it.
 *
 * Mitigation (variant `prestop-sleep`): a 5s preStop sleep keeps the old pod serving until the
 * proxies have dropped it; only then does SIGTERM start the graceful shutdown.
 *
 * Checks: the baseline shows the damage (errors.total > 0); with the preStop sleep the same rollout
 * costs no request at all (errors.total == 0). preStopSleep and the grace period are not scaled
 * by --time-scale: they race endpoint propagation, which does not get faster.
 */
import { defineScenario } from '../harness/engine/scenario.ts';

export default defineScenario({
  name: 'rollout-prestop',
  description: 'A rollout restart under load fails requests while proxies still route to terminating pods; a preStop sleep makes it lossless.',
  workload: { server: 'http', replicas: 3, terminationGracePeriod: '30s' },
  load: [{ name: 'client', protocol: 'http', model: 'short-lived', connections: 8, executor: 'constant-arrival-rate', rate: 100, duration: '60s' }],
  chaos: [{ at: '10s', action: 'rollout-restart' }],
  variants: [
    { name: 'no-prestop', description: 'baseline: SIGTERM as soon as the pod is deleted' },
    { name: 'prestop-sleep', description: 'preStop sleeps 5s before SIGTERM', workload: { preStopSleep: '5s' } },
  ],
  checks: [
    { name: 'rollout fails requests', expect: 'errors.total > 0', variants: ['no-prestop'] },
    { name: 'rollout is lossless', expect: 'errors.total == 0', variants: ['prestop-sleep'] },
  ],
});
