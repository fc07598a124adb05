import type { V1Service } from '@kubernetes/client-node';
import type { BlockedDestination, PortRules, RuleChain, RuleEndpoint } from './rules.ts';

/**
 * Cilium's kube-proxy replacement, read back from one node. Pure: command output in, data out.
 *
 * Cilium keeps no per-Service names in the datapath. Its BPF service map is keyed by frontend
 * (address, port, protocol, scope) and slot: slot 0, the "master" entry, holds the frontend's flags
 * (type, traffic policy, two-scopes…) and two counts, `count` active backends and `qcount` inactive
 * ones; slots 1…count are the backends new connections are spread over, slots count+1…count+qcount
 * the terminating and quarantined backends it keeps but picks for nothing new
 * (pkg/loadbalancer/reconciler/bpf_reconciler.go; with no active backend, the serving terminating
 * ones become the `count`, as kube-proxy's fallback). Three read-outs, all from the node's sandbox:
 *
 *   `cilium-dbg bpf lb list -o json`              the slots, from the pinned maps (no agent needed)
 *       { "198.18.32.1:80/TCP/i (0)": ["0.0.0.0:0 (8) (0) [LoadBalancer, Local, two-scopes] "],
 *         "198.18.32.1:80/TCP/i (1)": ["198.18.128.78:8080/TCP (8) (1)"], … }
 *   `cilium-dbg bpf lb list --frontends -o json`  each slot's raw value: `backendID count[qcount] (revNAT) [flags]`
 *   `cilium-dbg service list -o json`             the agent's table (REST API): which Service a
 *       frontend belongs to, each backend's state (active, terminating, quarantined, maintenance),
 *       weight, node and zone. Its `status.realized` is the same object as `spec` in v1.20, so it
 *       says nothing about the maps; the maps are read for that.
 *
 * The BPF maps are the truth for traffic (they are what the datapath reads, and they can be read
 * while the agent is stuck); the agent's table names backend states and shows what the agent has
 * yet to write. NodePort frontends exist in the maps both on 0.0.0.0 (socket LB) and on each node
 * address; the agent lists only the 0.0.0.0 one. A frontend is found by the address the Service
 * gives it (cluster IP, load balancer address, external IP, node port), so a Service port's
 * frontends are known before the maps are read and a missing one is reported, not overlooked.
 */

export interface BpfBackendSlot {
  slot: number;
  address: string;
  port: number;
  protocol: string;
}

export interface BpfFrontend {
  /** `198.18.32.1:80/TCP/i`, as cilium-dbg prints it (without the slot). */
  key: string;
  address: string;
  port: number;
  protocol: string;
  /** The in-cluster scope of a two-scope frontend (`/i`). */
  internal: boolean;
  /** The master entry's flags: `['LoadBalancer', 'Local', 'two-scopes']`. */
  flags: string[];
  revNat?: number;
  /** Active backends (slots 1…count); unknown unless `--frontends` was read. */
  count?: number;
  /** Inactive backends kept after them (terminating, quarantined). */
  qcount?: number;
  /** Backend slots in slot order. */
  slots: BpfBackendSlot[];
}

/** `198.18.0.11:32127/TCP/i (3)` or `[fd00::1]:80/TCP (0)` → its parts. */
function parseMapKey(text: string): { key: string; address: string; port: number; protocol: string; internal: boolean; slot: number } | undefined {
  const m = /^(\[[^\]]+\]|[^\s:]+):(\d+)\/(\w+)(\/i)? \((\d+)\)$/.exec(text.trim());
  if (!m) return undefined;
  const address = (m[1] as string).replace(/^\[|\]$/g, '');
  return { key: `${m[1]}:${m[2]}/${m[3]}${m[4] ?? ''}`, address, port: Number(m[2]), protocol: m[3] as string, internal: Boolean(m[4]), slot: Number(m[5]) };
}

/** JSON object of `key (slot)` → [entry] from `cilium-dbg bpf lb list … -o json` (null when the maps are empty). */
function parseLbJson(json: string, what: string): [string, string][] {
  const data = JSON.parse(json || 'null') as Record<string, string[]> | null;
  if (data !== null && (typeof data !== 'object' || Array.isArray(data))) throw new Error(`${what}: expected a JSON object`);
  return Object.entries(data ?? {}).flatMap(([key, values]) => (values ?? []).map((v) => [key, v] as [string, string]));
}

/**
 * The BPF service map as frontends with their slots, from `bpf lb list -o json` and, when given,
 * the master entries' counts from `bpf lb list --frontends -o json`.
 */
export function parseBpfLb(lbJson: string, frontendsJson?: string): Map<string, BpfFrontend> {
  const frontends = new Map<string, BpfFrontend>();
  const frontendOf = (k: NonNullable<ReturnType<typeof parseMapKey>>) => {
    let fe = frontends.get(k.key);
    if (!fe) {
      fe = { key: k.key, address: k.address, port: k.port, protocol: k.protocol, internal: k.internal, flags: [], slots: [] };
      frontends.set(k.key, fe);
    }
    return fe;
  };
  for (const [rawKey, value] of parseLbJson(lbJson, 'cilium-dbg bpf lb list')) {
    const k = parseMapKey(rawKey);
    if (!k) continue;
    const fe = frontendOf(k);
    if (k.slot === 0) {
      // `0.0.0.0:0 (8) (0) [LoadBalancer, Local, two-scopes] `
      const m = /^\S+ \((\d+)\) \(0\) \[([^\]]*)\]/.exec(value.trim());
      if (m) {
        fe.revNat = Number(m[1]);
        fe.flags = (m[2] as string).split(',').map((f) => f.trim()).filter(Boolean);
      }
      continue;
    }
    // `198.18.128.78:8080/TCP (8) (1)`; `backend 7 not found` when the backend map lacks the slot's backend.
    const m = /^(\[[^\]]+\]|[^\s:]+):(\d+)\/(\w+) \((\d+)\) \((\d+)\)$/.exec(value.trim());
    if (m) fe.slots.push({ slot: k.slot, address: (m[1] as string).replace(/^\[|\]$/g, ''), port: Number(m[2]), protocol: m[3] as string });
  }
  if (frontendsJson !== undefined) {
    for (const [rawKey, value] of parseLbJson(frontendsJson, 'cilium-dbg bpf lb list --frontends')) {
      const k = parseMapKey(rawKey);
      if (!k || k.slot !== 0) continue;
      // `0 3[0] (11) [0x2 0x0]`: backend ID (0 on the master), count[qcount], revNAT, flags.
      const m = /^\d+ (\d+)\[(\d+)\] \((\d+)\)/.exec(value.trim());
      if (!m) continue;
      const fe = frontendOf(k);
      fe.count = Number(m[1]);
      fe.qcount = Number(m[2]);
      fe.revNat ??= Number(m[3]);
    }
  }
  for (const fe of frontends.values()) fe.slots.sort((a, b) => a.slot - b.slot);
  return frontends;
}

export interface AgentBackend {
  address: string;
  port: number;
  protocol: string;
  state: string;
  weight?: number;
  nodeName?: string;
  zone?: string;
}

export interface AgentFrontend {
  /** The BPF map key it is written under: `198.18.32.1:80/TCP/i` (`/i`: scope internal). */
  key: string;
  id: number;
  namespace: string;
  name: string;
  /** ClusterIP, NodePort, LoadBalancer, ExternalIPs, LocalRedirect… */
  type: string;
  scope: 'external' | 'internal';
  extTrafficPolicy?: string;
  intTrafficPolicy?: string;
  backends: AgentBackend[];
}

interface ServiceModel {
  spec?: {
    id?: number;
    'frontend-address'?: { ip?: string; port?: number; protocol?: string; scope?: string };
    'backend-addresses'?: { ip?: string; port?: number; protocol?: string; state?: string; weight?: number; nodeName?: string; zone?: string }[] | null;
    flags?: { type?: string; name?: string; namespace?: string; extTrafficPolicy?: string; intTrafficPolicy?: string };
  };
}

/** The agent's service table, from `cilium-dbg service list -o json`. */
export function parseCiliumServiceList(json: string): AgentFrontend[] {
  const data = JSON.parse(json || '[]') as ServiceModel[] | null;
  if (data !== null && !Array.isArray(data)) throw new Error('cilium-dbg service list: expected a JSON array');
  return (data ?? []).flatMap((entry): AgentFrontend[] => {
    const spec = entry.spec;
    const fe = spec?.['frontend-address'];
    if (!spec || !fe?.ip || fe.port === undefined) return [];
    const scope = fe.scope === 'internal' ? 'internal' : 'external';
    const address = fe.ip.includes(':') ? `[${fe.ip}]` : fe.ip;
    const protocol = fe.protocol ?? 'ANY';
    return [{
      key: `${address}:${fe.port}/${protocol}${scope === 'internal' ? '/i' : ''}`,
      id: spec.id ?? 0,
      namespace: spec.flags?.namespace ?? '',
      name: spec.flags?.name ?? '',
      type: spec.flags?.type ?? '',
      scope,
      ...(spec.flags?.extTrafficPolicy ? { extTrafficPolicy: spec.flags.extTrafficPolicy } : {}),
      ...(spec.flags?.intTrafficPolicy ? { intTrafficPolicy: spec.flags.intTrafficPolicy } : {}),
      backends: (spec['backend-addresses'] ?? []).filter((b) => b.ip).map((b) => ({
        address: b.ip as string,
        port: b.port ?? 0,
        protocol: b.protocol ?? protocol,
        state: b.state ?? 'active',
        ...(b.weight !== undefined ? { weight: b.weight } : {}),
        ...(b.nodeName ? { nodeName: b.nodeName } : {}),
        ...(b.zone ? { zone: b.zone } : {}),
      })),
    }];
  });
}

/** One frontend a Service port should have on a node, and which endpoints it should send to. */
export interface ExpectedFrontend {
  key: string;
  type: 'ClusterIP' | 'ExternalIPs' | 'LoadBalancer' | 'NodePort';
  kind: 'cluster' | 'local';
}

/**
 * The frontends Cilium makes for one Service port on a node with address `nodeIP`: every cluster
 * IP; every external IP, load balancer address and the node port (on 0.0.0.0 and on the node's
 * address). A frontend reached from outside follows externalTrafficPolicy; the cluster IP follows
 * internalTrafficPolicy; when the two policies differ an outside frontend gets a second, in-cluster
 * scope (`/i`) that follows internalTrafficPolicy (Cilium's "two-scopes").
 */
export function ciliumFrontends(service: V1Service, port: { port: number; protocol: string; nodePort?: number }, nodeIP: string | undefined): ExpectedFrontend[] {
  const spec = service.spec ?? {};
  if (spec.type === 'ExternalName' || spec.clusterIP === 'None') return [];
  const bracket = (ip: string) => (ip.includes(':') ? `[${ip}]` : ip);
  const key = (ip: string, p: number) => `${bracket(ip)}:${p}/${port.protocol}`;
  const internalLocal = spec.internalTrafficPolicy === 'Local';
  const externalLocal = spec.externalTrafficPolicy === 'Local';
  const out: ExpectedFrontend[] = (spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : []))
    .map((ip) => ({ key: key(ip, port.port), type: 'ClusterIP' as const, kind: internalLocal ? 'local' as const : 'cluster' as const }));
  const outside: { key: string; type: ExpectedFrontend['type'] }[] = [
    ...(spec.externalIPs ?? []).map((ip) => ({ key: key(ip, port.port), type: 'ExternalIPs' as const })),
    ...(spec.type === 'LoadBalancer' ? (service.status?.loadBalancer?.ingress ?? []).filter((i) => i.ip).map((i) => ({ key: key(i.ip as string, port.port), type: 'LoadBalancer' as const })) : []),
    ...((spec.type === 'NodePort' || spec.type === 'LoadBalancer') && port.nodePort
      ? ['0.0.0.0', ...(nodeIP ? [nodeIP] : [])].map((ip) => ({ key: key(ip, port.nodePort as number), type: 'NodePort' as const }))
      : []),
  ];
  for (const fe of outside) {
    out.push({ ...fe, kind: externalLocal ? 'local' : 'cluster' });
    if (externalLocal !== internalLocal) out.push({ key: `${fe.key}/i`, type: fe.type, kind: internalLocal ? 'local' : 'cluster' });
  }
  return out;
}

export interface CiliumNodeText {
  /** `cilium-dbg bpf lb list -o json` */
  bpfLb: string;
  /** `cilium-dbg bpf lb list --frontends -o json` */
  bpfLbFrontends?: string;
  /** `cilium-dbg service list -o json`; absent when the agent did not answer. */
  services?: string;
}

export interface CiliumPortQuery {
  namespace: string;
  name: string;
  /** The Service port's name ('' when unnamed). */
  port: string;
  protocol: string;
  frontends: readonly ExpectedFrontend[];
  /** random: new connections spread evenly over the active slots; maglev: by weight. @default 'random' */
  lbAlgorithm?: 'random' | 'maglev';
}

interface FrontendView {
  expected: ExpectedFrontend;
  bpf?: BpfFrontend;
  agent?: AgentFrontend;
  endpoints: RuleEndpoint[];
}

/** What one node's Cilium does with one service port: its frontends, grouped by identical backend tables. */
export function ciliumPortRules(text: CiliumNodeText, query: CiliumPortQuery): PortRules {
  const maps = parseBpfLb(text.bpfLb, text.bpfLbFrontends);
  const agent = text.services === undefined ? undefined : new Map(parseCiliumServiceList(text.services).map((fe) => [fe.key, fe]));
  const views = query.frontends.map((expected): FrontendView => {
    const bpf = maps.get(expected.key);
    // The agent lists a node port once, on 0.0.0.0; the maps repeat it on every node address.
    const agentFe = agent?.get(expected.key) ?? (expected.type === 'NodePort' ? agent?.get(expected.key.replace(/^[^/]+:(\d+\/)/, '0.0.0.0:$1')) : undefined);
    return { expected, ...(bpf ? { bpf } : {}), ...(agentFe ? { agent: agentFe } : {}), endpoints: bpf ? endpointsOf(bpf, agentFe, query.lbAlgorithm ?? 'random') : [] };
  });

  // Frontends of the same kind with the same backend table are one "chain"; a missing one is its own.
  const groups = new Map<string, { kind: RuleChain['kind']; views: FrontendView[] }>();
  for (const view of views) {
    const signature = view.bpf ? view.endpoints.map((e) => `${e.address}:${e.port}=${e.share.toFixed(6)}/${e.state ?? ''}`).join(',') : 'absent';
    const id = `${view.expected.kind}|${signature}`;
    const group = groups.get(id) ?? { kind: view.expected.kind, views: [] };
    group.views.push(view);
    groups.set(id, group);
  }
  const chains: RuleChain[] = [...groups.values()].map(({ kind, views: members }) => {
    const absent = !members[0]?.bpf;
    return {
      kind,
      chain: `${members.map((v) => v.expected.key).join(', ')}${absent ? ' (not in the BPF maps)' : ''}`,
      endpoints: members[0]?.endpoints ?? [],
      frontends: members.map((v) => ({ key: v.expected.key, type: v.expected.type })),
    };
  });

  const blocked: BlockedDestination[] = [];
  for (const view of views) {
    if (!view.bpf || view.endpoints.some((e) => e.share > 0)) continue;
    const { key, type, kind } = view.expected;
    const scope = key.endsWith('/i') ? ' from inside the cluster' : '';
    const destination = type === 'NodePort'
      ? `node port ${/:(\d+)\//.exec(key)?.[1]}/${query.protocol.toLowerCase()}${scope}`
      : `${key.replace(/\/\w+(\/i)?$/, '')}/${query.protocol.toLowerCase()}${scope}`;
    // What a client sees, measured on a lab: a connection from a pod or from outside to a frontend
    // without backends times out, for Local and Cluster policies alike (the ICMP port unreachable of
    // --service-no-backend-response=reject reaches no one); only the node's own sockets, served by
    // socket LB, are refused at connect().
    if (!blocked.some((b) => b.destination === destination)) blocked.push({ destination, verdict: 'drop', reason: kind === 'local' ? 'no local endpoints' : 'no endpoints' });
  }

  const pending = views.flatMap((view): string[] => {
    if (!agent) return [];
    const { key } = view.expected;
    // A frontend the agent does not know either: the comparison with the slices reports it.
    if (!view.agent) return [];
    const want = view.agent.backends.filter((b) => b.state !== 'maintenance').map((b) => `${b.address}:${b.port}`).sort();
    const backends = (n: number) => `${n} backend${n === 1 ? '' : 's'}`;
    if (!view.bpf) return [`${key}: in the agent's table (${backends(want.length)}) but not in the BPF maps`];
    const written = view.bpf.slots.map((s) => `${s.address}:${s.port}`).sort();
    const lacks = want.filter((k) => !written.includes(k));
    const extra = written.filter((k) => !want.includes(k));
    const active = view.agent.backends.filter((b) => b.state === 'active').length;
    const parts = [
      lacks.length ? `lack ${lacks.join(', ')}` : '',
      extra.length ? `still hold ${extra.join(', ')}` : '',
      view.bpf.count !== undefined && !lacks.length && !extra.length && active > 0 && view.bpf.count !== active ? `pick from ${view.bpf.count} active slots, the agent has ${active} active backends` : '',
    ].filter(Boolean);
    return parts.length ? [`${key}: the BPF maps ${parts.join(' and ')} (the agent's table: ${backends(want.length)})`] : [];
  });

  return {
    port: query.port,
    protocol: query.protocol,
    chains,
    blocked,
    ...(pending.length ? { pending } : {}),
  };
}

/**
 * A frontend's backends in slot order. Slots 1…count take new connections (evenly under the random
 * algorithm, by weight under Maglev); the slots after them are kept but picked for nothing new.
 * Without the counts (`--frontends` not read) the agent's backend states decide which are active.
 */
function endpointsOf(fe: BpfFrontend, agentFe: AgentFrontend | undefined, algorithm: 'random' | 'maglev'): RuleEndpoint[] {
  const agentBackend = (s: BpfBackendSlot) => agentFe?.backends.find((b) => b.address === s.address && b.port === s.port);
  let activeSlots: number;
  if (fe.count !== undefined) {
    activeSlots = Math.min(fe.count, fe.slots.length);
  } else {
    const states = fe.slots.map((s) => agentBackend(s)?.state);
    const active = states.filter((s) => s === 'active').length;
    activeSlots = agentFe ? (active > 0 ? active : states.filter((s) => s === 'terminating').length) : fe.slots.length;
  }
  const picked = fe.slots.slice(0, activeSlots);
  const weightOf = (s: BpfBackendSlot) => agentBackend(s)?.weight ?? 100;
  const totalWeight = picked.reduce((sum, s) => sum + weightOf(s), 0);
  return fe.slots.map((s, i): RuleEndpoint => {
    const backend = agentBackend(s);
    const share = i >= activeSlots ? 0 : algorithm === 'maglev' && totalWeight > 0 ? weightOf(s) / totalWeight : 1 / activeSlots;
    return {
      address: s.address,
      port: s.port,
      share,
      via: `slot ${s.slot}`,
      ...(backend ? { state: backend.state } : i >= activeSlots ? { state: 'inactive' } : {}),
      ...(backend?.weight !== undefined ? { weight: backend.weight } : {}),
    };
  });
}
