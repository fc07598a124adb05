/**
 * ingress-per-request — an Ingress controller balances requests, not connections.
 *
 * Failure mode (variant `service`, the baseline): two persistent HTTP connections straight to the
 * ClusterIP reach at most two of three pods, each picked once by the proxy when the connection
 * opened (keepalive-imbalance); a scale-out to six pods changes nothing for them, since no
 * connection is ever re-picked.
 *
 * Mitigation (variant `ingress`): the same two connections go to a real Ingress controller
 * (Traefik, one replica), which picks a backend pod per request from the EndpointSlices it
 * watches. Every pod gets its share with no connection cycling, and the new pods get theirs
 * seconds after they become Ready (Traefik applies provider changes at most every 2 s).
 *
 * Non-mitigation (variant `native`): the same controller set to send every request to the
 * Service's ClusterIP (`lb: 'native'`, Traefik's nativeLB). The controller still reads each request,
 * but the pod is picked by kube-proxy per connection the controller opens, and the controller
 * keeps those alive: the pinning comes back one hop in, and the new pods idle again.
 *
 * Checks: two loads split the run so each question has its own data. Through the controller,
 * `steady` (before the scale-out) reaches all three pods with fair shares (χ² over requests: the
 * controller picks per request), and during `scaled` the new pods reach their share within 10 s
 * of the 3 → 6 scale-out. Without it the six pods' shares are far from even (Jain's index over
 * all six < 0.5: two pods at most serve). Neither path loses a request.
 */
import { defineScenario } from '../harness/engine/scenario.ts';

export default defineScenario({
  name: 'ingress-per-request',
  description: 'Two persistent connections through an Ingress controller spread over every pod, new ones included; straight to the ClusterIP they pin two pods.',
  workload: { server: 'http', replicas: 3, ingress: { replicas: 1 } },
  load: [
    { name: 'steady', protocol: 'http', model: 'persistent', connections: 2, executor: 'constant-arrival-rate', rate: 60, duration: '15s', via: 'ingress' },
    { name: 'scaled', protocol: 'http', model: 'persistent', connections: 2, executor: 'constant-arrival-rate', rate: 60, startTime: '15s', duration: '25s', via: 'ingress' },
  ],
  chaos: [{ at: '20s', action: 'scale', replicas: 6 }],
  variants: [
    { name: 'service', description: 'baseline: the same connections straight to the ClusterIP', load: { steady: { via: 'service' }, scaled: { via: 'service' } } },
    { name: 'ingress', description: 'through the Ingress controller: a pick per request' },
    { name: 'native', description: 'through the controller, which sends to the ClusterIP (lb: native): a pick per controller connection', workload: { ingress: { replicas: 1, lb: 'native' } } },
  ],
  checks: [
    { name: 'every pod serves', expect: 'loads.steady.metrics.chiSquare.degreesOfFreedom == 2', variants: ['ingress'] },
    { name: 'fair shares', expect: 'loads.steady.metrics.chiSquareP >= 0.001', variants: ['ingress'] },
    { name: 'new pods serve at once', expect: 'metrics.rebalanceSeconds <= 10', variants: ['ingress'] },
    { name: 'connections pin pods, the new ones idle', expect: 'metrics.jainIndex < 0.5', variants: ['service', 'native'] },
    { name: 'no errors', expect: 'errors.total == 0' },
  ],
});
