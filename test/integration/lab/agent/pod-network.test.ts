import { spawn, type ChildProcess } from 'node:child_process';
import { run } from '../../../../harness/core/exec.ts';
import { createPodNetwork, deletePodNetwork, HOST_VETH_MAC, listPodVeths, type NodeNetContext, POD_GATEWAY_IP } from '../../../../harness/lab/agent/pod-network.ts';
import { createTestNode, eventually, netnsList, type TestNode } from './support/test-node.ts';

/**
 * The pod network plumbing on real namespaces: a pod wired into a throwaway node, reachable from
 * the node and reaching it back, routed through the node (no bridge), with no way out of the lab;
 * and gone without a trace when deleted.
 */
describe('pod network plumbing', () => {
  let node: TestNode;
  let context: NodeNetContext;
  const servers: ChildProcess[] = [];

  beforeAll(async () => {
    node = await createTestNode();
    context = { nodeNetns: node.nodeNetns, netnsCommandPrefix: [] };
  });
  afterEach(() => {
    for (const server of servers.splice(0)) server.kill('SIGKILL');
  });
  afterAll(async () => {
    await node?.destroy();
  });

  const spec = (uid8: string, ip: string) => ({ podNetns: `${node.podNetnsPrefix}${uid8}`, hostVeth: `kp${uid8}`, podIp: ip, alias: `kth-pod:default/web-${uid8}` });

  /** A tiny HTTP server in a namespace that answers with the peer address it saw. */
  function serveIn(netns: string, port: number): ChildProcess {
    const code = `require('http').createServer((q,s)=>s.end(q.socket.remoteAddress)).listen(${port},'0.0.0.0',()=>console.log('up'))`;
    const child = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, KTH_LAB: node.labName } });
    servers.push(child);
    return child;
  }
  const started = (child: ChildProcess) => new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));

  it('GIVEN a pod wired into the node WHEN inspected THEN /32 address, link-local gateway with a static neighbour, host veth with alias, proxy_arp and a /32 route', async () => {
    const s = spec('aaaa0001', '198.18.129.2');
    await createPodNetwork(context, s);
    expect(await netnsList()).toContain(s.podNetns);

    const addr = JSON.parse((await run(['ip', '-n', s.podNetns, '-j', 'addr', 'show', 'eth0'])).stdout) as { addr_info: { local: string; prefixlen: number }[] }[];
    expect(addr[0]?.addr_info.filter((a) => a.local.startsWith('198.')).map((a) => `${a.local}/${a.prefixlen}`)).toEqual(['198.18.129.2/32']);
    const routes = (await run(['ip', '-n', s.podNetns, 'route', 'show'])).stdout;
    expect(routes).toContain(`default via ${POD_GATEWAY_IP} dev eth0`);
    expect(routes).toContain(`${POD_GATEWAY_IP} dev eth0 scope link`);
    const neigh = (await run(['ip', '-n', s.podNetns, 'neigh', 'show', POD_GATEWAY_IP])).stdout;
    expect(neigh).toContain(`lladdr ${HOST_VETH_MAC} PERMANENT`);

    const link = JSON.parse((await run(['ip', '-n', node.nodeNetns, '-j', 'link', 'show', s.hostVeth])).stdout) as { ifalias?: string; address: string }[];
    expect(link[0]).toMatchObject({ ifalias: s.alias, address: HOST_VETH_MAC });
    expect((await run(['ip', 'netns', 'exec', node.nodeNetns, 'cat', `/proc/sys/net/ipv4/conf/${s.hostVeth}/proxy_arp`])).stdout.trim()).toBe('1');
    expect((await run(['ip', '-n', node.nodeNetns, 'route', 'show', '198.18.129.2'])).stdout).toContain(`dev ${s.hostVeth} proto 75 scope link`);
    expect(await listPodVeths(context)).toEqual([{ name: s.hostVeth, alias: s.alias }]);

    await deletePodNetwork(context, s);
  });

  it('GIVEN two pods WHEN they talk to each other and to the node THEN packets are routed by the node (the peer sees the real pod address) and answered', async () => {
    const a = spec('aaaa0002', '198.18.129.3');
    const b = spec('aaaa0003', '198.18.129.4');
    await createPodNetwork(context, a);
    await createPodNetwork(context, b);
    try {
      await started(serveIn(b.podNetns, 8080));
      // pod → pod: through a's veth, the node's routing table, b's veth.
      const fromPod = await run(['ip', 'netns', 'exec', a.podNetns, 'curl', '-sS', '-m', '3', 'http://198.18.129.4:8080/']);
      expect(fromPod.stdout).toBe('198.18.129.3');
      // node → pod: the node's own address as source (as a kubelet's probes come from the node).
      const fromNode = await run(['ip', 'netns', 'exec', node.nodeNetns, 'curl', '-sS', '-m', '3', 'http://198.18.129.4:8080/']);
      expect(fromNode.stdout).toBe(node.nodeIp);
      // pod → node
      await started(serveIn(node.nodeNetns, 9090));
      const toNode = await run(['ip', 'netns', 'exec', a.podNetns, 'curl', '-sS', '-m', '3', `http://${node.nodeIp}:9090/`]);
      expect(toNode.stdout).toBe('198.18.129.3');
      // The forwarded packets crossed the node's netfilter FORWARD hook: count them with a rule.
      await run(['ip', 'netns', 'exec', node.nodeNetns, 'iptables', '-w', '-I', 'FORWARD', '-s', '198.18.129.3', '-d', '198.18.129.4', '-j', 'ACCEPT']);
      await run(['ip', 'netns', 'exec', a.podNetns, 'curl', '-sS', '-m', '3', 'http://198.18.129.4:8080/']);
      const counters = (await run(['ip', 'netns', 'exec', node.nodeNetns, 'iptables', '-w', '-L', 'FORWARD', '-v', '-n', '-x'])).stdout;
      const packets = Number(/^\s*(\d+)\s+\d+\s+ACCEPT.*198\.18\.129\.3\s+198\.18\.129\.4/m.exec(counters)?.[1] ?? 0);
      expect(packets).toBeGreaterThan(0);
    } finally {
      await deletePodNetwork(context, a);
      await deletePodNetwork(context, b);
    }
  });

  it('GIVEN a pod WHEN it sends to an address outside the lab THEN the packet goes nowhere (the node has no default route)', async () => {
    const a = spec('aaaa0004', '198.18.129.5');
    await createPodNetwork(context, a);
    try {
      const result = await run(['ip', 'netns', 'exec', a.podNetns, 'curl', '-sS', '-m', '2', 'http://1.1.1.1/'], { nothrow: true });
      expect(result.exitCode).not.toBe(0);
      expect((await run(['ip', '-n', node.nodeNetns, 'route', 'get', '1.1.1.1'], { nothrow: true })).exitCode).not.toBe(0);
    } finally {
      await deletePodNetwork(context, a);
    }
  });

  it('GIVEN a wired pod WHEN deleted THEN its namespace, veth and route are gone; deleting again is fine', async () => {
    const a = spec('aaaa0005', '198.18.129.6');
    await createPodNetwork(context, a);
    await deletePodNetwork(context, a);
    await deletePodNetwork(context, a);
    expect(await netnsList()).not.toContain(a.podNetns);
    expect((await run(['ip', '-n', node.nodeNetns, 'link', 'show', a.hostVeth], { nothrow: true })).exitCode).not.toBe(0);
    expect((await run(['ip', '-n', node.nodeNetns, 'route', 'show', '198.18.129.6'])).stdout.trim()).toBe('');
    expect(await listPodVeths(context)).toEqual([]);
  });

  it('GIVEN leftovers of a failed attempt WHEN the pod network is created again THEN it is recreated cleanly', async () => {
    const a = spec('aaaa0006', '198.18.129.7');
    await run(['ip', 'netns', 'add', a.podNetns]);
    await createPodNetwork(context, a);
    await eventually('pod reachable', async () => (await run(['ip', 'netns', 'exec', node.nodeNetns, 'ip', 'route', 'get', '198.18.129.7'])).stdout.includes(a.hostVeth));
    await deletePodNetwork(context, a);
  });
});
