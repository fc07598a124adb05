import { ipvsPortRules, ipvsShares, ipvsVirtualServers, parseIpvsadm, schedulerSpread } from '../../../harness/inspect/ipvs.ts';
import { inspectService } from '../../../harness/inspect/model.ts';
import { renderInspection } from '../../../harness/inspect/render.ts';
import { fixtureApi, fixtureInput, fixtureText } from './fixtures.ts';

const ipvsadm = (state: 'ipvs-steady' | 'ipvs-stale' | 'ipvs-terminating', node: number) => fixtureText(state, `ipvsadm-n${node}.txt`);
const addresses = (endpoints: { address: string; port: number }[]) => endpoints.map((e) => `${e.address}:${e.port}`);

describe('ipvsadm -Ln parsing', () => {
  it('GIVEN the brief\'s two lines after the headers THEN one virtual server with one Masq real server and its counts', () => {
    const text = [
      'IP Virtual Server version 1.2.1 (size=4096)',
      'Prot LocalAddress:Port Scheduler Flags',
      '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
      'TCP  198.18.16.10:80 rr',
      '  -> 198.18.129.5:8080            Masq    1      0          3',
      '',
    ].join('\n');
    expect(parseIpvsadm(text)).toEqual([{
      key: '198.18.16.10:80/TCP', protocol: 'TCP', address: '198.18.16.10', port: 80, scheduler: 'rr', flags: [],
      realServers: [{ address: '198.18.129.5', port: 8080, forward: 'Masq', weight: 1, activeConnections: 0, inactiveConnections: 3 }],
    }]);
  });

  it('GIVEN a node\'s table THEN every virtual server, persistence from sessionAffinity ClientIP, and IPv6, UDP and fwmark entries', () => {
    const table = parseIpvsadm(ipvsadm('ipvs-steady', 3));
    expect(table.map((v) => v.key)).toEqual(['198.18.0.13:32010/TCP', '198.18.0.13:32127/TCP', '198.18.16.1:443/TCP', '198.18.18.147:80/TCP', '198.18.21.119:81/TCP', '198.18.21.119:8080/TCP', '198.18.21.154:80/TCP', '198.18.32.1:80/TCP']);
    expect(table.find((v) => v.key === '198.18.21.119:81/TCP')).toMatchObject({ flags: ['persistent', '10800'], persistentSeconds: 10_800 });
    const other = parseIpvsadm('UDP  [fd00::a]:53 sh sh-port\n  -> [fd00:1::5]:53               Masq    2      0          0\nFWM  7 wlc\n');
    expect(other.map((v) => [v.key, v.scheduler, v.flags, addresses(v.realServers)])).toEqual([['[fd00::a]:53/UDP', 'sh', ['sh-port'], ['fd00:1::5:53']], ['FWM 7', 'wlc', [], []]]);
  });

  it('GIVEN weights THEN rr/wrr shares are weight/sum, a weight-0 server gets none, and only rr/wrr shares are exact', () => {
    expect(ipvsShares([{ weight: 1 }, { weight: 1 }, { weight: 0 }, { weight: 2 }])).toEqual([0.25, 0.25, 0, 0.5]);
    expect(ipvsShares([{ weight: 0 }])).toEqual([0]);
    expect(['rr', 'wrr', 'lc', 'sh', 'mh'].map((s) => schedulerSpread(s).exact)).toEqual([true, true, false, false, false]);
  });
});

describe('a Service port\'s virtual servers', () => {
  const api = fixtureApi('ipvs-steady');

  it('GIVEN a LoadBalancer with externalTrafficPolicy Local THEN cluster IP (cluster), LB address and node port on the node (local)', () => {
    const web = api.services.web;
    const port = { port: 80, protocol: 'TCP', nodePort: 32127 };
    expect(ipvsVirtualServers(web, port, '198.18.0.11')).toEqual([
      { key: '198.18.18.147:80/TCP', type: 'ClusterIP', kind: 'cluster' },
      { key: '198.18.32.1:80/TCP', type: 'LoadBalancer', kind: 'local' },
      { key: '198.18.0.11:32127/TCP', type: 'NodePort', kind: 'local' },
    ]);
  });

  it('GIVEN a table with the node port on further node addresses THEN those are the Service\'s node port virtual servers too', () => {
    const extra = parseIpvsadm(`${ipvsadm('ipvs-steady', 1)}TCP  198.18.48.9:32010 rr\n  -> 198.18.128.54:8080           Masq    1      0          0\n`);
    const keys = ipvsVirtualServers(api.services['web-np'], { port: 80, protocol: 'TCP', nodePort: 32010 }, '198.18.0.11', extra).map((v) => `${v.type} ${v.key}`);
    expect(keys).toEqual(['ClusterIP 198.18.21.154:80/TCP', 'NodePort 198.18.0.11:32010/TCP', 'NodePort 198.18.48.9:32010/TCP']);
  });

  it('GIVEN node 3\'s table THEN the cluster virtual servers share one real-server table and the local ones another, rr, a half each locally', () => {
    const virtualServers = ipvsVirtualServers(api.services.web, { port: 80, protocol: 'TCP', nodePort: 32127 }, '198.18.0.13');
    const rules = ipvsPortRules(ipvsadm('ipvs-steady', 3), { port: 'http', protocol: 'TCP', virtualServers });
    expect(rules.chains.map((c) => [c.kind, c.chain, c.scheduler])).toEqual([
      ['cluster', 'TCP 198.18.18.147:80 rr', 'rr'],
      ['local', 'TCP 198.18.32.1:80 rr, TCP 198.18.0.13:32127 rr', 'rr'],
    ]);
    expect(rules.chains[1]?.endpoints.map((e) => [`${e.address}:${e.port}`, e.share])).toEqual([['198.18.128.54:8080', 0.5], ['198.18.128.78:8080', 0.5]]);
  });

  it('GIVEN a table without the Service THEN its virtual servers are absent', () => {
    const virtualServers = ipvsVirtualServers(api.services.web, { port: 80, protocol: 'TCP', nodePort: 32127 }, '198.18.0.13');
    const rules = ipvsPortRules('IP Virtual Server version 1.2.1 (size=4096)\n', { port: 'http', protocol: 'TCP', virtualServers });
    expect(rules.chains.every((c) => c.absent && c.endpoints.length === 0)).toBe(true);
    expect(rules.chains[0]?.chain).toBe('198.18.18.147:80/TCP (not in the IPVS table)');
  });
});

describe('inspect model on an ipvs lab: each node\'s IPVS table against the slices', () => {
  it('GIVEN ipvs-steady THEN every node is in sync and each real server is named by its pod', () => {
    const model = inspectService(fixtureInput('ipvs-steady'));
    expect(model.summary.nodesOutOfSync).toEqual([]);
    expect(model.proxy.nodes.map((n) => [n.node, n.mode, n.inSync])).toEqual([1, 2, 3].map((i) => [`insp-node-${i}`, 'ipvs', true]));
    const cluster = model.proxy.nodes[0]?.ports[0]?.chains.find((c) => c.kind === 'cluster');
    expect(cluster?.endpoints.map((e) => [e.share, e.weight, e.forward, Boolean(e.pod)])).toEqual(Array(4).fill([0.25, 1, 'Masq', true]));
    expect(model.findings).toEqual([]);
  });

  it('GIVEN ipvs-terminating THEN the terminating pod at weight 0 is draining, not out of sync, and a note says so', () => {
    const model = inspectService(fixtureInput('ipvs-terminating'));
    expect(model.summary).toMatchObject({ servingTerminatingEndpoints: 1, nodesOutOfSync: [] });
    const n3Local = model.proxy.nodes[2]?.ports[0]?.chains.find((c) => c.kind === 'local');
    expect(n3Local?.endpoints.map((e) => [e.address, e.weight, e.share, e.state ?? 'active', e.activeConnections])).toEqual([['198.18.128.54', 0, 0, 'draining', 2], ['198.18.128.78', 1, 1, 'active', 0]]);
    expect(model.findings.filter((f) => f.level === 'warning')).toEqual([]);
    expect(model.findings).toContainEqual({ level: 'note', message: expect.stringMatching(/^insp-node-3: port http: 1 real server\(s\) draining at weight 0 \(IPVS graceful termination.*198\.18\.128\.54:8080 \(web-797bc786d5-x8h7t\): 2 active, 5 inactive$/) });
  });

  it('GIVEN ipvs-stale THEN node 2 is out of sync: its cluster virtual servers lack the new pod', () => {
    const model = inspectService(fixtureInput('ipvs-stale'));
    expect(model.summary.nodesOutOfSync).toEqual(['insp-node-2']);
    const cluster = model.proxy.nodes[1]?.ports[0]?.chains.find((c) => c.kind === 'cluster');
    expect(cluster).toMatchObject({ inSync: false, missing: ['198.18.128.56:8080'], unexpected: [], scheduler: 'rr' });
    expect(model.findings.map((f) => f.message)).toContainEqual(expect.stringMatching(/^insp-node-2: the cluster virtual servers of port http \(TCP 198\.18\.18\.147:80 rr\) lack 198\.18\.128\.56:8080 \(web-797bc786d5-ncdff\): send to 4, the EndpointSlices call for 5/));
  });

  it('GIVEN a node whose table lacks the Service THEN it is out of sync even for a local virtual server with nothing to send to', () => {
    const input = fixtureInput('ipvs-steady', 'web-np');
    const rules = input.rules?.map((r) => (r.node === 'insp-node-1' ? { ...r, ipvs: 'IP Virtual Server version 1.2.1 (size=4096)\n' } : r));
    const model = inspectService({ ...input, ...(rules ? { rules } : {}) });
    expect(model.summary.nodesOutOfSync).toEqual(['insp-node-1']);
  });
});

describe('inspect rendering of an ipvs lab', () => {
  it('GIVEN ipvs-terminating THEN each node lists its virtual servers by type with the scheduler, real servers with weight, share and connections, and the draining one', () => {
    const text = renderInspection(inspectService(fixtureInput('ipvs-terminating')), { fancy: false });
    expect(text).toContain('proxy mode ipvs');
    expect(text).toContain('insp-node-3 (netns kth-insp-n3): in sync with the EndpointSlices');
    expect(text).toContain('local virtual servers LoadBalancer 198.18.32.1:80/TCP, NodePort 198.18.0.13:32127/TCP, rr: in turn: 1 real server (+1 draining at weight 0)');
    expect(text).toMatch(/198\.18\.128\.54:8080 {2}Masq {2}weight 0 {2}draining: no new connections \(2 active, 5 inactive\) {2}web-797bc786d5-x8h7t on insp-node-3/);
    expect(text).toMatch(/198\.18\.129\.166:8080 {2}Masq {2}weight 1 {2}25\.0% of new connections {2}\(0 active, \d inactive\) {2}web-797bc786d5-97srw on insp-node-2/);
  });

  it('GIVEN a stale node THEN OUT OF SYNC and what is missing', () => {
    const text = renderInspection(inspectService(fixtureInput('ipvs-stale')), { fancy: false });
    expect(text).toContain('insp-node-2 (netns kth-insp-n2): OUT OF SYNC with the EndpointSlices');
    expect(text).toMatch(/cluster virtual servers ClusterIP 198\.18\.18\.147:80\/TCP, rr: in turn: 4 real servers - expected 5, missing 198\.18\.128\.56:8080/);
  });
});
