/**
 * max-connection-age-sweep — how short must gRPC MaxConnectionAge be?
 *
 * Failure mode: 30 gRPC channels on 3 pods, then a scale-out to 6 after 10s. Without a maximum
 * connection age the channels never reconnect, so the 3 new pods never receive a call.
 *
 * Mitigation (a sweep): the server's MaxConnectionAge at never (the baseline), 2s and 5s, each with
 * a 1s grace for calls in flight. A shorter age rebalances sooner, at the price of more reconnects
 * (GOAWAYs, visible in the report's timeline).
 *
 * Checks: the baseline leaves the new pods idle (Jain's index < 0.7 over 6 pods); each age
 * rebalances within a few of its own lengths (metrics.rebalanceSeconds ≤ 10 for 2s, ≤ 20 for 5s),
 * and the graceful GOAWAY fails no call (errors.total == 0).
 *
 * Recommendation (the report ends with it, per proxy mode): the smallest MaxConnectionAge (with its
 * grace) whose run met every check with no failed RPC — or that none did.
 */
import { defineScenario } from '../harness/engine/scenario.ts';

export default defineScenario({
  name: 'max-connection-age-sweep',
  description: 'Sweeps the gRPC server MaxConnectionAge (never, 2s, 5s) across a 3 → 6 scale-out: how soon do new pods get calls, and at what cost?',
  workload: { server: 'grpc', replicas: 3, maxConnectionAgeGrace: '1s' },
  load: [{ name: 'client', protocol: 'grpc', call: 'unary', connections: 30, executor: 'constant-arrival-rate', rate: 300, duration: '40s' }],
  chaos: [{ at: '10s', action: 'scale', replicas: 6 }],
  // 30 channels over 6 pods are 5 ± 2 per pod: see scale-out-rebalance.
  rebalanceFraction: 0.5,
  variants: [
    { name: 'age-never', description: 'baseline: no MaxConnectionAge' },
    { name: 'age-2s', description: 'GOAWAY after 2s (±10% jitter)', workload: { maxConnectionAge: '2s' } },
    { name: 'age-5s', description: 'GOAWAY after 5s (±10% jitter)', workload: { maxConnectionAge: '5s' } },
  ],
  checks: [
    { name: 'new pods stay idle', expect: 'metrics.jainIndex < 0.7', variants: ['age-never'] },
    { name: 'rebalances (2s)', expect: 'metrics.rebalanceSeconds <= 10', variants: ['age-2s'] },
    { name: 'rebalances (5s)', expect: 'metrics.rebalanceSeconds <= 20', variants: ['age-5s'] },
    { name: 'GOAWAY fails no call', expect: 'errors.total == 0', variants: ['age-2s', 'age-5s'] },
  ],
  recommend: {
    subject: 'MaxConnectionAge',
    goal: 'meets the rebalance target with no failed RPCs',
    by: { smallest: 'maxConnectionAge' },
    quote: ['maxConnectionAgeGrace'],
    require: ['errors.total == 0'],
  },
});
