import { createHash } from 'node:crypto';
import type { BlockedDestination, PortRules, RuleChain, RuleEndpoint } from './rules.ts';

/**
 * kube-proxy's iptables mode, read back from `iptables-save` text. Pure: text in, data out.
 *
 * For one service port kube-proxy writes (names from pkg/proxy/iptables/proxier.go):
 *   KUBE-SVC-<hash>  every endpoint the cluster-wide policy allows, each behind a
 *                    `-m statistic --mode random --probability p` rule except the last;
 *   KUBE-SVL-<hash>  the node-local endpoints (externalTrafficPolicy or internalTrafficPolicy Local);
 *   KUBE-EXT-<hash>  external entry (NodePort, LoadBalancer IP), jumping to SVC or SVL;
 *   KUBE-SEP-<hash>  one per endpoint, ending in `DNAT --to-destination ip:port`.
 * The hash is base32(sha256("<ns>/<name>:<port>" + lower-case protocol)) cut to 16 characters, so
 * a port's chains are found by name, not by guessing from comments.
 */

export interface IptablesRule {
  chain: string;
  /** The rule's arguments after `-A <chain>`, unquoted. */
  args: string[];
  target?: string;
  comment?: string;
  /** `-m statistic --mode random --probability p`. */
  probability?: number;
  /** `DNAT --to-destination ip:port`. */
  toDestination?: string;
  /** `-m recent --rcheck …`: a sessionAffinity ClientIP shortcut, not part of the random spread. */
  affinityCheck?: boolean;
}

export interface IptablesTable {
  name: string;
  /** Every declared chain (`:NAME …`) and its rules in order; declared but empty chains map to []. */
  chains: Map<string, IptablesRule[]>;
}

/** Splits one iptables-save line into words, honouring double quotes (`--comment "a b"`). */
export function splitIptablesWords(line: string): string[] {
  const words: string[] = [];
  let current = '';
  let quoted = false;
  let inWord = false;
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i] as string;
    if (quoted) {
      if (c === '\\' && i + 1 < line.length) {
        current += line[i + 1];
        i += 1;
      } else if (c === '"') quoted = false;
      else current += c;
    } else if (c === '"') {
      quoted = true;
      inWord = true;
    } else if (c === ' ' || c === '\t') {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  return words;
}

/** Parses `iptables-save` output (one or more tables) into tables of chains of rules. */
export function parseIptablesSave(text: string): Map<string, IptablesTable> {
  const tables = new Map<string, IptablesTable>();
  let table: IptablesTable | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      table = { name: line.slice(1), chains: new Map() };
      tables.set(table.name, table);
    } else if (line === 'COMMIT') {
      table = undefined;
    } else if (table && line.startsWith(':')) {
      const name = line.slice(1).split(' ')[0] as string;
      if (!table.chains.has(name)) table.chains.set(name, []);
    } else if (table && line.startsWith('-A ')) {
      const words = splitIptablesWords(line);
      const rule = ruleOf(words[1] as string, words.slice(2));
      const rules = table.chains.get(rule.chain) ?? [];
      rules.push(rule);
      table.chains.set(rule.chain, rules);
    }
  }
  return tables;
}

function ruleOf(chain: string, args: string[]): IptablesRule {
  const valueOf = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const target = valueOf('-j');
  const comment = valueOf('--comment');
  const probability = valueOf('--probability');
  const toDestination = valueOf('--to-destination');
  return {
    chain,
    args,
    ...(target !== undefined ? { target } : {}),
    ...(comment !== undefined ? { comment } : {}),
    ...(probability !== undefined ? { probability: Number(probability) } : {}),
    ...(toDestination !== undefined ? { toDestination } : {}),
    ...(args.includes('--rcheck') ? { affinityCheck: true } : {}),
  };
}

/** kube-proxy's name for a service port: `<ns>/<name>:<port>`, or `<ns>/<name>` for an unnamed port. */
export function servicePortName(namespace: string, name: string, port: string): string {
  return port ? `${namespace}/${name}:${port}` : `${namespace}/${name}`;
}

/** The 16-character hash kube-proxy puts in a service port's chain names. */
export function iptablesPortHash(namespace: string, name: string, port: string, protocol: string): string {
  const digest = createHash('sha256').update(`${servicePortName(namespace, name, port)}${protocol.toLowerCase()}`).digest();
  return base32(digest).slice(0, 16);
}

function base32(bytes: Uint8Array): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

export interface IptablesPortQuery {
  namespace: string;
  name: string;
  /** The Service port's name ('' when unnamed). */
  port: string;
  protocol: string;
}

/**
 * What one node's kube-proxy does with one service port, from `iptables-save -t nat` (and
 * optionally `-t filter`, where "has no endpoints" REJECT and "has no local endpoints" DROP live).
 */
export function iptablesPortRules(nat: string, filter: string | undefined, query: IptablesPortQuery): PortRules {
  const natTable = parseIptablesSave(nat).get('nat');
  const chains = natTable?.chains ?? new Map<string, IptablesRule[]>();
  const hash = iptablesPortHash(query.namespace, query.name, query.port, query.protocol);
  const key = servicePortName(query.namespace, query.name, query.port);
  const result: RuleChain[] = [];
  for (const [kind, prefix] of [['cluster', 'KUBE-SVC-'], ['local', 'KUBE-SVL-']] as const) {
    const chain = `${prefix}${hash}`;
    const rules = chains.get(chain);
    if (rules) result.push({ kind, chain, endpoints: spreadOf(rules, chains) });
  }
  // Where ClusterIP traffic goes: the SVC chain, or the SVL chain under internalTrafficPolicy Local.
  const clusterIpRule = chains.get('KUBE-SERVICES')?.find((r) => r.comment === `${key} cluster IP`);
  const externalRules = chains.get(`KUBE-EXT-${hash}`);
  // Outside clients: the EXT chain's jumps that are not the pod-traffic (-s podCIDR) or node-local (addrtype) shortcuts.
  const externalTargets = new Set((externalRules ?? [])
    .filter((r) => /^KUBE-SV[CL]-/.test(r.target ?? '') && !r.args.includes('addrtype') && !r.args.includes('-s'))
    .map((r) => r.target as string));
  return {
    port: query.port,
    protocol: query.protocol,
    chains: result,
    ...(clusterIpRule?.target ? { clusterIpChain: clusterIpRule.target } : {}),
    ...(externalRules ? { externalChain: `KUBE-EXT-${hash}`, externalTo: [...externalTargets] } : {}),
    blocked: filter ? blockedOf(filter, key) : [],
  };
}

/**
 * The endpoints a KUBE-SVC/KUBE-SVL chain spreads new connections over, in rule order. Each rule
 * is tried with its own probability; the share of rule i is p_i × Π_{j<i}(1 − p_j), so kube-proxy's
 * 1/3, 1/2, 1 for three endpoints gives each a third. Affinity (`--rcheck`) and masquerade rules
 * are not part of the spread and are skipped.
 */
function spreadOf(rules: IptablesRule[], chains: Map<string, IptablesRule[]>): RuleEndpoint[] {
  const endpoints: RuleEndpoint[] = [];
  let remaining = 1;
  for (const rule of rules) {
    if (!rule.target?.startsWith('KUBE-SEP-') || rule.affinityCheck) continue;
    const probability = rule.probability ?? 1;
    const dnat = chains.get(rule.target)?.find((r) => r.target === 'DNAT' && r.toDestination)?.toDestination;
    const fromComment = / -> (\S+)$/.exec(rule.comment ?? '')?.[1];
    const destination = dnat ?? fromComment ?? '';
    const { address, port } = splitHostPort(destination);
    endpoints.push({ address, port, probability, share: remaining * probability, via: rule.target });
    remaining *= 1 - probability;
    if (rule.probability === undefined) break; // an unconditional jump ends the chain for new connections
  }
  return endpoints;
}

export function splitHostPort(destination: string): { address: string; port: number } {
  const at = destination.lastIndexOf(':');
  if (at < 0) return { address: destination, port: 0 };
  return { address: destination.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(destination.slice(at + 1)) };
}

/** "has no endpoints" (REJECT) and "has no local endpoints" (DROP) rules of the filter table. */
function blockedOf(filter: string, key: string): BlockedDestination[] {
  const table = parseIptablesSave(filter).get('filter');
  const blocked: BlockedDestination[] = [];
  for (const rules of table?.chains.values() ?? []) {
    for (const rule of rules) {
      const reason = rule.comment === `${key} has no endpoints` ? 'no endpoints' : rule.comment === `${key} has no local endpoints` ? 'no local endpoints' : undefined;
      const verdict = rule.target === 'DROP' ? 'drop' : rule.target === 'REJECT' ? 'reject' : undefined;
      if (!reason || !verdict) continue;
      const valueOf = (flag: string) => {
        const i = rule.args.indexOf(flag);
        return i >= 0 ? rule.args[i + 1] : undefined;
      };
      const protocol = valueOf('-p') ?? '';
      const port = valueOf('--dport') ?? '';
      const address = valueOf('-d')?.replace(/\/32$/, '');
      const destination = address ? `${address}:${port}/${protocol}` : `node port ${port}/${protocol}`;
      blocked.push({ destination, verdict, reason });
    }
  }
  return blocked;
}
