import type { V1EndpointSlice, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import { iptablesPortRules } from './iptables.ts';
import { nftPortRules } from './nftables.ts';
import type { BlockedDestination, PortRules, RuleEndpoint } from './rules.ts';

/**
 * `kth inspect service`: the traffic path of one Service, from the outside in — load balancer
 * address → NodePorts on nodes → ClusterIP:port → proxy mode and each node's rules → EndpointSlices
 * → endpoints → pods on nodes. Everything here is pure: API objects and rule text in, one model
 * out (printed as JSON or rendered as a tree), so it is tested with real captured objects and rules.
 */

export interface NodeRulesText {
  node: string;
  /** The node's network namespace (lab). */
  netns?: string;
  mode: 'iptables' | 'nftables';
  /** `iptables-save -t nat` */
  nat?: string;
  /** `iptables-save -t filter` (its "has no endpoints" rules). */
  filter?: string;
  /** `nft list table ip kube-proxy` */
  nft?: string;
  /** Why the rules could not be read. */
  error?: string;
}

export interface HealthObservation {
  node: string;
  /** HTTP status of GET /healthz on the healthCheckNodePort. */
  status?: number;
  /** kube-proxy's own count, from the answer's body. */
  localEndpoints?: number;
  error?: string;
}

export interface ProxySource {
  /** iptables | nftables | ipvs | … | unknown */
  mode: string;
  /** Where the mode comes from, for people ("lab insp (lab.json)", "kube-system/kube-proxy ConfigMap"). */
  source: string;
  note?: string;
}

export interface InspectInput {
  service: V1Service;
  endpointSlices: readonly V1EndpointSlice[];
  pods: readonly V1Pod[];
  nodes: readonly V1Node[];
  proxy: ProxySource;
  /** Each node's kube-proxy rules (lab only). */
  rules?: readonly NodeRulesText[];
  /** Answers of each node's healthCheckNodePort (lab only, externalTrafficPolicy Local). */
  health?: readonly HealthObservation[];
  /** Whether the lab load balancer sends new connections to each node (its status file). */
  loadBalancerNodes?: readonly { node: string; receives: boolean; detail: string }[];
  lab?: string;
}

export interface ServicePortView {
  name: string;
  protocol: string;
  port: number;
  targetPort: string | number;
  nodePort?: number;
  /** The container port(s) the EndpointSlices resolved targetPort to. */
  endpointPorts: number[];
}

export interface EndpointView {
  addresses: string[];
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  nodeName?: string;
  zone?: string;
  pod?: string;
  hints?: { forZones?: string[]; forNodes?: string[] };
}

export interface SliceView {
  name: string;
  addressType: string;
  ports: { name: string; port: number; protocol: string }[];
  endpoints: EndpointView[];
}

export interface PodView {
  name: string;
  phase: string;
  ready: boolean;
  node?: string;
  podIP?: string;
  deletionTimestamp?: string;
  /** Listed as an endpoint in the Service's EndpointSlices. */
  inSlices: boolean;
}

export interface InspectedNode {
  name: string;
  internalIP?: string;
  ready: boolean;
  zone?: string;
  /** Ready endpoints of this Service on this node. */
  localReadyEndpoints: number;
  /** externalTrafficPolicy Local: what the healthCheckNodePort answers (should answer) on this node. */
  healthCheck?: {
    port: number;
    /** 200 when the node has a ready local endpoint, 503 otherwise (kube-proxy's rule). */
    expected: 200 | 503;
    observed?: HealthObservation;
    /** Whether the lab load balancer sends it new connections. */
    loadBalancerSends?: boolean;
    loadBalancerDetail?: string;
  };
}

export type ChainEndpoint = RuleEndpoint & { pod?: string; node?: string };

export interface ChainCheck {
  kind: 'cluster' | 'local';
  /** Whether kube-proxy needs this chain for the Service's traffic policies. */
  used: boolean;
  /** The chain's name in the rules; absent when the node has no such chain. */
  chain?: string;
  endpoints: ChainEndpoint[];
  /** `ip:port` the EndpointSlices say this chain should send to, as kube-proxy picks them. */
  expected: string[];
  missing: string[];
  unexpected: string[];
  inSync: boolean;
}

export interface PortProgramming {
  port: string;
  protocol: string;
  clusterIpChain?: string;
  externalChain?: string;
  externalTo?: string[];
  blocked: BlockedDestination[];
  chains: ChainCheck[];
}

export interface NodeProgramming {
  node: string;
  netns?: string;
  mode: 'iptables' | 'nftables';
  error?: string;
  /** Every used chain sends to exactly the endpoints the slices call for. */
  inSync: boolean;
  ports: PortProgramming[];
}

export interface Finding {
  level: 'warning' | 'note';
  message: string;
}

export interface ServiceInspection {
  schemaVersion: 1;
  lab?: string;
  service: {
    namespace: string;
    name: string;
    type: string;
    clusterIPs: string[];
    externalIPs: string[];
    ports: ServicePortView[];
    loadBalancer: { ip?: string; hostname?: string; ipMode?: string }[];
    externalTrafficPolicy?: string;
    internalTrafficPolicy?: string;
    healthCheckNodePort?: number;
    sessionAffinity: string;
    sessionAffinityTimeoutSeconds?: number;
    selector?: Record<string, string>;
  };
  nodes: InspectedNode[];
  proxy: ProxySource & { rulesRead: boolean; nodes: NodeProgramming[] };
  endpointSlices: SliceView[];
  pods: PodView[];
  summary: {
    endpoints: number;
    readyEndpoints: number;
    servingTerminatingEndpoints: number;
    /** Nodes whose rules disagree with the slices; empty when every node is in sync or rules were not read. */
    nodesOutOfSync: string[];
  };
  findings: Finding[];
}

const iso = (value: Date | string | undefined): string | undefined => (value === undefined ? undefined : new Date(value).toISOString());
const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name, 'en', { numeric: true });

/** kube-proxy reads an absent `ready` or `serving` as true, an absent `terminating` as false. */
function conditionsOf(endpoint: { conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean } }) {
  const ready = endpoint.conditions?.ready ?? true;
  return { ready, serving: endpoint.conditions?.serving ?? ready, terminating: endpoint.conditions?.terminating ?? false };
}

/** One endpoint of one service port, as kube-proxy sees it. */
interface PortEndpoint {
  key: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  nodeName?: string;
  zoneHints: string[];
  nodeHints: string[];
}

function endpointsForPort(slices: readonly V1EndpointSlice[], portName: string, protocol: string): PortEndpoint[] {
  const out = new Map<string, PortEndpoint>();
  for (const slice of slices) {
    if (slice.addressType === 'FQDN') continue;
    const slicePort = (slice.ports ?? []).find((p) => (p.name ?? '') === portName && (p.protocol ?? 'TCP') === protocol);
    if (!slicePort?.port) continue;
    for (const e of slice.endpoints ?? []) {
      const c = conditionsOf(e);
      const address = e.addresses[0];
      if (!address) continue;
      const key = `${address}:${slicePort.port}`;
      // The same endpoint in two slices (a slice being replaced): kube-proxy keeps one; prefer the ready one.
      if (out.get(key)?.ready) continue;
      out.set(key, {
        key,
        ...c,
        ...(e.nodeName ? { nodeName: e.nodeName } : {}),
        zoneHints: (e.hints?.forZones ?? []).map((z) => z.name),
        nodeHints: (e.hints?.forNodes ?? []).map((n) => n.name),
      });
    }
  }
  return [...out.values()];
}

/**
 * The endpoints kube-proxy on `node` puts in a service port's cluster and local chains
 * (pkg/proxy/topology.go CategorizeEndpoints): ready ones; when there are none, the serving ones
 * that are terminating; cluster endpoints narrowed by topology hints when every ready endpoint has
 * them and one is for this node's zone (or node).
 */
function expectedEndpoints(endpoints: readonly PortEndpoint[], node: string, zone: string | undefined): { cluster: string[]; local: string[] } {
  const usable = (list: readonly PortEndpoint[]) => {
    const ready = list.filter((e) => e.ready);
    return ready.length > 0 ? ready : list.filter((e) => e.serving && e.terminating);
  };
  let clusterPool: readonly PortEndpoint[] = endpoints;
  const ready = endpoints.filter((e) => e.ready);
  if (ready.length > 0 && ready.every((e) => e.nodeHints.length > 0) && ready.some((e) => e.nodeHints.includes(node))) {
    clusterPool = ready.filter((e) => e.nodeHints.includes(node));
  } else if (zone && ready.length > 0 && ready.every((e) => e.zoneHints.length > 0) && ready.some((e) => e.zoneHints.includes(zone))) {
    clusterPool = ready.filter((e) => e.zoneHints.includes(zone));
  }
  const sorted = (list: readonly PortEndpoint[]) => list.map((e) => e.key).sort();
  return { cluster: sorted(usable(clusterPool)), local: sorted(usable(endpoints.filter((e) => e.nodeName === node))) };
}

/** Which chains kube-proxy needs for a Service (UsesClusterEndpoints / UsesLocalEndpoints upstream). */
function chainUse(service: V1Service): { cluster: boolean; local: boolean } {
  const spec = service.spec ?? {};
  const internalLocal = spec.internalTrafficPolicy === 'Local';
  const externallyAccessible = spec.type === 'NodePort' || spec.type === 'LoadBalancer' || (spec.externalIPs ?? []).length > 0;
  const externalLocal = externallyAccessible && spec.externalTrafficPolicy === 'Local';
  // Even under externalTrafficPolicy Local the cluster chain exists: pods and the node itself short-circuit to it.
  return { cluster: !internalLocal || externallyAccessible, local: internalLocal || externalLocal };
}

function podReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

function nodeReady(node: V1Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

const zoneLabel = 'topology.kubernetes.io/zone';

/** Builds the whole model. Pure. */
export function inspectService(input: InspectInput): ServiceInspection {
  const { service } = input;
  const spec = service.spec ?? {};
  const namespace = service.metadata?.namespace ?? '';
  const name = service.metadata?.name ?? '';
  const findings: Finding[] = [];

  // ---- EndpointSlices and pods --------------------------------------------------------------
  const slices: SliceView[] = [...input.endpointSlices].map((slice): SliceView => ({
    name: slice.metadata?.name ?? '',
    addressType: slice.addressType,
    ports: (slice.ports ?? []).map((p) => ({ name: p.name ?? '', port: p.port ?? 0, protocol: p.protocol ?? 'TCP' })),
    endpoints: (slice.endpoints ?? []).map((e): EndpointView => {
      const forZones = (e.hints?.forZones ?? []).map((z) => z.name);
      const forNodes = (e.hints?.forNodes ?? []).map((n) => n.name);
      return {
        addresses: e.addresses,
        ...conditionsOf(e),
        ...(e.nodeName ? { nodeName: e.nodeName } : {}),
        ...(e.zone ? { zone: e.zone } : {}),
        ...(e.targetRef?.kind === 'Pod' && e.targetRef.name ? { pod: e.targetRef.name } : {}),
        ...(forZones.length || forNodes.length ? { hints: { ...(forZones.length ? { forZones } : {}), ...(forNodes.length ? { forNodes } : {}) } } : {}),
      };
    }).sort((a, b) => (a.addresses[0] ?? '').localeCompare(b.addresses[0] ?? '', 'en', { numeric: true })),
  })).sort(byName);
  const allEndpoints = slices.flatMap((s) => s.endpoints);
  const podsInSlices = new Set(allEndpoints.map((e) => e.pod).filter(Boolean));
  const pods: PodView[] = [...input.pods].map((pod): PodView => {
    const deletion = iso(pod.metadata?.deletionTimestamp);
    return {
      name: pod.metadata?.name ?? '',
      phase: pod.status?.phase ?? 'Unknown',
      ready: podReady(pod),
      ...(pod.spec?.nodeName ? { node: pod.spec.nodeName } : {}),
      ...(pod.status?.podIP ? { podIP: pod.status.podIP } : {}),
      ...(deletion ? { deletionTimestamp: deletion } : {}),
      inSlices: podsInSlices.has(pod.metadata?.name ?? ''),
    };
  }).sort(byName);
  const podByIp = new Map<string, PodView>(pods.filter((p) => p.podIP).map((p) => [p.podIP as string, p]));
  const endpointByIp = new Map<string, EndpointView>(allEndpoints.flatMap((e) => e.addresses.map((a) => [a, e] as const)));

  // ---- Service ports --------------------------------------------------------------------------
  const ports: ServicePortView[] = (spec.ports ?? []).map((p) => {
    const protocol = p.protocol ?? 'TCP';
    const endpointPorts = [...new Set(slices.flatMap((s) => s.ports.filter((sp) => sp.name === (p.name ?? '') && sp.protocol === protocol).map((sp) => sp.port)))].sort((a, b) => a - b);
    return {
      name: p.name ?? '',
      protocol,
      port: p.port,
      targetPort: p.targetPort ?? p.port,
      ...(p.nodePort ? { nodePort: p.nodePort } : {}),
      endpointPorts,
    };
  });

  // ---- Nodes and the health check node port --------------------------------------------------
  const readyEndpoints = allEndpoints.filter((e) => e.ready);
  const externalLocal = spec.externalTrafficPolicy === 'Local' && (spec.type === 'LoadBalancer' || spec.type === 'NodePort');
  const healthPort = externalLocal ? spec.healthCheckNodePort : undefined;
  const nodes: InspectedNode[] = [...input.nodes].map((node): InspectedNode => {
    const nodeName = node.metadata?.name ?? '';
    const local = new Set(readyEndpoints.filter((e) => e.nodeName === nodeName).map((e) => e.addresses[0])).size;
    const internalIP = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    const zone = node.metadata?.labels?.[zoneLabel];
    const observed = input.health?.find((h) => h.node === nodeName);
    const lb = input.loadBalancerNodes?.find((n) => n.node === nodeName);
    return {
      name: nodeName,
      ...(internalIP ? { internalIP } : {}),
      ready: nodeReady(node),
      ...(zone ? { zone } : {}),
      localReadyEndpoints: local,
      ...(healthPort
        ? {
            healthCheck: {
              port: healthPort,
              expected: local > 0 ? 200 : 503,
              ...(observed ? { observed } : {}),
              ...(lb ? { loadBalancerSends: lb.receives, loadBalancerDetail: lb.detail } : {}),
            },
          }
        : {}),
    };
  }).sort(byName);

  // ---- Each node's rules against the slices ---------------------------------------------------
  const use = chainUse(service);
  const annotate = (e: RuleEndpoint): ChainEndpoint => {
    const pod = podByIp.get(e.address);
    const endpoint = endpointByIp.get(e.address);
    const podName = pod?.name ?? endpoint?.pod;
    const nodeName = pod?.node ?? endpoint?.nodeName;
    return { ...e, ...(podName ? { pod: podName } : {}), ...(nodeName ? { node: nodeName } : {}) };
  };
  const programming: NodeProgramming[] = (input.rules ?? []).map((text): NodeProgramming => {
    if (text.error) return { node: text.node, ...(text.netns ? { netns: text.netns } : {}), mode: text.mode, error: text.error, inSync: false, ports: [] };
    const zone = nodes.find((n) => n.name === text.node)?.zone;
    const portProgramming = ports.map((port): PortProgramming => {
      const query = { namespace, name, port: port.name, protocol: port.protocol };
      const rules: PortRules = text.mode === 'iptables' ? iptablesPortRules(text.nat ?? '', text.filter, query) : nftPortRules(text.nft ?? '', query);
      const expected = expectedEndpoints(endpointsForPort(input.endpointSlices, port.name, port.protocol), text.node, zone);
      const chains = (['cluster', 'local'] as const).flatMap((kind): ChainCheck[] => {
        const found = rules.chains.find((c) => c.kind === kind);
        if (!use[kind] && !found) return [];
        const actual = (found?.endpoints ?? []).map((e) => `${e.address}:${e.port}`);
        const want = use[kind] ? expected[kind] : actual;
        const missing = want.filter((k) => !actual.includes(k));
        const unexpected = actual.filter((k) => !want.includes(k));
        return [{
          kind,
          used: use[kind],
          ...(found ? { chain: found.chain } : {}),
          endpoints: (found?.endpoints ?? []).map(annotate),
          expected: want,
          missing,
          unexpected,
          inSync: missing.length === 0 && unexpected.length === 0,
        }];
      });
      return {
        port: port.name,
        protocol: port.protocol,
        ...(rules.clusterIpChain ? { clusterIpChain: rules.clusterIpChain } : {}),
        ...(rules.externalChain ? { externalChain: rules.externalChain, externalTo: rules.externalTo ?? [] } : {}),
        blocked: rules.blocked,
        chains,
      };
    });
    return {
      node: text.node,
      ...(text.netns ? { netns: text.netns } : {}),
      mode: text.mode,
      inSync: portProgramming.every((p) => p.chains.every((c) => c.inSync)),
      ports: portProgramming,
    };
  }).sort((a, b) => a.node.localeCompare(b.node, 'en', { numeric: true }));

  // ---- Findings -------------------------------------------------------------------------------
  const servingTerminating = allEndpoints.filter((e) => !e.ready && e.serving && e.terminating);
  if (spec.type !== 'ExternalName' && spec.clusterIP !== 'None' && readyEndpoints.length === 0) {
    findings.push({
      level: 'warning',
      message: servingTerminating.length > 0
        ? `no ready endpoints: kube-proxy falls back to the ${servingTerminating.length} serving, terminating endpoint(s) until they go`
        : 'no ready endpoints: kube-proxy rejects new connections to this Service',
    });
  }
  for (const node of programming) {
    if (node.error) {
      findings.push({ level: 'warning', message: `${node.node}: rules not read: ${node.error}` });
      continue;
    }
    for (const port of node.ports) {
      for (const chain of port.chains.filter((c) => !c.inSync)) {
        const what = `${node.node}: the ${chain.kind} chain of port ${port.port || port.protocol}${chain.chain ? ` (${chain.chain})` : ' (absent)'}`;
        const parts = [
          chain.missing.length ? `lacks ${chain.missing.map((k) => describeKey(k, podByIp)).join(', ')}` : '',
          chain.unexpected.length ? `still sends to ${chain.unexpected.map((k) => describeKey(k, podByIp)).join(', ')}` : '',
        ].filter(Boolean);
        findings.push({ level: 'warning', message: `${what} ${parts.join(' and ')}: sends to ${chain.endpoints.length}, the EndpointSlices call for ${chain.expected.length} — propagation not done (or kube-proxy on this node is stuck)` });
      }
    }
  }
  for (const pod of pods) {
    if (pod.ready && !pod.deletionTimestamp && !pod.inSlices && slices.length > 0) {
      findings.push({ level: 'warning', message: `pod ${pod.name} is Ready but not in the EndpointSlices yet (the EndpointSlice controller has not caught up)` });
    }
  }
  for (const e of allEndpoints) {
    if (e.pod && !pods.some((p) => p.name === e.pod)) findings.push({ level: 'note', message: `endpoint ${e.addresses.join(',')} names pod ${e.pod}, which no longer exists` });
  }
  if (healthPort) {
    for (const node of nodes) {
      const hc = node.healthCheck;
      if (hc?.observed?.status !== undefined && hc.observed.status !== hc.expected) {
        findings.push({ level: 'warning', message: `${node.name}: healthCheckNodePort ${healthPort} answered ${hc.observed.status}, expected ${hc.expected} for ${node.localReadyEndpoints} local ready endpoint(s)` });
      } else if (hc?.observed && hc.observed.status === undefined) {
        findings.push({ level: 'warning', message: `${node.name}: healthCheckNodePort ${healthPort} did not answer (${hc.observed.error ?? 'no answer'}), expected ${hc.expected}: is kube-proxy running on this node? A load balancer treats the node as failing` });
      }
    }
    const without = nodes.filter((n) => n.localReadyEndpoints === 0).map((n) => n.name);
    if (without.length > 0) findings.push({ level: 'note', message: `externalTrafficPolicy Local: ${without.join(', ')} ${without.length === 1 ? 'has' : 'have'} no ready local endpoint and drop${without.length === 1 ? 's' : ''} external traffic (a load balancer that honours healthCheckNodePort skips ${without.length === 1 ? 'it' : 'them'})` });
  }
  if (allEndpoints.some((e) => e.hints)) findings.push({ level: 'note', message: 'endpoints carry topology hints: each node’s cluster chain holds only the endpoints hinted for its zone (or node)' });
  if (spec.sessionAffinity === 'ClientIP') {
    findings.push({ level: 'note', message: `sessionAffinity ClientIP: the shares apply to a client's first connection; its later ones stick to the same endpoint for ${spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10_800}s` });
  }
  if (input.proxy.note) findings.push({ level: 'note', message: input.proxy.note });

  const lbIngress = (service.status?.loadBalancer?.ingress ?? []).map((i) => ({ ...(i.ip ? { ip: i.ip } : {}), ...(i.hostname ? { hostname: i.hostname } : {}), ...(i.ipMode ? { ipMode: i.ipMode } : {}) }));
  return {
    schemaVersion: 1,
    ...(input.lab ? { lab: input.lab } : {}),
    service: {
      namespace,
      name,
      type: spec.type ?? 'ClusterIP',
      clusterIPs: spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : []),
      externalIPs: spec.externalIPs ?? [],
      ports,
      loadBalancer: lbIngress,
      ...(spec.externalTrafficPolicy ? { externalTrafficPolicy: spec.externalTrafficPolicy } : {}),
      ...(spec.internalTrafficPolicy ? { internalTrafficPolicy: spec.internalTrafficPolicy } : {}),
      ...(spec.healthCheckNodePort ? { healthCheckNodePort: spec.healthCheckNodePort } : {}),
      sessionAffinity: spec.sessionAffinity ?? 'None',
      ...(spec.sessionAffinity === 'ClientIP' ? { sessionAffinityTimeoutSeconds: spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10_800 } : {}),
      ...(spec.selector ? { selector: spec.selector } : {}),
    },
    nodes,
    proxy: { ...input.proxy, rulesRead: programming.some((p) => !p.error), nodes: programming },
    endpointSlices: slices,
    pods,
    summary: {
      endpoints: allEndpoints.length,
      readyEndpoints: readyEndpoints.length,
      servingTerminatingEndpoints: servingTerminating.length,
      nodesOutOfSync: programming.filter((p) => !p.inSync).map((p) => p.node),
    },
    findings,
  };
}

function describeKey(key: string, podByIp: ReadonlyMap<string, PodView>): string {
  const address = key.slice(0, key.lastIndexOf(':'));
  const pod = podByIp.get(address);
  return pod ? `${key} (${pod.name})` : key;
}
