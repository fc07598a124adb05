import { ciliumFrontends, ciliumPortRules, parseBpfLb, parseCiliumServiceList } from '../../../harness/inspect/cilium.ts';
import { fixtureApi, fixtureText, type CiliumState } from './fixtures.ts';

const node = (state: CiliumState, n: number) => ({
  bpfLb: fixtureText(state, `cilium-bpf-lb-n${n}.json`),
  bpfLbFrontends: fixtureText(state, `cilium-bpf-lb-frontends-n${n}.json`),
  services: fixtureText(state, `cilium-service-n${n}.json`),
});
const webPort = { port: 80, protocol: 'TCP', nodePort: 32127 };
const nodeIp = (n: number) => `198.18.0.1${n}`;
const webQuery = (state: CiliumState, n: number) => ({
  namespace: 'shop', name: 'web', port: 'http', protocol: 'TCP', frontends: ciliumFrontends(fixtureApi(state).services.web, webPort, nodeIp(n)),
});
const addresses = (endpoints: { address: string; port: number }[]) => endpoints.map((e) => `${e.address}:${e.port}`);

describe('cilium-dbg bpf lb list parsing (real maps of a 3-node lab)', () => {
  it('GIVEN the slot listing and the master entries THEN each frontend has its flags, counts and backends in slot order', () => {
    const maps = parseBpfLb(fixtureText('cil-steady', 'cilium-bpf-lb-n3.json'), fixtureText('cil-steady', 'cilium-bpf-lb-frontends-n3.json'));
    expect(maps.get('198.18.32.1:80/TCP')).toEqual({
      key: '198.18.32.1:80/TCP', address: '198.18.32.1', port: 80, protocol: 'TCP', internal: false,
      flags: ['LoadBalancer', 'Local', 'two-scopes'], revNat: 7, count: 2, qcount: 0,
      slots: [
        { slot: 1, address: '198.18.128.54', port: 8080, protocol: 'TCP' },
        { slot: 2, address: '198.18.128.78', port: 8080, protocol: 'TCP' },
      ],
    });
    // The in-cluster scope of the same address: every endpoint, under its own key.
    expect(maps.get('198.18.32.1:80/TCP/i')).toMatchObject({ internal: true, count: 4, qcount: 0 });
    expect(maps.get('198.18.32.1:80/TCP/i')?.slots.map((s) => s.address)).toEqual(['198.18.128.54', '198.18.128.78', '198.18.129.164', '198.18.130.225']);
    // A node port is in the maps on 0.0.0.0 and on the node's own address.
    expect(maps.get('0.0.0.0:32127/TCP')?.flags).toEqual(['NodePort', 'Local', 'two-scopes', 'non-routable']);
    expect(maps.get('198.18.0.13:32127/TCP')?.flags).toEqual(['NodePort', 'Local', 'two-scopes']);
    expect(maps.get('198.18.21.119:81/TCP')?.flags).toEqual(['ClusterIP', 'InternalLocal', 'sessionAffinity', 'non-routable']);
  });

  it('GIVEN a pod terminating THEN its backend stays in the slots after the active ones, and count[qcount] says so', () => {
    const maps = parseBpfLb(fixtureText('cil-terminating', 'cilium-bpf-lb-n3.json'), fixtureText('cil-terminating', 'cilium-bpf-lb-frontends-n3.json'));
    const lb = maps.get('198.18.32.1:80/TCP');
    expect(lb).toMatchObject({ count: 1, qcount: 1 });
    expect(lb?.slots.map((s) => [s.slot, s.address])).toEqual([[1, '198.18.128.78'], [2, '198.18.128.54']]);
    expect(maps.get('198.18.18.147:80/TCP')).toMatchObject({ count: 4, qcount: 1 });
    expect(maps.get('198.18.18.147:80/TCP')?.slots.at(-1)?.address).toBe('198.18.128.54');
  });

  it('GIVEN the slot listing alone THEN the counts are unknown, the rest is there', () => {
    const maps = parseBpfLb(fixtureText('cil-steady', 'cilium-bpf-lb-n1.json'));
    expect(maps.get('198.18.18.147:80/TCP')?.count).toBeUndefined();
    expect(maps.get('198.18.18.147:80/TCP')?.slots).toHaveLength(4);
  });
});

describe('cilium-dbg service list parsing (the agent\'s table)', () => {
  it('GIVEN the agent\'s JSON THEN each frontend has its Service, type, scope and backends with state, weight, node and zone', () => {
    const table = parseCiliumServiceList(fixtureText('cil-terminating', 'cilium-service-n3.json'));
    expect(table.map((f) => `${f.key} ${f.type} ${f.namespace}/${f.name}`).sort()).toEqual([
      '0.0.0.0:32010/TCP NodePort shop/web-np',
      '0.0.0.0:32127/TCP NodePort shop/web',
      '0.0.0.0:32127/TCP/i NodePort shop/web',
      '198.18.16.1:443/TCP ClusterIP default/kubernetes',
      '198.18.18.147:80/TCP ClusterIP shop/web',
      '198.18.21.119:8080/TCP ClusterIP shop/web-aff',
      '198.18.21.119:81/TCP ClusterIP shop/web-aff',
      '198.18.21.154:80/TCP ClusterIP shop/web-np',
      '198.18.32.1:80/TCP LoadBalancer shop/web',
      '198.18.32.1:80/TCP/i LoadBalancer shop/web',
    ]);
    const lb = table.find((f) => f.key === '198.18.32.1:80/TCP');
    expect(lb).toMatchObject({ scope: 'external', extTrafficPolicy: 'Local', intTrafficPolicy: 'Cluster' });
    expect(lb?.backends).toEqual([
      { address: '198.18.128.54', port: 8080, protocol: 'TCP', state: 'terminating', weight: 100, nodeName: 'insp-node-3', zone: 'lab-z0' },
      { address: '198.18.128.78', port: 8080, protocol: 'TCP', state: 'active', weight: 100, nodeName: 'insp-node-3', zone: 'lab-z0' },
    ]);
  });
});

describe('the frontends a Service port should have on a node', () => {
  it('GIVEN a LoadBalancer with externalTrafficPolicy Local THEN cluster IP (cluster), and LB address and node port on 0.0.0.0 and the node address, each in two scopes', () => {
    expect(ciliumFrontends(fixtureApi('cil-steady').services.web, webPort, '198.18.0.13')).toEqual([
      { key: '198.18.18.147:80/TCP', type: 'ClusterIP', kind: 'cluster' },
      { key: '198.18.32.1:80/TCP', type: 'LoadBalancer', kind: 'local' },
      { key: '198.18.32.1:80/TCP/i', type: 'LoadBalancer', kind: 'cluster' },
      { key: '0.0.0.0:32127/TCP', type: 'NodePort', kind: 'local' },
      { key: '0.0.0.0:32127/TCP/i', type: 'NodePort', kind: 'cluster' },
      { key: '198.18.0.13:32127/TCP', type: 'NodePort', kind: 'local' },
      { key: '198.18.0.13:32127/TCP/i', type: 'NodePort', kind: 'cluster' },
    ]);
  });

  it('GIVEN a NodePort with both policies Cluster, or a ClusterIP with internalTrafficPolicy Local THEN one scope each', () => {
    const api = fixtureApi('cil-steady');
    expect(ciliumFrontends(api.services['web-np'], { port: 80, protocol: 'TCP', nodePort: 32010 }, '198.18.0.11').map((f) => `${f.key} ${f.kind}`))
      .toEqual(['198.18.21.154:80/TCP cluster', '0.0.0.0:32010/TCP cluster', '198.18.0.11:32010/TCP cluster']);
    expect(ciliumFrontends(api.services['web-aff'], { port: 81, protocol: 'TCP' }, '198.18.0.11')).toEqual([{ key: '198.18.21.119:81/TCP', type: 'ClusterIP', kind: 'local' }]);
  });
});

describe('one node\'s Cilium against one service port', () => {
  it('GIVEN steady node 3 (2 local pods) THEN frontends with the same table are grouped: cluster 4 backends a quarter each, local 2 a half each', () => {
    const rules = ciliumPortRules(node('cil-steady', 3), webQuery('cil-steady', 3));
    expect(rules.chains.map((c) => [c.kind, c.chain])).toEqual([
      ['cluster', '198.18.18.147:80/TCP, 198.18.32.1:80/TCP/i, 0.0.0.0:32127/TCP/i, 198.18.0.13:32127/TCP/i'],
      ['local', '198.18.32.1:80/TCP, 0.0.0.0:32127/TCP, 198.18.0.13:32127/TCP'],
    ]);
    const [cluster, local] = rules.chains;
    expect(cluster?.endpoints.map((e) => [`${e.address}:${e.port}`, e.share, e.state, e.weight, e.via])).toEqual([
      ['198.18.128.54:8080', 0.25, 'active', 100, 'slot 1'],
      ['198.18.128.78:8080', 0.25, 'active', 100, 'slot 2'],
      ['198.18.129.164:8080', 0.25, 'active', 100, 'slot 3'],
      ['198.18.130.225:8080', 0.25, 'active', 100, 'slot 4'],
    ]);
    expect(addresses(local?.endpoints ?? [])).toEqual(['198.18.128.54:8080', '198.18.128.78:8080']);
    expect(local?.endpoints.map((e) => e.share)).toEqual([0.5, 0.5]);
    expect(local?.frontends).toEqual([
      { key: '198.18.32.1:80/TCP', type: 'LoadBalancer' },
      { key: '0.0.0.0:32127/TCP', type: 'NodePort' },
      { key: '198.18.0.13:32127/TCP', type: 'NodePort' },
    ]);
    expect(rules.blocked).toEqual([]);
    expect(rules.pending).toBeUndefined();
  });

  it('GIVEN a terminating backend THEN it is listed after the active ones with share 0 and its state; without the counts the agent\'s states decide the same', () => {
    const withCounts = ciliumPortRules(node('cil-terminating', 3), webQuery('cil-terminating', 3));
    const { bpfLbFrontends: _counts, ...noCounts } = node('cil-terminating', 3);
    const withoutCounts = ciliumPortRules(noCounts, webQuery('cil-terminating', 3));
    for (const rules of [withCounts, withoutCounts]) {
      const local = rules.chains.find((c) => c.kind === 'local');
      expect(local?.endpoints.map((e) => [`${e.address}:${e.port}`, e.share, e.state])).toEqual([
        ['198.18.128.78:8080', 1, 'active'],
        ['198.18.128.54:8080', 0, 'terminating'],
      ]);
    }
  });

  it('GIVEN a node without a local pod THEN its local frontends have no backend and outside traffic to the LB address and node port is dropped', () => {
    const rules = ciliumPortRules(node('cil-one', 2), webQuery('cil-one', 2));
    expect(rules.chains.find((c) => c.kind === 'local')?.endpoints).toEqual([]);
    expect(addresses(rules.chains.find((c) => c.kind === 'cluster')?.endpoints ?? [])).toEqual(['198.18.130.225:8080']);
    expect(rules.blocked).toEqual([
      { destination: '198.18.32.1:80/tcp', verdict: 'drop', reason: 'no local endpoints' },
      { destination: 'node port 32127/tcp', verdict: 'drop', reason: 'no local endpoints' },
    ]);
  });

  it('GIVEN no pods at all THEN every frontend is blocked, in-cluster scopes as "no endpoints"', () => {
    const rules = ciliumPortRules(node('cil-none', 1), webQuery('cil-none', 1));
    expect(rules.blocked.map((b) => `${b.destination} (${b.reason})`)).toEqual([
      '198.18.18.147:80/tcp (no endpoints)',
      '198.18.32.1:80/tcp (no local endpoints)',
      '198.18.32.1:80/tcp from inside the cluster (no endpoints)',
      'node port 32127/tcp (no local endpoints)',
      'node port 32127/tcp from inside the cluster (no endpoints)',
    ]);
  });

  it('GIVEN a paused agent (no table) THEN the maps alone give the backends, without states: node 2 still has the old 4', () => {
    const rules = ciliumPortRules({ bpfLb: fixtureText('cil-stale', 'cilium-bpf-lb-n2.json'), bpfLbFrontends: fixtureText('cil-stale', 'cilium-bpf-lb-frontends-n2.json') }, webQuery('cil-stale', 2));
    const cluster = rules.chains.find((c) => c.kind === 'cluster');
    expect(addresses(cluster?.endpoints ?? [])).toEqual(['198.18.128.78:8080', '198.18.129.164:8080', '198.18.129.166:8080', '198.18.130.225:8080']);
    expect(cluster?.endpoints.every((e) => e.state === undefined && e.share === 0.25)).toBe(true);
    expect(rules.pending).toBeUndefined();
  });

  it('GIVEN the agent\'s table ahead of the maps (derived: node 2\'s stale maps, node 1\'s table of the same moment) THEN pending says what the maps lack', () => {
    const rules = ciliumPortRules({
      bpfLb: fixtureText('cil-stale', 'cilium-bpf-lb-n2.json'),
      bpfLbFrontends: fixtureText('cil-stale', 'cilium-bpf-lb-frontends-n2.json'),
      services: fixtureText('cil-stale', 'cilium-service-n1.json'),
    }, webQuery('cil-stale', 2));
    expect(rules.pending).toContainEqual('198.18.18.147:80/TCP: the BPF maps lack 198.18.128.56:8080 (the agent\'s table: 5 backends)');
  });

  it('GIVEN a frontend missing from the maps (derived: the LB address\'s entries removed) THEN it is its own group, marked, with no backends', () => {
    const without = (file: string) => JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(fixtureText('cil-steady', file)) as Record<string, string[]>)
      .filter(([k]) => !k.startsWith('198.18.32.1:80/TCP '))));
    const rules = ciliumPortRules({ ...node('cil-steady', 1), bpfLb: without('cilium-bpf-lb-n1.json'), bpfLbFrontends: without('cilium-bpf-lb-frontends-n1.json') }, webQuery('cil-steady', 1));
    expect(rules.chains.find((c) => c.chain.includes('not in the BPF maps'))).toEqual({
      kind: 'local', chain: '198.18.32.1:80/TCP (not in the BPF maps)', endpoints: [], frontends: [{ key: '198.18.32.1:80/TCP', type: 'LoadBalancer' }],
    });
    expect(rules.pending).toEqual(['198.18.32.1:80/TCP: in the agent\'s table (1 backend) but not in the BPF maps']);
  });
});
