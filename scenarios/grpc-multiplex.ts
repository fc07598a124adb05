/**
 * grpc-multiplex — one gRPC channel is one HTTP/2 connection is one pod.
 *
 * Failure mode: gRPC multiplexes every call over a channel's single connection, and a ClusterIP
 * Service balances connections. 2 channels over 3 pods leave at least one pod without a single call
 * for the whole run, while the others take everything.
 *
 * Mitigations (variants): `many-channels` opens 30 channels (connections spread by the proxy's
 * random or round-robin pick); `server-max-connection-age` keeps 2 channels but has the server send
 * GOAWAY after 2s (MaxConnectionAge, 1s grace), so channels reconnect and pick again.
 *
 * Checks: the baseline is visibly unfair (Jain's index < 0.8; at most 0.67 with 2 channels on
 * 3 pods); each mitigation passes the χ² test over connections (p ≥ 0.001) without failed calls.
 */
import { defineScenario } from '../harness/engine/scenario.ts';

export default defineScenario({
  name: 'grpc-multiplex',
  description: 'Few gRPC channels pin every call to few pods; more channels or a server MaxConnectionAge spread them.',
  workload: { server: 'grpc', replicas: 3 },
  load: [{ name: 'client', protocol: 'grpc', call: 'unary', connections: 2, executor: 'constant-arrival-rate', rate: 200, duration: '40s' }],
  variants: [
    { name: 'two-channels', description: 'baseline: 2 long-lived channels' },
    { name: 'many-channels', description: '30 channels, each its own connection', load: { client: { connections: 30 } } },
    { name: 'server-max-connection-age', description: 'the server sends GOAWAY to connections older than 2s', workload: { maxConnectionAge: '2s', maxConnectionAgeGrace: '1s' } },
  ],
  checks: [
    { name: 'baseline is skewed', expect: 'metrics.jainIndex < 0.8', variants: ['two-channels'] },
    { name: 'fair shares', expect: 'metrics.chiSquareP >= 0.001', variants: ['many-channels', 'server-max-connection-age'] },
    { name: 'no failed calls', expect: 'errors.total == 0', variants: ['many-channels', 'server-max-connection-age'] },
  ],
});
