import type { V1EndpointSlice, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import { ciliumFrontends, ciliumPortRules } from './cilium.ts';
import { iptablesPortRules } from './iptables.ts';
import { ipvsPortRules, ipvsVirtualServers, parseIpvsadm } from './ipvs.ts';
import { nftPortRules } from './nftables.ts';
import type { IngressPathView } from './ingress.ts';
import type { BlockedDestination, PortRules, RuleEndpoint } from './rules.ts';

/**
 * `kth inspect service`: the traffic path of one Service, from the outside in — load balancer
 * address → NodePorts on nodes → ClusterIP:port → proxy mode and each node's rules (kube-proxy's
 * iptables or nftables rules or IPVS table, Cilium's BPF service maps) → EndpointSlices → endpoints → pods on nodes. Everything here is pure: API objects and rule text in, one model
 * out (printed as JSON or rendered as a tree), so it is tested with real captured objects and rules.
 */

export type RulesMode = 'iptables' | 'nftables' | 'ipvs' | 'cilium';

export interface NodeRulesText {
  node: string;
  /** The node's network namespace (lab). */
  netns?: string;
  mode: RulesMode;
  /** `iptables-save -t nat` */
  nat?: string;
  /** `iptables-save -t filter` (its "has no endpoints" rules). */
  filter?: string;
  /** `nft list table ip kube-proxy` */
  nft?: string;
  /** `ipvsadm -Ln` */
  ipvs?: string;
  /** cilium: `cilium-dbg bpf lb list -o json` (the BPF service map's slots) */
  bpfLb?: string;
  /** cilium: `cilium-dbg bpf lb list --frontends -o json` (each frontend's active and inactive counts) */
  bpfLbFrontends?: string;
  /** cilium: `cilium-dbg service list -o json` (the agent's table: Service names, backend states, weights) */
  ciliumServices?: string;
  /** cilium: why the agent's table could not be read (the maps were). */
  agentError?: string;
  /** cilium: how new connections pick among the active backends. @default 'random' */
  lbAlgorithm?: 'random' | 'maglev';
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
  /** The Ingresses that route to the Service, with their controllers where known (ingress.ts). */
  ingresses?: readonly IngressPathView[];
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
  /** Whether the data plane needs this chain for the Service's traffic policies. */
  used: boolean;
  /** The chain's name in the rules (Cilium: its frontends); absent when the node has no such chain. */
  chain?: string;
  /** Cilium: the frontends sharing this backend table; IPVS: the virtual servers sharing these real servers (see rules.ts RuleChain). */
  frontends?: { key: string; type: string }[];
  /** IPVS: the virtual servers' scheduler. */
  scheduler?: string;
  endpoints: ChainEndpoint[];
  /**
   * `ip:port` the EndpointSlices say this chain should send new connections to, as the data plane
   * picks them; the entries it keeps but does not pick (share 0) are not compared.
   */
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
  /** Cilium: where the agent's table and the BPF maps disagree. */
  pending?: string[];
  chains: ChainCheck[];
}

export interface NodeProgramming {
  node: string;
  netns?: string;
  mode: RulesMode;
  error?: string;
  /** Cilium: the agent's table could not be read; the maps were (backend states unknown). */
  agentError?: string;
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
  /** The Ingress layer in front of the Service: each Ingress routing to it, and its controller's replicas per node. Absent: none. */
  ingresses?: IngressPathView[];
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
 * them and one is for this node's zone (or node). Cilium picks the same way (active backends, else
 * the serving terminating ones) but ignores hints unless started with --enable-service-topology
 * (the lab does not): `hints: false`.
 */
function expectedEndpoints(endpoints: readonly PortEndpoint[], node: string, zone: string | undefined, hints = true): { cluster: string[]; local: string[] } {
  const usable = (list: readonly PortEndpoint[]) => {
    const ready = list.filter((e) => e.ready);
    return ready.length > 0 ? ready : list.filter((e) => e.serving && e.terminating);
  };
  let clusterPool: readonly PortEndpoint[] = endpoints;
  const ready = endpoints.filter((e) => e.ready);
  if (!hints) {
    // every endpoint, as without hints
  } else if (ready.length > 0 && ready.every((e) => e.nodeHints.length > 0) && ready.some((e) => e.nodeHints.includes(node))) {
    clusterPool = ready.filter((e) => e.nodeHints.includes(node));
  } else if (zone && ready.length > 0 && ready.every((e) => e.zoneHints.length > 0) && ready.some((e) => e.zoneHints.includes(zone))) {
    clusterPool = ready.filter((e) => e.zoneHints.includes(zone));
  }
  const sorted = (list: readonly PortEndpoint[]) => list.map((e) => e.key).sort();
  return { cluster: sorted(usable(clusterPool)), local: sorted(usable(endpoints.filter((e) => e.nodeName === node))) };
}

/** Which chains kube-proxy needs for a Service (UsesClusterEndpoints / UsesLocalEndpoints upstream); Cilium's follow from its frontends. */
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
    const inspected = nodes.find((n) => n.name === text.node);
    const portProgramming = ports.map((port): PortProgramming => {
      const query = { namespace, name, port: port.name, protocol: port.protocol };
      let rules: PortRules;
      let used = use;
      if (text.mode === 'cilium') {
        // Cilium's frontends are found by address, so the Service says which to expect on this node.
        const frontends = ciliumFrontends(service, port, inspected?.internalIP);
        rules = ciliumPortRules({ bpfLb: text.bpfLb ?? '', ...(text.bpfLbFrontends !== undefined ? { bpfLbFrontends: text.bpfLbFrontends } : {}), ...(text.ciliumServices !== undefined ? { services: text.ciliumServices } : {}) }, { ...query, frontends, ...(text.lbAlgorithm ? { lbAlgorithm: text.lbAlgorithm } : {}) });
        used = { cluster: frontends.some((f) => f.kind === 'cluster'), local: frontends.some((f) => f.kind === 'local') };
      } else if (text.mode === 'ipvs') {
        // Virtual servers are found by address too; node ports on further node addresses come from the table.
        const virtualServers = ipvsVirtualServers(service, port, inspected?.internalIP, parseIpvsadm(text.ipvs ?? ''));
        rules = ipvsPortRules(text.ipvs ?? '', { port: port.name, protocol: port.protocol, virtualServers });
        used = { cluster: virtualServers.some((v) => v.kind === 'cluster'), local: virtualServers.some((v) => v.kind === 'local') };
      } else {
        rules = text.mode === 'iptables' ? iptablesPortRules(text.nat ?? '', text.filter, query) : nftPortRules(text.nft ?? '', query);
      }
      const expected = expectedEndpoints(endpointsForPort(input.endpointSlices, port.name, port.protocol), text.node, inspected?.zone, text.mode !== 'cilium');
      const chains = (['cluster', 'local'] as const).flatMap((kind): ChainCheck[] => {
        const found = rules.chains.filter((c) => c.kind === kind);
        if (!used[kind] && found.length === 0) return [];
        // kube-proxy has one chain of a kind per port; Cilium one per distinct backend table of its frontends.
        return (found.length > 0 ? found : [undefined]).map((chain): ChainCheck => {
          const actual = (chain?.endpoints ?? []).filter((e) => e.share > 0).map((e) => `${e.address}:${e.port}`);
          const want = used[kind] ? expected[kind] : actual;
          const missing = want.filter((k) => !actual.includes(k));
          const unexpected = actual.filter((k) => !want.includes(k));
          return {
            kind,
            used: used[kind],
            ...(chain ? { chain: chain.chain } : {}),
            ...(chain?.frontends ? { frontends: chain.frontends } : {}),
            ...(chain?.scheduler ? { scheduler: chain.scheduler } : {}),
            endpoints: (chain?.endpoints ?? []).map(annotate),
            expected: want,
            missing,
            unexpected,
            inSync: missing.length === 0 && unexpected.length === 0 && !chain?.absent,
          };
        });
      });
      return {
        port: port.name,
        protocol: port.protocol,
        ...(rules.clusterIpChain ? { clusterIpChain: rules.clusterIpChain } : {}),
        ...(rules.externalChain ? { externalChain: rules.externalChain, externalTo: rules.externalTo ?? [] } : {}),
        blocked: rules.blocked,
        ...(rules.pending ? { pending: rules.pending } : {}),
        chains,
      };
    });
    return {
      node: text.node,
      ...(text.netns ? { netns: text.netns } : {}),
      mode: text.mode,
      ...(text.agentError ? { agentError: text.agentError } : {}),
      inSync: portProgramming.every((p) => p.chains.every((c) => c.inSync)),
      ports: portProgramming,
    };
  }).sort((a, b) => a.node.localeCompare(b.node, 'en', { numeric: true }));

  // ---- Findings -------------------------------------------------------------------------------
  const cilium = input.proxy.mode === 'cilium';
  const proxyName = cilium ? 'Cilium' : 'kube-proxy';
  const servingTerminating = allEndpoints.filter((e) => !e.ready && e.serving && e.terminating);
  if (spec.type !== 'ExternalName' && spec.clusterIP !== 'None' && readyEndpoints.length === 0) {
    findings.push({
      level: 'warning',
      message: servingTerminating.length > 0
        ? `no ready endpoints: ${proxyName} falls back to the ${servingTerminating.length} serving, terminating endpoint(s) until they go`
        : cilium
          ? 'no ready endpoints: Cilium drops new connections to this Service (pods and outside clients time out; the nodes’ own sockets are refused)'
          : 'no ready endpoints: kube-proxy rejects new connections to this Service',
    });
  }
  for (const node of programming) {
    if (node.error) {
      findings.push({ level: 'warning', message: `${node.node}: rules not read: ${node.error}` });
      continue;
    }
    const agent = node.mode === 'cilium' ? 'cilium-agent' : 'kube-proxy';
    if (node.agentError) findings.push({ level: 'warning', message: `${node.node}: ${node.agentError}; its BPF maps were read directly (what the datapath does now), backend states unknown` });
    for (const port of node.ports) {
      for (const chain of port.chains.filter((c) => !c.inSync)) {
        const what = node.mode === 'cilium'
          ? `${node.node}: the ${chain.kind} frontends of port ${port.port || port.protocol} (${chain.chain ?? 'none in the BPF maps'})`
          : node.mode === 'ipvs'
            ? `${node.node}: the ${chain.kind} virtual servers of port ${port.port || port.protocol} (${chain.chain ?? 'none in the IPVS table'})`
            : `${node.node}: the ${chain.kind} chain of port ${port.port || port.protocol}${chain.chain ? ` (${chain.chain})` : ' (absent)'}`;
        // "the … frontends" (Cilium) and "the … virtual servers" (IPVS) take a plural verb, "the … chain" a singular one.
        const verb = (singular: string, plural: string) => (node.mode === 'cilium' || node.mode === 'ipvs' ? plural : singular);
        const parts = [
          chain.missing.length ? `${verb('lacks', 'lack')} ${chain.missing.map((k) => describeKey(k, podByIp)).join(', ')}` : '',
          chain.unexpected.length ? `still ${verb('sends', 'send')} to ${chain.unexpected.map((k) => describeKey(k, podByIp)).join(', ')}` : '',
        ].filter(Boolean);
        const sending = chain.endpoints.filter((e) => e.share > 0).length;
        if (parts.length === 0) {
          // IPVS: the virtual servers are missing, with nothing to send to either way.
          findings.push({ level: 'warning', message: `${what}: not in the IPVS table — ${agent} on this node has not synced this Service (or is stuck)` });
          continue;
        }
        findings.push({ level: 'warning', message: `${what} ${parts.join(' and ')}: ${verb('sends', 'send')} to ${sending}, the EndpointSlices call for ${chain.expected.length} — propagation not done (or ${agent} on this node is stuck)` });
      }
      if (node.mode === 'ipvs') {
        // IPVS graceful termination: what left the slices stays at weight 0 until its connections end.
        const draining = [...new Map(port.chains.flatMap((c) => c.endpoints.filter((e) => e.state === 'draining')).map((e) => [`${e.address}:${e.port}`, e])).values()];
        if (draining.length > 0) {
          const list = draining.map((e) => `${e.address}:${e.port}${e.pod ? ` (${e.pod})` : ''}: ${e.activeConnections ?? 0} active, ${e.inactiveConnections ?? 0} inactive`).join('; ');
          findings.push({ level: 'note', message: `${node.node}: port ${port.port || port.protocol}: ${draining.length} real server(s) draining at weight 0 (IPVS graceful termination: no new connections, open ones finish; kube-proxy deletes them once none are left) — ${list}` });
        }
      }
      for (const pending of port.pending ?? []) findings.push({ level: 'warning', message: `${node.node}: port ${port.port || port.protocol}: ${pending} — cilium-agent has not written its table to the datapath yet` });
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
        findings.push({ level: 'warning', message: `${node.name}: healthCheckNodePort ${healthPort} did not answer (${hc.observed.error ?? 'no answer'}), expected ${hc.expected}: is ${cilium ? 'cilium-agent' : 'kube-proxy'} running on this node? A load balancer treats the node as failing` });
      }
    }
    const without = nodes.filter((n) => n.localReadyEndpoints === 0).map((n) => n.name);
    if (without.length > 0) findings.push({ level: 'note', message: `externalTrafficPolicy Local: ${without.join(', ')} ${without.length === 1 ? 'has' : 'have'} no ready local endpoint and drop${without.length === 1 ? 's' : ''} external traffic (a load balancer that honours healthCheckNodePort skips ${without.length === 1 ? 'it' : 'them'})` });
  }
  if (allEndpoints.some((e) => e.hints)) {
    findings.push({
      level: 'note',
      message: cilium
        ? 'endpoints carry topology hints: Cilium ignores them unless started with --enable-service-topology (the lab does not), so every node sends to every endpoint'
        : 'endpoints carry topology hints: each node’s cluster chain holds only the endpoints hinted for its zone (or node)',
    });
  }
  if (spec.sessionAffinity === 'ClientIP') {
    findings.push({ level: 'note', message: `sessionAffinity ClientIP: the shares apply to a client's first connection; its later ones stick to the same endpoint for ${spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10_800}s` });
  }
  if (input.proxy.note) findings.push({ level: 'note', message: input.proxy.note });

  const lbIngress = (service.status?.loadBalancer?.ingress ?? []).map((i) => ({ ...(i.ip ? { ip: i.ip } : {}), ...(i.hostname ? { hostname: i.hostname } : {}), ...(i.ipMode ? { ipMode: i.ipMode } : {}) }));
  return {
    schemaVersion: 1,
    ...(input.lab ? { lab: input.lab } : {}),
    ...(input.ingresses?.length ? { ingresses: [...input.ingresses] } : {}),
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
