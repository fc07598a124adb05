import { nftElements, nftPortRules, parseNftTables } from '../../../harness/inspect/nftables.ts';
import { fixtureText } from './fixtures.ts';

const web = { namespace: 'shop', name: 'web', port: 'http', protocol: 'TCP' };
const nft = (state: Parameters<typeof fixtureText>[0], node: number) => fixtureText(state, `nft-n${node}.txt`);
const addresses = (endpoints: { address: string; port: number }[]) => endpoints.map((e) => `${e.address}:${e.port}`);

describe('nft list table ip kube-proxy parsing (real kube-proxy output)', () => {
  it('GIVEN the table THEN chains, sets and maps are blocks; a map\'s elements spanning lines are one statement', () => {
    const [table] = parseNftTables(nft('nft-steady', 1));
    expect(table).toMatchObject({ family: 'ip', name: 'kube-proxy' });
    expect(table?.blocks.get('services')?.kind).toBe('chain');
    expect(table?.blocks.get('cluster-ips')?.kind).toBe('set');
    const serviceIps = nftElements(table?.blocks.get('service-ips'));
    expect(serviceIps.map((e) => e.value)).toContain('goto service-KHN6ECMT-shop/web/tcp/http');
    expect(serviceIps.find((e) => e.value === 'goto external-KHN6ECMT-shop/web/tcp/http')?.key).toBe('198.18.32.1 . tcp . 80');
  });

  it('GIVEN 3 ready endpoints THEN the service chain is one numgen random mod 3 over them, a third each', () => {
    const rules = nftPortRules(nft('nft-steady', 1), web);
    const cluster = rules.chains.find((c) => c.kind === 'cluster');
    expect(cluster?.chain).toBe('service-KHN6ECMT-shop/web/tcp/http');
    expect(addresses(cluster?.endpoints ?? [])).toEqual(['198.18.128.2:8080', '198.18.128.3:8080', '198.18.129.2:8080']);
    for (const e of cluster?.endpoints ?? []) expect(e.share).toBeCloseTo(1 / 3, 12);
    expect(cluster?.endpoints.every((e) => e.probability === undefined)).toBe(true);
    expect(rules.clusterIpChain).toBe('service-KHN6ECMT-shop/web/tcp/http');
    expect(rules.externalChain).toBe('external-KHN6ECMT-shop/web/tcp/http');
    expect(rules.externalTo).toEqual(['local-KHN6ECMT-shop/web/tcp/http']);
  });

  it('GIVEN externalTrafficPolicy Local THEN each node\'s local chain holds its own endpoints', () => {
    expect(addresses(nftPortRules(nft('nft-steady', 1), web).chains.find((c) => c.kind === 'local')?.endpoints ?? [])).toEqual(['198.18.129.2:8080']);
    const n2 = nftPortRules(nft('nft-steady', 2), web).chains.find((c) => c.kind === 'local');
    expect(n2?.endpoints.map((e) => [`${e.address}:${e.port}`, e.share])).toEqual([['198.18.128.2:8080', 0.5], ['198.18.128.3:8080', 0.5]]);
  });

  it('GIVEN sessionAffinity ClientIP THEN the spread is a vmap to endpoint chains, and their dnat gives the destination', () => {
    const aff = nftPortRules(nft('nft-steady', 2), { namespace: 'shop', name: 'web-aff', port: 'http', protocol: 'TCP' });
    expect(aff.chains.map((c) => c.kind)).toEqual(['local']);
    expect(aff.clusterIpChain).toBe(aff.chains[0]?.chain);
    expect(aff.chains[0]?.endpoints.map((e) => [`${e.address}:${e.port}`, e.share, e.via?.startsWith('endpoint-')])).toEqual([
      ['198.18.128.2:8080', 0.5, true],
      ['198.18.128.3:8080', 0.5, true],
    ]);
  });

  it('GIVEN a node with no local endpoint THEN its local chain is empty, outside traffic has nowhere to go, and the LB address and node port are dropped', () => {
    const n1 = nftPortRules(nft('nft-one', 1), web);
    expect(n1.chains.find((c) => c.kind === 'local')).toEqual({ kind: 'local', chain: 'local-KHN6ECMT-shop/web/tcp/http', endpoints: [] });
    expect(addresses(n1.chains.find((c) => c.kind === 'cluster')?.endpoints ?? [])).toEqual(['198.18.128.3:8080']);
    expect(n1.externalTo).toEqual([]);
    expect(n1.blocked).toEqual([
      { destination: '198.18.32.1:80/tcp', verdict: 'drop', reason: 'no local endpoints' },
      { destination: 'node port 31831/tcp', verdict: 'drop', reason: 'no local endpoints' },
    ]);
    expect(nftPortRules(nft('nft-one', 2), web).blocked).toEqual([]);
  });

  it('GIVEN a paused kube-proxy THEN its node still spreads over the old 3 while the other node has 4', () => {
    expect(nftPortRules(nft('nft-stale', 1), web).chains.find((c) => c.kind === 'cluster')?.endpoints).toHaveLength(4);
    expect(nftPortRules(nft('nft-stale', 2), web).chains.find((c) => c.kind === 'cluster')?.endpoints).toHaveLength(3);
  });

  it('GIVEN a Service whose name prefixes another (web, web-aff) THEN only its own chains match', () => {
    const rules = nftPortRules(nft('nft-steady', 1), web);
    expect([...rules.chains.map((c) => c.chain), rules.externalChain].every((c) => c?.endsWith('-shop/web/tcp/http'))).toBe(true);
  });
});
