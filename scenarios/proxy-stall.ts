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
 * Per node (variant `one-node-stalls`): kube-proxy stalls on node 1 only, and a client runs on
 * every node (`perNode`), each measured on its own (report: the generators table). Only node 1's
 * client keeps reaching the removed pods through the stall and finds the new ones when its proxy
 * resumes; the clients on nodes 2 and 3 follow the endpoints within the proxies' sync.
 *
 * Checks: with every proxy stalled, new pods get no traffic until they resume (metrics.propagationLagMs);
 * the baseline loses requests (timeouts and unreachable: the old pod IPs are gone); with the
 * mitigation none, and the removed pods answer for most of the stall (trafficAfterRemovalMs).
 * preStopSleep is not scaled by --time-scale (it races the proxy), the stall is.
 */
import { defineScenario } from '../harness/engine/scenario.ts';

export default defineScenario({
  name: 'proxy-stall',
  description: 'kube-proxy paused during a rollout keeps routing new connections to terminating and deleted pods; a preStop sleep longer than the stall makes the rollout lossless.',
  workload: { server: 'http', replicas: 3, terminationGracePeriod: '60s', maxSurge: 3, maxUnavailable: 0 },
  load: [{ name: 'client', protocol: 'http', model: 'short-lived', connections: 8, executor: 'constant-arrival-rate', rate: 50, duration: '40s' }],
  chaos: [
    { at: '8s', action: 'kube-proxy-pause', node: 'all', duration: '24s' },
    { at: '10s', action: 'rollout-restart' },
  ],
  variants: [
    { name: 'no-prestop', description: 'baseline: old pods exit as soon as they are deleted' },
    { name: 'prestop-outlasts-stall', description: 'preStop sleeps 30s, longer than the stall', workload: { preStopSleep: '30s' } },
    {
      name: 'one-node-stalls',
      description: 'kube-proxy paused on node 1 only, a client on every node, preStop 30s: only node 1\'s client keeps reaching removed pods and misses the new ones',
      workload: { preStopSleep: '30s' },
      load: { client: { perNode: true, rate: 20 } },
      chaos: [
        { at: '8s', action: 'kube-proxy-pause', node: 1, duration: '24s' },
        { at: '10s', action: 'rollout-restart' },
      ],
    },
  ],
  checks: [
    // The run's lag is a new pod's first request from any client: one-node-stalls asks it per node below.
    { name: 'new pods get no traffic while the proxies stall', expect: 'metrics.propagationLagMs > 3000', variants: ['no-prestop', 'prestop-outlasts-stall'] },
    { name: 'stalled rules lose requests', expect: 'errors.total > 0', variants: ['no-prestop'] },
    { name: 'preStop outlasting the stall is lossless', expect: 'errors.total == 0', variants: ['prestop-outlasts-stall', 'one-node-stalls'] },
    { name: 'removed pods keep serving through the stall', expect: 'metrics.trafficAfterRemovalMs > 3000', variants: ['prestop-outlasts-stall', 'one-node-stalls'] },
    // Generator 1 of the load runs on node 1 (perNode places them in node order).
    { name: 'the stalled node still reaches removed pods', expect: 'generators.client.1.trafficAfterRemovalMs > 3000', variants: ['one-node-stalls'] },
    { name: 'the stalled node finds new pods only when its proxy resumes', expect: 'generators.client.1.propagationLagMs > 3000', variants: ['one-node-stalls'] },
    { name: 'node 2 follows the endpoints', expect: 'generators.client.2.trafficAfterRemovalMs < 3000', variants: ['one-node-stalls'] },
    { name: 'node 3 follows the endpoints', expect: 'generators.client.3.trafficAfterRemovalMs < 3000', variants: ['one-node-stalls'] },
    { name: 'node 2 reaches new pods without waiting for node 1', expect: 'generators.client.2.propagationLagMs < 3000', variants: ['one-node-stalls'] },
    { name: 'node 3 reaches new pods without waiting for node 1', expect: 'generators.client.3.propagationLagMs < 3000', variants: ['one-node-stalls'] },
  ],
});
