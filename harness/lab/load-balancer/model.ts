import type { V1Node, V1Service } from '@kubernetes/client-node';

/**
 * What the load balancer needs from Services and Nodes, extracted once so the rest (allocation,
 * eligibility, the nft ruleset) is pure and testable without an API server.
 */
export type LbProtocol = 'TCP' | 'UDP';

export interface LbPort {
  /** The Service port's name ('' when unnamed). */
  name: string;
  protocol: LbProtocol;
  /** The port on the load balancer address (the Service port). */
  port: number;
  /** Where the load balancer sends it on every eligible node. */
  nodePort: number;
}

export interface LbService {
  /** `<namespace>/<name>`. */
  key: string;
  namespace: string;
  name: string;
  uid: string;
  createdAt: string;
  /** `spec.loadBalancerIP` (deprecated upstream, still honoured by most implementations). */
  requestedIp?: string;
  /** Addresses already in `status.loadBalancer.ingress`. */
  statusIps: string[];
  ports: LbPort[];
  /** Ports the load balancer cannot serve, with why (SCTP, no node port allocated). */
  skippedPorts: { port: number; protocol: string; reason: string }[];
  trafficPolicy: 'Cluster' | 'Local';
  /** Set by the API server for `externalTrafficPolicy: Local`; kube-proxy answers on it. */
  healthCheckNodePort?: number;
}

export interface LbNode {
  name: string;
  ip: string;
  ready: boolean;
  /** Carries `node.kubernetes.io/exclude-from-external-load-balancers` (as cloud controllers honour it). */
  excluded: boolean;
}

export const excludeFromLoadBalancersLabel = 'node.kubernetes.io/exclude-from-external-load-balancers';

export const serviceKey = (namespace: string, name: string): string => `${namespace}/${name}`;

/**
 * The Service as the lab load balancer sees it, or undefined when it is not the lab load
 * balancer's to serve: not `type: LoadBalancer`, or claimed by another `loadBalancerClass`.
 */
export function lbServiceOf(service: V1Service): LbService | undefined {
  const spec = service.spec;
  if (spec?.type !== 'LoadBalancer' || spec.loadBalancerClass) return undefined;
  const namespace = service.metadata?.namespace ?? 'default';
  const name = service.metadata?.name ?? '';
  const ports: LbPort[] = [];
  const skippedPorts: LbService['skippedPorts'] = [];
  for (const p of spec.ports ?? []) {
    const protocol = p.protocol ?? 'TCP';
    if (protocol !== 'TCP' && protocol !== 'UDP') {
      skippedPorts.push({ port: p.port, protocol, reason: `${protocol} is not balanced by the lab load balancer (TCP and UDP are)` });
    } else if (!p.nodePort) {
      skippedPorts.push({ port: p.port, protocol, reason: 'no node port allocated (allocateLoadBalancerNodePorts: false)' });
    } else {
      ports.push({ name: p.name ?? '', protocol, port: p.port, nodePort: p.nodePort });
    }
  }
  const statusIps = (service.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((ip): ip is string => Boolean(ip));
  return {
    key: serviceKey(namespace, name),
    namespace,
    name,
    uid: service.metadata?.uid ?? '',
    createdAt: toIso(service.metadata?.creationTimestamp),
    ...(spec.loadBalancerIP ? { requestedIp: spec.loadBalancerIP } : {}),
    statusIps,
    ports,
    skippedPorts,
    trafficPolicy: spec.externalTrafficPolicy === 'Local' ? 'Local' : 'Cluster',
    ...(spec.externalTrafficPolicy === 'Local' && spec.healthCheckNodePort ? { healthCheckNodePort: spec.healthCheckNodePort } : {}),
  };
}

/** The Node's InternalIP and readiness, or undefined while it has no InternalIP yet. */
export function lbNodeOf(node: V1Node): LbNode | undefined {
  const ip = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  if (!ip || ip.includes(':')) return undefined;
  return {
    name: node.metadata?.name ?? '',
    ip,
    ready: node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True',
    excluded: node.metadata?.labels?.[excludeFromLoadBalancersLabel] !== undefined,
  };
}

/** Nodes a Service's traffic may go to before health checks: Ready and not excluded; by name. */
export function candidateNodes(nodes: readonly LbNode[]): LbNode[] {
  return nodes.filter((n) => n.ready && !n.excluded).sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
}

/** Services in the order addresses are handed out: oldest first, so the oldest wins a conflict. */
export function allocationOrder(services: readonly LbService[]): LbService[] {
  return [...services].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.key.localeCompare(b.key));
}

function toIso(value: Date | string | undefined): string {
  if (value === undefined) return '';
  return value instanceof Date ? value.toISOString() : String(value);
}
