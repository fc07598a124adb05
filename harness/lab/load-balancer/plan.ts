import { healthTargetKey, type HealthTracker } from './health.ts';
import { candidateNodes, type LbNode, type LbService } from './model.ts';
import type { LbTarget } from './ruleset.ts';

/**
 * Which nodes each Service's address sends new connections to, and why the others do not:
 *   Cluster — every Ready node not excluded from load balancers (kube-proxy forwards, with SNAT);
 *   Local   — of those, only nodes whose healthCheckNodePort answered 200 (a ready local endpoint).
 */
export interface NodeView {
  name: string;
  ip: string;
  receives: boolean;
  /** Why not, or the health check's last answer. */
  detail: string;
  localEndpoints?: number;
}

export interface ServiceView {
  service: string;
  ip?: string;
  /** Why the Service has no address. */
  error?: string;
  trafficPolicy: 'Cluster' | 'Local';
  healthCheckNodePort?: number;
  ports: { name: string; protocol: string; port: number; nodePort: number }[];
  skippedPorts: LbService['skippedPorts'];
  nodes: NodeView[];
}

export interface Placed {
  service: LbService;
  ip?: string;
  error?: string;
}

export function nodeViews(service: LbService, nodes: readonly LbNode[], health: HealthTracker): NodeView[] {
  const candidates = new Set(candidateNodes(nodes).map((n) => n.name));
  return [...nodes]
    .sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }))
    .map((node): NodeView => {
      if (!candidates.has(node.name)) {
        return { name: node.name, ip: node.ip, receives: false, detail: node.excluded ? 'excluded from external load balancers' : 'node not Ready' };
      }
      if (service.trafficPolicy === 'Cluster') return { name: node.name, ip: node.ip, receives: true, detail: 'Ready (externalTrafficPolicy Cluster)' };
      if (!service.healthCheckNodePort) return { name: node.name, ip: node.ip, receives: false, detail: 'no healthCheckNodePort allocated yet' };
      const state = health.get(healthTargetKey(service.key, node.ip, service.healthCheckNodePort));
      return {
        name: node.name,
        ip: node.ip,
        receives: state?.healthy ?? false,
        detail: state?.last ? `healthCheckNodePort ${service.healthCheckNodePort}: ${state.last.detail}` : 'not probed yet',
        ...(state?.last?.localEndpoints !== undefined ? { localEndpoints: state.last.localEndpoints } : {}),
      };
    });
}

/** The views of every placed Service and the nft targets they make. */
export function plan(placed: readonly Placed[], nodes: readonly LbNode[], health: HealthTracker): { views: ServiceView[]; targets: LbTarget[] } {
  const views: ServiceView[] = [];
  const targets: LbTarget[] = [];
  for (const { service, ip, error } of placed) {
    const nodesView = nodeViews(service, nodes, health);
    const receiving = nodesView.filter((n) => n.receives).map((n) => n.ip);
    views.push({
      service: service.key,
      ...(ip ? { ip } : {}),
      ...(error ? { error } : {}),
      trafficPolicy: service.trafficPolicy,
      ...(service.healthCheckNodePort ? { healthCheckNodePort: service.healthCheckNodePort } : {}),
      ports: service.ports.map((p) => ({ name: p.name, protocol: p.protocol, port: p.port, nodePort: p.nodePort })),
      skippedPorts: service.skippedPorts,
      nodes: nodesView,
    });
    if (!ip) continue;
    for (const port of service.ports) {
      targets.push({ service: service.key, portName: port.name, ip, protocol: port.protocol, port: port.port, nodePort: port.nodePort, nodes: receiving });
    }
  }
  return { views: views.sort((a, b) => a.service.localeCompare(b.service)), targets };
}

/** Every (Service, node, healthCheckNodePort) the health checker should probe now. */
export function healthTargets(services: readonly LbService[], nodes: readonly LbNode[]): { key: string; service: string; nodeIp: string; port: number }[] {
  const candidates = candidateNodes(nodes);
  return services.flatMap((s) =>
    s.trafficPolicy === 'Local' && s.healthCheckNodePort
      ? candidates.map((n) => ({ key: healthTargetKey(s.key, n.ip, s.healthCheckNodePort as number), service: s.key, nodeIp: n.ip, port: s.healthCheckNodePort as number }))
      : []);
}
