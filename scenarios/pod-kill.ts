/**
 * pod-kill — what a pod that dies abruptly costs, and what a graceful exit costs.
 *
 * Failure mode: under load, one pod's process is killed with SIGKILL (a crash: `crash`, the
 * baseline) or the pod is deleted with grace period 0 (`force-delete`). Requests in flight on it
 * fail, and connections the proxies still send to it fail until its endpoint is gone (readiness
 * probe, EndpointSlice, proxy sync). Two loads show the difference: `fresh` opens a connection per
 * request, `held` keeps 6 keep-alive connections that must reconnect elsewhere.
 *
 * Mitigation (variant `graceful-delete`): an ordinary delete with a 3s preStop sleep: the pod leaves
 * the endpoints before it stops serving. A crash has no server-side mitigation; the point there is
 * that the damage is counted and bounded.
 *
 * Checks: the abrupt variants cost requests (errors.total > 0) but recover (the per-request load
 * loses at most 300, i.e. ~3s of its traffic: loads.fresh.errors.total); the graceful delete costs
 * none (errors.total == 0).
 */
import { defineScenario } from '../harness/engine/scenario.ts';

export default defineScenario({
  name: 'pod-kill',
  description: 'A crashed or force-deleted pod fails requests until its endpoint is gone; a graceful delete with preStop fails none.',
  // 80ms of service latency, as real services have: requests are always in flight (the held
  // connections are busy 80% of the time), so a crash has work to lose whatever the server's
  // runtime. With ~1ms answers a kill often caught nothing in flight, and a Go server is back
  // within milliseconds, so it refused almost no connection either.
  workload: { server: 'http', replicas: 3, responseDelay: '80ms' },
  load: [
    { name: 'fresh', protocol: 'http', model: 'short-lived', connections: 16, executor: 'constant-arrival-rate', rate: 100, duration: '40s' },
    { name: 'held', protocol: 'http', model: 'persistent', connections: 6, executor: 'constant-arrival-rate', rate: 60, duration: '40s' },
  ],
  chaos: [{ at: '15s', action: 'kill-process', count: 1 }],
  variants: [
    { name: 'crash', description: 'baseline: kill -9 of one pod’s process (the kubelet restarts it)' },
    { name: 'force-delete', description: 'delete one pod with grace period 0', chaos: [{ at: '15s', action: 'delete-pod', count: 1, force: true }] },
    { name: 'graceful-delete', description: 'delete one pod normally; preStop sleeps 3s', workload: { preStopSleep: '3s' }, chaos: [{ at: '15s', action: 'delete-pod', count: 1 }] },
  ],
  checks: [
    { name: 'abrupt exit fails requests', expect: 'errors.total > 0', variants: ['crash', 'force-delete'] },
    { name: 'damage is bounded', expect: 'loads.fresh.errors.total <= 300', variants: ['crash', 'force-delete'] },
    { name: 'graceful delete is lossless', expect: 'errors.total == 0', variants: ['graceful-delete'] },
  ],
});
