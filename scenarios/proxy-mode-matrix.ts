/**
 * proxy-mode-matrix — do iptables, nftables, IPVS and Cilium spread new connections fairly, and
 * how soon does each send traffic to a new pod?
 *
 * Failure mode looked for: a data plane whose backend pick is biased (iptables and nftables pick
 * at random with per-rule probabilities, IPVS round-robins, Cilium's BPF service map picks at
 * random or by Maglev), or that is slow to program new endpoints. Each connection is a fresh pick
 * here (short-lived: one request per connection), so requests are independent samples.
 *
 * Sweep: the same load once per proxy mode (proxyModes); modes the host cannot run (IPVS without
 * ip_vs) are reported as unsupported, not failed. Compare modes with `kth report diff`.
 *
 * Variants: `steady` (4 pods throughout) for the fairness test; `scale-out` (4 → 6 pods 5 s in;
 * new pods need ~3 s to start whatever the time scale, so run it at --time-scale 0.5 or more)
 * for endpoint propagation lag: EndpointSlice change → first request at each new pod
 * (metrics.propagationLagMs), the time each data plane takes to program new endpoints.
 *
 * Checks, per mode: steady shares pass the χ² test against fair shares over requests
 * (p ≥ 0.001); every new pod gets traffic within 5 s of turning ready; no request fails.
 */
import { defineScenario } from '../harness/engine/scenario.ts';

export default defineScenario({
  name: 'proxy-mode-matrix',
  description: 'Short-lived HTTP connections through each data plane: is every mode fair to every pod, and how soon does a new pod get traffic?',
  proxyModes: ['iptables', 'nftables', 'ipvs', 'cilium'],
  workload: { server: 'http', replicas: 4 },
  load: [{ name: 'client', protocol: 'http', model: 'short-lived', connections: 8, executor: 'constant-arrival-rate', rate: 100, duration: '15s', unit: 'requests' }],
  variants: [
    { name: 'steady', description: '4 pods throughout: the fairness of the pick' },
    { name: 'scale-out', description: '4 → 6 pods 5 s in: how soon the data plane sends to new pods', chaos: [{ at: '5s', action: 'scale', replicas: 6 }] },
  ],
  checks: [
    { name: 'fair shares', expect: 'metrics.chiSquareP >= 0.001', variants: ['steady'] },
    { name: 'new pods get traffic within 5 s', expect: 'metrics.propagationLagMs <= 5000', variants: ['scale-out'] },
    { name: 'no errors', expect: 'errors.total == 0' },
  ],
});
