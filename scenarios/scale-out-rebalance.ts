/**
 * scale-out-rebalance — new pods get no traffic from connections that already exist.
 *
 * Failure mode: a client holds 30 persistent HTTP connections to 3 pods; 10s in, the Deployment
 * scales to 6. The new pods become endpoints at once, but no existing connection ever moves: they
 * stay idle until something closes connections.
 *
 * Mitigations (variants): `server-max-requests` has the server close a connection after 20
 * requests (maxRequestsPerConnection; at 10 requests/s per connection that is every ~2s), and
 * `client-max-age` has the client retire each held connection once it is older than 5s (its last
 * request says Connection: close, like a proxy's max connection duration). Either way each reconnect
 * is a new pick that can land on a new pod.
 *
 * Checks: the baseline stays unfair (Jain's index < 0.7 over the 6 pods: the new ones get nothing);
 * each mitigation rebalances (every new pod reaches half its fair share, rebalanceFraction, within 15s
 * of the scale-out: metrics.rebalanceSeconds) and fails no request while connections are recycled.
 */
import { defineScenario } from '../harness/engine/scenario.ts';

export default defineScenario({
  name: 'scale-out-rebalance',
  description: 'Scaling 3 → 6 under persistent load leaves the new pods idle until connections are recycled by the server or the client.',
  workload: { server: 'http', replicas: 3 },
  load: [{ name: 'client', protocol: 'http', model: 'persistent', connections: 30, executor: 'constant-arrival-rate', rate: 300, duration: '40s' }],
  chaos: [{ at: '10s', action: 'scale', replicas: 6 }],
  // 30 connections over 6 pods: a fair pick gives each pod 5 ± 2 of them, so a new pod reaching
  // 80 % of its share in a given second is a coin toss; half of it is what recycling reliably buys.
  rebalanceFraction: 0.5,
  variants: [
    { name: 'persistent', description: 'baseline: connections live as long as the run' },
    { name: 'server-max-requests', description: 'the server closes a connection after 20 requests', workload: { maxRequestsPerConnection: 20 } },
    { name: 'client-max-age', description: 'the client retires held connections older than 5s', load: { client: { maxConnectionAge: '5s' } } },
  ],
  checks: [
    { name: 'new pods stay idle', expect: 'metrics.jainIndex < 0.7', variants: ['persistent'] },
    { name: 'rebalances', expect: 'metrics.rebalanceSeconds <= 15', variants: ['server-max-requests', 'client-max-age'] },
    { name: 'no errors', expect: 'errors.total == 0', variants: ['server-max-requests', 'client-max-age'] },
  ],
});
