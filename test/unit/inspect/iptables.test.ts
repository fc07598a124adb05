import { iptablesPortHash, iptablesPortRules, parseIptablesSave, splitIptablesWords } from '../../../harness/inspect/iptables.ts';
import { fixtureText } from './fixtures.ts';

const web = { namespace: 'shop', name: 'web', port: 'http', protocol: 'TCP' };
const nat = (state: Parameters<typeof fixtureText>[0], node: number) => fixtureText(state, `iptables-nat-n${node}.txt`);
const filter = (state: Parameters<typeof fixtureText>[0], node: number) => fixtureText(state, `iptables-filter-n${node}.txt`);
const addresses = (endpoints: { address: string; port: number }[]) => endpoints.map((e) => `${e.address}:${e.port}`);

describe('iptables-save parsing (real kube-proxy output)', () => {
  it('GIVEN a quoted comment THEN it stays one word, quotes removed', () => {
    expect(splitIptablesWords('-A KUBE-SVC-X -m comment --comment "shop/web:http -> 198.18.128.2:8080" -j KUBE-SEP-Y'))
      .toEqual(['-A', 'KUBE-SVC-X', '-m', 'comment', '--comment', 'shop/web:http -> 198.18.128.2:8080', '-j', 'KUBE-SEP-Y']);
  });

  it('GIVEN a node\'s nat table THEN every declared chain is there, empty ones included, rules in order', () => {
    const table = parseIptablesSave(nat('ipt-steady', 1)).get('nat');
    expect(table?.chains.get('KUBE-MARK-MASQ')).toHaveLength(1);
    expect(table?.chains.get('KUBE-PROXY-CANARY')).toEqual([]);
    expect(table?.chains.get('KUBE-SERVICES')?.map((r) => r.target)).toContain('KUBE-NODEPORTS');
  });

  it('GIVEN kube-proxy\'s chain naming THEN the port hash is base32(sha256(name + protocol)) as in the captured chains', () => {
    expect(iptablesPortHash('shop', 'web', 'http', 'TCP')).toBe('67NZLRHBNDSAWJRO');
    expect(iptablesPortHash('default', 'kubernetes', 'https', 'TCP')).toBe('NPX46M4PTMTKRN6Y');
    const text = nat('ipt-steady', 1);
    expect(text).toContain(':KUBE-SVC-67NZLRHBNDSAWJRO');
    expect(text).toContain(':KUBE-SVC-NPX46M4PTMTKRN6Y');
  });

  it('GIVEN 3 ready endpoints WHEN kube-proxy spreads them THEN the rules say 1/3, 1/2, 1 and each endpoint gets a third', () => {
    const rules = iptablesPortRules(nat('ipt-steady', 1), filter('ipt-steady', 1), web);
    const cluster = rules.chains.find((c) => c.kind === 'cluster');
    expect(cluster?.chain).toBe('KUBE-SVC-67NZLRHBNDSAWJRO');
    expect(addresses(cluster?.endpoints ?? [])).toEqual(['198.18.128.4:8080', '198.18.128.5:8080', '198.18.130.2:8080']);
    expect(cluster?.endpoints.map((e) => e.probability)).toEqual([0.33333333349, 0.5, 1]);
    for (const e of cluster?.endpoints ?? []) expect(e.share).toBeCloseTo(1 / 3, 9);
    expect(cluster?.endpoints.every((e) => e.via?.startsWith('KUBE-SEP-'))).toBe(true);
    expect(rules.clusterIpChain).toBe('KUBE-SVC-67NZLRHBNDSAWJRO');
    expect(rules.blocked).toEqual([]);
  });

  it('GIVEN 4 endpoints THEN 1/4, 1/3, 1/2, 1 still give a quarter each', () => {
    const cluster = iptablesPortRules(nat('ipt-stale', 1), undefined, web).chains.find((c) => c.kind === 'cluster');
    expect(cluster?.endpoints.map((e) => e.probability)).toEqual([0.25, 0.33333333349, 0.5, 1]);
    for (const e of cluster?.endpoints ?? []) expect(e.share).toBeCloseTo(0.25, 9);
  });

  it('GIVEN externalTrafficPolicy Local THEN each node\'s KUBE-SVL chain holds its own endpoints and outside traffic goes there', () => {
    const n1 = iptablesPortRules(nat('ipt-steady', 1), filter('ipt-steady', 1), web);
    const n2 = iptablesPortRules(nat('ipt-steady', 2), filter('ipt-steady', 2), web);
    expect(addresses(n1.chains.find((c) => c.kind === 'local')?.endpoints ?? [])).toEqual(['198.18.130.2:8080']);
    expect(n2.chains.find((c) => c.kind === 'local')?.endpoints.map((e) => [`${e.address}:${e.port}`, e.probability, e.share]))
      .toEqual([['198.18.128.4:8080', 0.5, 0.5], ['198.18.128.5:8080', 1, 0.5]]);
    expect(n1.externalChain).toBe('KUBE-EXT-67NZLRHBNDSAWJRO');
    expect(n1.externalTo).toEqual(['KUBE-SVL-67NZLRHBNDSAWJRO']);
  });

  it('GIVEN a node with no local endpoint THEN it has no KUBE-SVL chain and its filter table drops the LB address and the node port', () => {
    const n2 = iptablesPortRules(nat('ipt-one', 2), filter('ipt-one', 2), web);
    expect(n2.chains.map((c) => c.kind)).toEqual(['cluster']);
    expect(n2.externalTo).toEqual([]);
    expect(n2.blocked).toEqual([
      { destination: '198.18.32.1:80/tcp', verdict: 'drop', reason: 'no local endpoints' },
      { destination: 'node port 30680/tcp', verdict: 'drop', reason: 'no local endpoints' },
    ]);
    expect(iptablesPortRules(nat('ipt-one', 1), filter('ipt-one', 1), web).blocked).toEqual([]);
  });

  it('GIVEN sessionAffinity ClientIP and internalTrafficPolicy Local THEN ClusterIP goes to KUBE-SVL and the --rcheck shortcuts are not counted as endpoints', () => {
    const aff = { namespace: 'shop', name: 'web-aff', port: 'http', protocol: 'TCP' };
    const text = nat('ipt-steady', 2);
    expect(text).toMatch(/-A KUBE-SVL-\S+ .*web-aff:http.* --rcheck /);
    const rules = iptablesPortRules(text, filter('ipt-steady', 2), aff);
    expect(rules.chains.map((c) => c.kind)).toEqual(['local']);
    expect(rules.clusterIpChain).toBe(rules.chains[0]?.chain);
    expect(rules.chains[0]?.endpoints.map((e) => [`${e.address}:${e.port}`, e.share])).toEqual([['198.18.128.4:8080', 0.5], ['198.18.128.5:8080', 0.5]]);
    // The second port of the same Service has chains of its own.
    const alt = iptablesPortRules(text, undefined, { ...aff, port: 'alt' });
    expect(alt.chains[0]?.chain).not.toBe(rules.chains[0]?.chain);
    expect(alt.chains[0]?.endpoints).toHaveLength(2);
  });

  it('GIVEN a Service that is not in the rules THEN no chains, nothing blocked', () => {
    expect(iptablesPortRules(nat('ipt-steady', 1), filter('ipt-steady', 1), { ...web, name: 'nope' })).toEqual({ port: 'http', protocol: 'TCP', chains: [], blocked: [] });
  });
});
