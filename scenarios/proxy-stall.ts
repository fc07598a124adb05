/**
 * proxy-stall — kube-proxy stops following the endpoints during a rollout, and its node keeps
 * sending new connections to pods that are terminating, then gone.
 *
 * Failure mode: kube-proxy on the nodes hangs (starved of CPU, stuck on a lock, a slow API watch)
 * for 20 s while a rollout replaces the pods. The EndpointSlices change at once; the rules each
 * node's kube-proxy wrote do not. New connections still DNAT to the old pods: fine while they
 * drain, failed once they exit (a pod IP that no longer exists answers nothing).
 *
 * Mitigation (variant `prestop-outlasts-stall`): a preStop sleep longer than the stall keeps old
 * pods serving until the rules have caught up; the stall then costs no request. It is the same
 * lever as rollout-prestop, sized for the proxy's worst delay rather than its usual one.
 *
 * Checks: in both, new pods get no traffic until the proxies resume (metrics.propagationLagMs);
 * the baseline loses requests (timeouts and unreachable: the old pod IPs are gone); with the
 * mitigation none, and the removed pods answer for most of the stall (trafficAfterRemovalMs).
 * preStopSleep is not scaled by --time-scale (it races the proxy), the stall is.
 */
import { defineScenario } from '../harness/engine/scenario.ts';

export default defineScenario({
  name: 'proxy-stall',
  description: 'kube-proxy paused during a rollout keeps routing new connections to terminating and deleted pods; a preStop sleep longer than the stall makes the rollout lossless.',
  workload: { server: 'http', replicas: 3, terminationGracePeriod: '60s', maxSurge: 3, maxUnavailable: 0 },
  load: [{ name: 'client', protocol: 'http', model: 'short-lived', connections: 8, executor: 'constant-arrival-rate', rate: 50, duration: '50s' }],
  chaos: [
    { at: '8s', action: 'kube-proxy-pause', node: 'all', duration: '24s' },
    { at: '10s', action: 'rollout-restart' },
  ],
  variants: [
    { name: 'no-prestop', description: 'baseline: old pods exit as soon as they are deleted' },
    { name: 'prestop-outlasts-stall', description: 'preStop sleeps 30s, longer than the stall', workload: { preStopSleep: '30s' } },
  ],
  checks: [
    { name: 'new pods get no traffic while the proxies stall', expect: 'metrics.propagationLagMs > 3000' },
    { name: 'stalled rules lose requests', expect: 'errors.total > 0', variants: ['no-prestop'] },
    { name: 'preStop outlasting the stall is lossless', expect: 'errors.total == 0', variants: ['prestop-outlasts-stall'] },
    { name: 'removed pods keep serving through the stall', expect: 'metrics.trafficAfterRemovalMs > 3000', variants: ['prestop-outlasts-stall'] },
  ],
});
