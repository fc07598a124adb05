import type { V1Service } from '@kubernetes/client-node';
import type { PortRules, RuleChain, RuleEndpoint } from './rules.ts';

/**
 * kube-proxy's ipvs mode, read back from one node with `ipvsadm -Ln`. Pure: text in, data out.
 *
 * IPVS keeps no Service names either: kube-proxy makes one virtual server per address a Service
 * port answers on — each cluster IP, external IP and load balancer address (bound to the node's
 * `kube-ipvs0` dummy device), and the node port on each node address it serves node ports on — and
 * gives it the Service's endpoints as real servers (the cluster-wide set, or the node's own under
 * a traffic policy Local; pkg/proxy/ipvs/proxier.go). So, as for Cilium, a Service port's virtual
 * servers are known from the Service before the table is read, and a missing one is reported.
 *
 * Graceful termination: an endpoint leaving the set is not deleted at once; kube-proxy sets its
 * weight to 0 (no new connections) and deletes it once its connections are gone. A weight-0 real
 * server is therefore "draining", not stale. New connections: rr takes the weight>0 servers in
 * turn and wrr in proportion to weight (kube-proxy gives every endpoint weight 1), so a server's
 * share is weight/sum; the lc family picks by open connections and the hashing schedulers (sh, dh,
 * mh, lblc, lblcr) by address, so there weight/sum is only the long-run expectation.
 */

export interface IpvsRealServer {
  address: string;
  port: number;
  /** Masq (NAT, what kube-proxy uses), Route, Tunnel, Local. */
  forward: string;
  weight: number;
  activeConnections: number;
  inactiveConnections: number;
}

export interface IpvsVirtualServer {
  /** `198.18.18.147:80/TCP` (`FWM 5` for a firewall-mark service). */
  key: string;
  protocol: string;
  address: string;
  port: number;
  scheduler: string;
  /** What follows the scheduler, as printed: `persistent 10800`, `ops`, `sh-port` … */
  flags: string[];
  /** sessionAffinity ClientIP: connections from one client stick to one real server this long. */
  persistentSeconds?: number;
  realServers: IpvsRealServer[];
}

const bracket = (ip: string) => (ip.includes(':') ? `[${ip}]` : ip);
const unbracket = (host: string) => host.replace(/^\[|\]$/g, '');
const keyOf = (address: string, port: number, protocol: string) => `${bracket(address)}:${port}/${protocol}`;

/** `198.18.0.11:32127` or `[fd00::1]:80` → its parts. */
function hostPort(text: string): { address: string; port: number } | undefined {
  const m = /^(\[[^\]]+\]|[^\s:]+):(\d+)$/.exec(text);
  return m ? { address: unbracket(m[1] as string), port: Number(m[2]) } : undefined;
}

/** Parses `ipvsadm -Ln` (the header lines, then each virtual server followed by its `  -> ` real servers). */
export function parseIpvsadm(text: string): IpvsVirtualServer[] {
  const services: IpvsVirtualServer[] = [];
  let current: IpvsVirtualServer | undefined;
  for (const line of text.split('\n')) {
    const real = /^\s+->\s+(\S+)\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(line);
    if (real) {
      const at = hostPort(real[1] as string);
      // The column header `  -> RemoteAddress:Port Forward …` has no port number and is skipped here.
      if (!at || !current) continue;
      current.realServers.push({ ...at, forward: real[2] as string, weight: Number(real[3]), activeConnections: Number(real[4]), inactiveConnections: Number(real[5]) });
      continue;
    }
    const service = /^(TCP|UDP|SCTP|FWM)\s+(\S+)\s+(\S+)(.*)$/.exec(line);
    if (!service) continue;
    const [, protocol, where, scheduler, rest] = service as unknown as [string, string, string, string, string];
    const at = protocol === 'FWM' ? { address: '', port: 0 } : hostPort(where);
    if (!at) continue;
    const flags = rest.trim() ? rest.trim().split(/\s+/) : [];
    const persistent = flags.indexOf('persistent');
    current = {
      key: protocol === 'FWM' ? `FWM ${where}` : keyOf(at.address, at.port, protocol),
      protocol,
      ...at,
      scheduler,
      flags,
      ...(persistent >= 0 && flags[persistent + 1] ? { persistentSeconds: Number(flags[persistent + 1]) } : {}),
      realServers: [],
    };
    services.push(current);
  }
  return services;
}

/** One virtual server a Service port should have on a node, and which endpoints it should hold. */
export interface ExpectedVirtualServer {
  key: string;
  type: 'ClusterIP' | 'ExternalIPs' | 'LoadBalancer' | 'NodePort';
  kind: 'cluster' | 'local';
}

/**
 * The virtual servers kube-proxy makes for one Service port on a node with address `nodeIP`: every
 * cluster IP (internalTrafficPolicy), every external IP and load balancer address, and the node port
 * on the node's address (externalTrafficPolicy). Node ports on the node's other addresses are taken
 * from the table (parsed), as kube-proxy picks those from the node's interfaces.
 */
export function ipvsVirtualServers(service: V1Service, port: { port: number; protocol: string; nodePort?: number }, nodeIP: string | undefined, parsed: readonly IpvsVirtualServer[] = []): ExpectedVirtualServer[] {
  const spec = service.spec ?? {};
  if (spec.type === 'ExternalName' || spec.clusterIP === 'None') return [];
  const internal: ExpectedVirtualServer['kind'] = spec.internalTrafficPolicy === 'Local' ? 'local' : 'cluster';
  const external: ExpectedVirtualServer['kind'] = spec.externalTrafficPolicy === 'Local' ? 'local' : 'cluster';
  const out: ExpectedVirtualServer[] = [
    ...(spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : [])).map((ip) => ({ key: keyOf(ip, port.port, port.protocol), type: 'ClusterIP' as const, kind: internal })),
    ...(spec.externalIPs ?? []).map((ip) => ({ key: keyOf(ip, port.port, port.protocol), type: 'ExternalIPs' as const, kind: external })),
    ...(spec.type === 'LoadBalancer' ? (service.status?.loadBalancer?.ingress ?? []).filter((i) => i.ip).map((i) => ({ key: keyOf(i.ip as string, port.port, port.protocol), type: 'LoadBalancer' as const, kind: external })) : []),
  ];
  if ((spec.type === 'NodePort' || spec.type === 'LoadBalancer') && port.nodePort) {
    const taken = new Set(out.map((v) => v.key));
    const onNode = parsed.filter((v) => v.port === port.nodePort && v.protocol === port.protocol && !taken.has(v.key)).map((v) => v.key);
    const expected = nodeIP ? [keyOf(nodeIP, port.nodePort, port.protocol)] : [];
    for (const key of [...new Set([...expected, ...onNode])]) out.push({ key, type: 'NodePort', kind: external });
  }
  return out;
}

/** How a scheduler spreads new connections, in words, and whether weight/sum is each server's share of them. */
export function schedulerSpread(scheduler: string): { exact: boolean; how: string } {
  switch (scheduler) {
    case 'rr':
      return { exact: true, how: 'in turn' };
    case 'wrr':
      return { exact: true, how: 'in turn, by weight' };
    case 'lc':
    case 'wlc':
    case 'sed':
    case 'nq':
      return { exact: false, how: 'by open connections (shares follow how long connections live)' };
    default:
      return { exact: false, how: 'by a hash of the client or destination address (shares follow the clients)' };
  }
}

/** Each real server's share of new connections: weight/sum over the servers with weight > 0 (0 for draining ones). */
export function ipvsShares(realServers: readonly { weight: number }[]): number[] {
  const total = realServers.reduce((sum, r) => sum + Math.max(0, r.weight), 0);
  return realServers.map((r) => (total > 0 && r.weight > 0 ? r.weight / total : 0));
}

export interface IpvsPortQuery {
  /** The Service port's name ('' when unnamed). */
  port: string;
  protocol: string;
  virtualServers: readonly ExpectedVirtualServer[];
}

function endpointsOf(vs: IpvsVirtualServer): RuleEndpoint[] {
  const shares = ipvsShares(vs.realServers);
  return vs.realServers.map((r, i): RuleEndpoint => ({
    address: r.address,
    port: r.port,
    share: shares[i] ?? 0,
    weight: r.weight,
    ...(r.weight === 0 ? { state: 'draining' } : {}),
    forward: r.forward,
    activeConnections: r.activeConnections,
    inactiveConnections: r.inactiveConnections,
  }));
}

const vsLabel = (vs: IpvsVirtualServer | undefined, key: string) => (vs ? `${vs.protocol} ${key.replace(/\/\w+$/, '')} ${[vs.scheduler, ...vs.flags].join(' ')}` : `${key} (not in the IPVS table)`);

/** What one node's IPVS table does with one Service port: its virtual servers, grouped by identical real-server tables. */
export function ipvsPortRules(ipvsadm: string, query: IpvsPortQuery): PortRules {
  const table = new Map(parseIpvsadm(ipvsadm).map((vs) => [vs.key, vs]));
  const groups = new Map<string, { kind: RuleChain['kind']; members: { expected: ExpectedVirtualServer; vs?: IpvsVirtualServer }[] }>();
  for (const expected of query.virtualServers) {
    const vs = table.get(expected.key);
    const signature = vs ? `${vs.scheduler} ${vs.flags.join(' ')}|${vs.realServers.map((r) => `${r.address}:${r.port}=${r.weight}`).join(',')}` : `absent ${expected.key}`;
    const id = `${expected.kind}|${signature}`;
    const group = groups.get(id) ?? { kind: expected.kind, members: [] };
    group.members.push({ expected, ...(vs ? { vs } : {}) });
    groups.set(id, group);
  }
  const chains: RuleChain[] = [...groups.values()].map(({ kind, members }) => {
    const vs = members[0]?.vs;
    return {
      kind,
      chain: members.map((m) => vsLabel(m.vs, m.expected.key)).join(', '),
      endpoints: vs ? endpointsOf(vs) : [],
      frontends: members.map((m) => ({ key: m.expected.key, type: m.expected.type })),
      ...(vs ? { scheduler: vs.scheduler } : { absent: true }),
    };
  });
  return { port: query.port, protocol: query.protocol, chains, blocked: [] };
}
