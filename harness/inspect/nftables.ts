import { servicePortName, splitHostPort } from './iptables.ts';
import type { BlockedDestination, PortRules, RuleChain, RuleEndpoint } from './rules.ts';

/**
 * kube-proxy's nftables mode, read back from `nft list table ip kube-proxy`. Pure: text in, data out.
 *
 * For one service port kube-proxy writes chains named `<kind>-<hash>-<ns>/<name>/<proto>/<port>`
 * (pkg/proxy/nftables/proxier.go):
 *   service-…   every endpoint the cluster-wide policy allows;
 *   local-…     the node-local endpoints (a traffic policy Local);
 *   external-…  NodePort / LoadBalancer entry, going to service-… or local-…;
 *   endpoint-…__<ip>/<port>  one per endpoint, only when a rule needs it (sessionAffinity).
 * The spread is one `numgen random mod N` over N entries, either straight into
 * `dnat ip to numgen random mod N map { 0 : ip . port, … }` or into
 * `numgen random mod N vmap { 0 : goto endpoint-…, … }`. Destinations with nothing to send to are
 * elements of the `no-endpoint-services` / `no-endpoint-nodeports` verdict maps. Chains being
 * retired are listed empty until kube-proxy deletes them.
 */

export interface NftBlock {
  kind: 'chain' | 'set' | 'map';
  name: string;
  /** Statements in order, continuation lines joined (a rule or an `elements = { … }` spans lines). */
  statements: string[];
}

export interface NftTable {
  family: string;
  name: string;
  blocks: Map<string, NftBlock>;
}

/** Counts braces outside double-quoted strings. */
function braceBalance(text: string): number {
  let depth = 0;
  let quoted = false;
  for (const c of text) {
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === '{') depth += 1;
    else if (!quoted && c === '}') depth -= 1;
  }
  return depth;
}

/** Parses the text of `nft list table …` (or a ruleset holding one or more tables). */
export function parseNftTables(text: string): NftTable[] {
  const tables: NftTable[] = [];
  let table: NftTable | undefined;
  let block: NftBlock | undefined;
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (!table) {
      const m = /^table (\S+) (\S+) \{$/.exec(line);
      if (m) {
        table = { family: m[1] as string, name: m[2] as string, blocks: new Map() };
        tables.push(table);
      }
      continue;
    }
    if (!block) {
      const m = /^(chain|set|map) (.+) \{$/.exec(line);
      if (m) {
        block = { kind: m[1] as NftBlock['kind'], name: unquote(m[2] as string), statements: [] };
        table.blocks.set(block.name, block);
      } else if (line === '}') {
        table = undefined;
      }
      continue;
    }
    pending = pending ? `${pending} ${line}` : line;
    const balance = braceBalance(pending);
    if (balance > 0) continue; // a statement still open: `elements = { a,` … `b }`
    if (balance < 0) {
      // The block's closing brace (possibly after the last statement on the same line).
      const body = pending.replace(/\}\s*$/, '').trim();
      if (body) block.statements.push(body);
      block = undefined;
    } else {
      block.statements.push(pending);
    }
    pending = '';
  }
  return tables;
}

function unquote(name: string): string {
  return name.startsWith('"') && name.endsWith('"') ? name.slice(1, -1) : name;
}

export interface NftMapElement {
  key: string;
  comment?: string;
  value: string;
}

/** Elements of a set or map: `a . b . c comment "x" : verdict`, comma-separated. */
export function nftElements(block: NftBlock | undefined): NftMapElement[] {
  const statement = block?.statements.find((s) => s.startsWith('elements = {'));
  if (!statement) return [];
  const inner = statement.slice(statement.indexOf('{') + 1, statement.lastIndexOf('}'));
  return splitTopLevel(inner, ',').map((element) => {
    const [left, ...rest] = splitTopLevel(element, ':');
    const value = rest.join(':').trim();
    const commentMatch = /\s+comment "((?:[^"\\]|\\.)*)"\s*$/.exec(left as string);
    const key = (commentMatch ? (left as string).slice(0, commentMatch.index) : (left as string)).trim();
    return { key, value, ...(commentMatch ? { comment: commentMatch[1] as string } : {}) };
  }).filter((e) => e.key !== '');
}

/** Splits on `separator` outside braces and quotes. */
function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = '';
  for (const c of text) {
    if (c === '"') quoted = !quoted;
    if (!quoted && c === '{') depth += 1;
    if (!quoted && c === '}') depth -= 1;
    if (!quoted && depth === 0 && c === separator) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts.map((p) => p.trim());
}

export interface NftPortQuery {
  namespace: string;
  name: string;
  /** The Service port's name ('' when unnamed). */
  port: string;
  protocol: string;
}

/** What one node's kube-proxy does with one service port, from `nft list table ip kube-proxy`. */
export function nftPortRules(text: string, query: NftPortQuery): PortRules {
  const table = parseNftTables(text).find((t) => t.name === 'kube-proxy');
  const blocks = table?.blocks ?? new Map<string, NftBlock>();
  const protocol = query.protocol.toLowerCase();
  const suffix = `${query.namespace}/${query.name}/${protocol}/${query.port}`;
  const chainNamed = (kind: string) => [...blocks.values()].find((b) => b.kind === 'chain' && b.name.startsWith(`${kind}-`) && b.name.slice(kind.length + 1).replace(/^[A-Z2-7]{8}-/, '') === suffix);
  const chains: RuleChain[] = [];
  for (const [kind, prefix] of [['cluster', 'service'], ['local', 'local']] as const) {
    const chain = chainNamed(prefix);
    if (chain) chains.push({ kind, chain: chain.name, endpoints: spreadOf(chain, blocks) });
  }
  const key = servicePortName(query.namespace, query.name, query.port);
  const external = chainNamed('external');
  // Outside clients: the external chain's unconditional jump (pod and node-local shortcuts carry a match).
  const externalTo = (external?.statements ?? [])
    .map((s) => /^(?:goto|jump) (\S+)$/.exec(s)?.[1])
    .filter((t): t is string => Boolean(t));
  const ownChains = new Set([...chains.map((c) => c.chain), ...(external ? [external.name] : [])]);
  const clusterIpChain = nftElements(blocks.get('service-ips'))
    .map((e) => /^goto (\S+)$/.exec(e.value)?.[1])
    .find((target) => target !== undefined && ownChains.has(target) && target !== external?.name);
  return {
    port: query.port,
    protocol: query.protocol,
    chains,
    ...(clusterIpChain ? { clusterIpChain } : {}),
    ...(external ? { externalChain: external.name, externalTo } : {}),
    blocked: blockedOf(blocks, key),
  };
}

/** The entries one `numgen random mod N` spreads over, each 1/N of new connections. */
function spreadOf(chain: NftBlock, blocks: Map<string, NftBlock>): RuleEndpoint[] {
  for (const statement of chain.statements) {
    const numgen = /numgen random mod (\d+) (v?map) \{(.*)\}/.exec(statement);
    if (!numgen) continue;
    const modulus = Number(numgen[1]);
    const entries = splitTopLevel(numgen[3] as string, ',').filter((e) => e !== '');
    return entries.map((entry): RuleEndpoint => {
      const value = entry.slice(entry.indexOf(':') + 1).trim();
      if (numgen[2] === 'map') {
        // `198.18.128.2 . 8080`
        const [address, port] = value.split(' . ').map((v) => v.trim()) as [string, string];
        return { address, port: Number(port), share: 1 / modulus };
      }
      // `goto endpoint-…`: the endpoint chain holds the DNAT.
      const via = /^(?:goto|jump) (\S+)$/.exec(value)?.[1] ?? value;
      const dnat = blocks.get(via)?.statements.map((s) => /dnat (?:ip )?to (\S+)/.exec(s)?.[1]).find(Boolean);
      const fromName = /__([^/]+)\/(\d+)$/.exec(via);
      const { address, port } = dnat ? splitHostPort(dnat) : { address: fromName?.[1] ?? '', port: Number(fromName?.[2] ?? 0) };
      return { address, port, share: 1 / modulus, via };
    });
  }
  return [];
}

function blockedOf(blocks: Map<string, NftBlock>, key: string): BlockedDestination[] {
  const blocked: BlockedDestination[] = [];
  for (const [mapName, nodePort] of [['no-endpoint-services', false], ['no-endpoint-nodeports', true]] as const) {
    for (const element of nftElements(blocks.get(mapName))) {
      if (element.comment !== key) continue;
      const verdict = element.value === 'drop' ? 'drop' : /reject/.test(element.value) ? 'reject' : undefined;
      if (!verdict) continue;
      const parts = element.key.split(' . ').map((p) => p.trim());
      const destination = nodePort ? `node port ${parts[1]}/${parts[0]}` : `${parts[0]}:${parts[2]}/${parts[1]}`;
      blocked.push({ destination, verdict, reason: verdict === 'drop' ? 'no local endpoints' : 'no endpoints' });
    }
  }
  return blocked;
}
