/**
 * The generators bench's scenario (bench/lab/generators.bench.ts): one persistent HTTP load on the
 * Go servers at rising rates, from 1 generator and from 3 (one per node, each at the same rate).
 */
import { defineScenario } from '../../harness/engine/scenario.ts';

const rates = [250, 500, 1000, 2000] as const;

export default defineScenario({
  name: 'bench-generators',
  description: 'Delivered vs scheduled rate: one generator against three, at rising per-generator rates.',
  workload: { server: 'http', runtime: 'go', replicas: 3 },
  load: [{ name: 'load', protocol: 'http', model: 'persistent', connections: 10, executor: 'constant-arrival-rate', rate: 250, duration: '15s' }],
  chaos: [],
  variants: rates.flatMap((rate) => [1, 3].map((generators) => ({ name: `g${generators}-r${rate}`, load: { load: { rate, generators } } }))),
  checks: [],
});
