import { ipToInt } from '../addressing.ts';
import type { LbProtocol } from './model.ts';

/**
 * The load balancer's dataplane as one nftables table, rendered from what the controller wants
 * and loaded with `nft -f -` as a single transaction (declare, delete, define), so a change never
 * leaves a half-programmed table.
 *
 * Like a cloud NLB, it only rewrites the destination (LB address:port → node:NodePort) and never
 * the source: nodes see the external client's own address, and kube-proxy decides whether to SNAT
 * (externalTrafficPolicy Cluster) or not (Local). A NAT chain sees only a connection's first
 * packet, so the random pick applies to NEW connections; conntrack keeps every established
 * connection on the node it first went to, also after the table is replaced.
 */
export interface LbTarget {
  /** `<namespace>/<name>` of the Service, named in the rule's comment. */
  service: string;
  portName: string;
  ip: string;
  protocol: LbProtocol;
  port: number;
  nodePort: number;
  /** Node addresses that receive new connections; none means connections are refused. */
  nodes: string[];
}

export interface RulesetSpec {
  table: string;
  /** The whole address pool: whatever reaches it without a target is refused, not routed on. */
  pool: string;
  targets: readonly LbTarget[];
}

const proto = (p: LbProtocol) => (p === 'TCP' ? 'tcp' : 'udp');

/** The chain of one LB address:port, e.g. `lb_198_18_32_1_tcp_80`. */
export function targetChain(t: Pick<LbTarget, 'ip' | 'protocol' | 'port'>): string {
  return `lb_${t.ip.replaceAll('.', '_')}_${proto(t.protocol)}_${t.port}`;
}

export function sortTargets(targets: readonly LbTarget[]): LbTarget[] {
  return [...targets].sort((a, b) => ipToInt(a.ip) - ipToInt(b.ip) || a.protocol.localeCompare(b.protocol) || a.port - b.port);
}

export function renderRuleset({ table, pool, targets }: RulesetSpec): string {
  const sorted = sortTargets(targets);
  const live = sorted.filter((t) => t.nodes.length > 0);
  const lines: string[] = [
    '# kube-traffic-harness lab load balancer: generated, replaced as a whole on every change',
    `table ip ${table}`,
    `delete table ip ${table}`,
    `table ip ${table} {`,
    '\tchain prerouting {',
    '\t\ttype nat hook prerouting priority dstnat; policy accept;',
  ];
  if (live.length > 0) {
    const entries = live.map((t) => `${t.ip} . ${proto(t.protocol)} . ${t.port} : jump ${targetChain(t)}`);
    lines.push(`\t\tip daddr . meta l4proto . th dport vmap { ${entries.join(', ')} }`);
  }
  lines.push('\t}');
  for (const t of live) {
    const nodes = [...t.nodes].sort((a, b) => ipToInt(a) - ipToInt(b));
    const map = nodes.map((ip, i) => `${i} : ${ip}`).join(', ');
    const label = `${t.service}${t.portName ? `:${t.portName}` : ''} -> NodePort ${t.nodePort} on ${nodes.length} node${nodes.length === 1 ? '' : 's'}`;
    lines.push(
      `\tchain ${targetChain(t)} {`,
      `\t\tmeta l4proto ${proto(t.protocol)} dnat ip to numgen random mod ${nodes.length} map { ${map} } : ${t.nodePort} comment ${quote(label)}`,
      '\t}',
    );
  }
  // After the NAT chain: a packet still addressed to the pool has no target (unknown address or
  // port, or no healthy node). Refuse it, as an NLB with no healthy target refuses connections.
  lines.push(
    '\tchain refuse {',
    '\t\ttype filter hook prerouting priority dstnat + 10; policy accept;',
    `\t\tip daddr ${pool} meta l4proto tcp reject with tcp reset comment "no healthy node for this address and port"`,
    `\t\tip daddr ${pool} reject comment "no healthy node for this address and port"`,
    '\t}',
    '}',
  );
  return `${lines.join('\n')}\n`;
}

/** Removes the table (the controller's exit). */
export function renderDelete(table: string): string {
  return `table ip ${table}\ndelete table ip ${table}\n`;
}

/** nft comments are at most 128 bytes and cannot hold a double quote. */
function quote(text: string): string {
  const clean = text.replaceAll('"', "'");
  return `"${Buffer.byteLength(clean) > 127 ? `${clean.slice(0, 120)}…` : clean}"`;
}
