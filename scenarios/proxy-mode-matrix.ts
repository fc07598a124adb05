/**
 * proxy-mode-matrix — do iptables, nftables and IPVS spread new connections fairly?
 *
 * Failure mode looked for: a proxy mode whose backend pick is biased (iptables and nftables pick at
 * random with per-rule probabilities, IPVS round-robins). Each connection is a fresh pick here
 * (short-lived: one request per connection), so requests are independent samples.
 *
 * Sweep: the same load once per proxy mode (proxyModes); modes the kernel cannot run (IPVS without
 * ip_vs) are reported as unsupported, not failed. Compare modes with `kth report diff`.
 *
 * Checks, per mode: shares pass the χ² test against fair shares over requests (p ≥ 0.001), and no
 * request fails.
 */
import { defineScenario } from '../harness/engine/scenario.ts';

export default defineScenario({
  name: 'proxy-mode-matrix',
  description: 'Short-lived HTTP connections through each kube-proxy mode: is every mode fair to every pod?',
  proxyModes: ['iptables', 'nftables', 'ipvs'],
  workload: { server: 'http', replicas: 4 },
  load: [{ name: 'client', protocol: 'http', model: 'short-lived', connections: 8, executor: 'constant-arrival-rate', rate: 100, duration: '40s', unit: 'requests' }],
  checks: [
    { name: 'fair shares', expect: 'metrics.chiSquareP >= 0.001' },
    { name: 'no errors', expect: 'errors.total == 0' },
  ],
});
