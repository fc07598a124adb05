/**
 * max-connection-age-runtimes — is MaxConnectionAge the same setting in grpc-js and grpc-go?
 *
 * Failure mode: a team tunes MaxConnectionAge on one gRPC server library and ships it on another.
 * Both send GOAWAY to a connection older than the age (±10% jitter) and close it after the grace,
 * but they differ in when the GOAWAY goes out, how many frames it takes (grpc-go pings between two
 * GOAWAYs), and how running calls are treated — which clients see as more or fewer reconnects,
 * and sometimes as failed calls.
 *
 * Sweep (variants): the same 30 channels, 300 calls/s and a 3 → 6 scale-out at 8s, MaxConnectionAge
 * 2s with a 1s grace. Servers side by side: grpc-js (Node.js) and grpc-go, both called by the
 * built-in HTTP/2 client (which sees every GOAWAY frame). Clients side by side on the grpc-go
 * server: the built-in h2 client, grpc-js, and k6's gRPC client (grpc-go; 30 VUs, one connection each).
 *
 * Checks: every pairing rebalances onto the new pods within 10s and fails no call.
 */
import { defineScenario } from '../harness/engine/scenario.ts';

export default defineScenario({
  name: 'max-connection-age-runtimes',
  description: 'The same gRPC MaxConnectionAge (2s, 1s grace) on grpc-js and grpc-go servers, and from three clients (built-in h2, grpc-js, k6), across a 3 → 6 scale-out.',
  workload: { server: 'grpc', replicas: 3, maxConnectionAge: '2s', maxConnectionAgeGrace: '1s' },
  load: [{ name: 'calls', protocol: 'grpc', call: 'unary', connections: 30, executor: 'constant-arrival-rate', rate: 300, duration: '30s' }],
  chaos: [{ at: '8s', action: 'scale', replicas: 6 }],
  // 30 channels over 6 pods are 5 ± 2 per pod: see scale-out-rebalance.
  rebalanceFraction: 0.5,
  variants: [
    { name: 'grpc-js-server', description: 'grpc-js server (Node.js), built-in h2 client', workload: { runtime: 'node' }, load: { calls: { client: 'h2' } } },
    { name: 'grpc-go-server', description: 'grpc-go server, built-in h2 client', workload: { runtime: 'go' }, load: { calls: { client: 'h2' } } },
    { name: 'grpc-js-client', description: 'grpc-go server, grpc-js client (GOAWAYs inferred: grpc-js does not expose them)', workload: { runtime: 'go' }, load: { calls: { client: 'grpc-js' } } },
    { name: 'k6-client', description: "grpc-go server, k6's gRPC client (grpc-go)", workload: { runtime: 'go' }, load: { calls: { driver: 'k6' } } },
  ],
  checks: [
    { name: 'rebalances', expect: 'metrics.rebalanceSeconds <= 10' },
    { name: 'GOAWAY fails no call', expect: 'errors.total == 0' },
  ],
});
