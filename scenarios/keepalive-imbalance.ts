/**
 * keepalive-imbalance — kube-proxy balances connections, not requests.
 *
 * Failure mode: a client holding a few persistent (keep-alive) HTTP connections picks its pods once,
 * when it connects. 2 connections over 3 pods can reach at most 2 of them, however many requests
 * follow: one pod idles while the others take half the traffic each.
 *
 * Mitigations (variants): `short-lived` opens a connection per request, so every request is a new
 * pick; `pooled-max-age` keeps a keep-alive pool but retires connections after 2s, so picks are
 * renewed throughout the run.
 *
 * Checks: the baseline is visibly unfair (Jain's index < 0.8: with 2 connections over 3 pods it can
 * be at most 0.67); each mitigation passes the χ² test against fair shares (p ≥ 0.001, over requests
 * for short-lived, over connections for the pool) with no errors.
 */
import { defineScenario } from '../harness/engine/scenario.ts';

export default defineScenario({
  name: 'keepalive-imbalance',
  description: 'A few persistent HTTP connections pin traffic to a few pods; per-request connections or a short pool max age spread it.',
  workload: { server: 'http', replicas: 3 },
  load: [{ name: 'client', protocol: 'http', model: 'persistent', connections: 2, executor: 'constant-arrival-rate', rate: 100, duration: '40s' }],
  variants: [
    { name: 'persistent', description: 'baseline: 2 keep-alive connections held for the whole run' },
    { name: 'short-lived', description: 'a new connection per request', load: { client: { model: 'short-lived', connections: 8 } } },
    { name: 'pooled-max-age', description: 'a keep-alive pool that retires connections older than 2s', load: { client: { model: 'pooled', connections: 4, maxConnectionAge: '2s' } } },
  ],
  checks: [
    { name: 'baseline is skewed', expect: 'metrics.jainIndex < 0.8', variants: ['persistent'] },
    { name: 'fair shares', expect: 'metrics.chiSquareP >= 0.001', variants: ['short-lived', 'pooled-max-age'] },
    { name: 'no errors', expect: 'errors.total == 0', variants: ['short-lived', 'pooled-max-age'] },
  ],
});
