import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { run } from '../../../../harness/core/exec.ts';
import { checkRuleset, deleteTable, listTable, loadRuleset } from '../../../../harness/lab/load-balancer/nft.ts';
import { renderRuleset, type LbTarget } from '../../../../harness/lab/load-balancer/ruleset.ts';

/**
 * The rendered ruleset on a real kernel: a throwaway copy of the lab's external path
 * (client 198.18.48.2 → lb 198.18.48.1 / 198.18.0.3 → nodes 198.18.0.11, .12) in namespaces this
 * test creates and removes. Each "node" runs a tiny server on its NodePort that answers with its
 * name and the source address it saw, so the assertions are about packets that really flowed.
 */
const prefix = `kthtest-lb${process.pid}-`;
const ns = { client: `${prefix}c`, lb: `${prefix}lb`, n1: `${prefix}n1`, n2: `${prefix}n2` };
const nodeIps = { n1: '198.18.0.11', n2: '198.18.0.12' } as const;
const vip = '198.18.32.1';
const table = 'kth_lb';
const pool = '198.18.32.0/24';
const servers: ChildProcessWithoutNullStreams[] = [];

const target = (nodes: string[]): LbTarget[] => [
  { service: 'test/web', portName: 'http', ip: vip, protocol: 'TCP', port: 80, nodePort: 31000, nodes },
  { service: 'test/dns', portName: 'dns', ip: vip, protocol: 'UDP', port: 53, nodePort: 31053, nodes },
];

const ip = (netns: string | null, ...lines: string[]) =>
  run(netns ? ['ip', '-n', netns, '-batch', '-'] : ['ip', '-batch', '-'], { input: `${lines.join('\n')}\n`, purpose: 'wire the test namespaces' });

/** A node's server: answers every line on TCP and every UDP datagram with "<node> <source address>". */
const serverScript = `
const net = require('node:net'); const dgram = require('node:dgram');
const [node, host] = process.argv.slice(1);
net.createServer((s) => { s.setEncoding('utf8'); s.on('data', () => s.write(node + ' ' + s.remoteAddress + '\\n')); s.on('error', () => {}); })
  .listen(31000, host, () => { const u = dgram.createSocket('udp4'); u.on('message', (m, r) => u.send(node + ' ' + r.address, r.port, r.address)); u.bind(31053, host, () => console.log('ready')); });
`;

/** Client: N short connections, one line each; prints JSON [{node, source} | {error}]. Bounded by per-connection timeouts. */
const shortConnectionsScript = `
const net = require('node:net');
const [host, port, count] = process.argv.slice(1);
const one = () => new Promise((resolve) => {
  const s = net.connect({ host, port: Number(port) }); let buf = '';
  const t = setTimeout(() => { s.destroy(); resolve({ error: 'timeout' }); }, 2000);
  s.setEncoding('utf8'); s.on('connect', () => s.write('hi\\n'));
  s.on('data', (d) => { buf += d; if (buf.includes('\\n')) { clearTimeout(t); s.end(); const [node, source] = buf.trim().split(' '); resolve({ node, source }); } });
  s.on('error', (e) => { clearTimeout(t); resolve({ error: e.code || e.message }); });
});
(async () => { const out = []; for (let i = 0; i < Number(count); i++) out.push(await one()); console.log(JSON.stringify(out)); })();
`;

/** Client: one UDP datagram, prints {node, source} or {error}. */
const udpScript = `
const dgram = require('node:dgram'); const [host, port] = process.argv.slice(1);
const u = dgram.createSocket('udp4'); const t = setTimeout(() => { console.log(JSON.stringify({ error: 'timeout' })); u.close(); }, 2000);
u.on('message', (m) => { clearTimeout(t); const [node, source] = m.toString().split(' '); console.log(JSON.stringify({ node, source })); u.close(); });
u.send('hi', Number(port), host);
`;

/** Client: one persistent connection; asks, prints, waits for "go" on stdin, asks again on the same connection. */
const persistentScript = `
const net = require('node:net'); const readline = require('node:readline');
const [host, port] = process.argv.slice(1);
const s = net.connect({ host, port: Number(port) }); s.setEncoding('utf8');
const lines = readline.createInterface({ input: s });
const kill = setTimeout(() => process.exit(3), 20000);
let n = 0;
lines.on('line', (l) => { n++; console.log(JSON.stringify({ answer: n, line: l })); if (n === 2) { clearTimeout(kill); s.end(); process.stdin.destroy(); } });
s.on('connect', () => s.write('1\\n'));
readline.createInterface({ input: process.stdin }).on('line', () => s.write('2\\n'));
`;

async function inClient(script: string, ...args: string[]): Promise<unknown> {
  const result = await run(['ip', 'netns', 'exec', ns.client, process.execPath, '-e', script, ...args], { timeoutMs: 60_000, purpose: 'run the test client' });
  return JSON.parse(result.stdout.trim());
}

beforeAll(async () => {
  for (const name of Object.values(ns)) {
    await run(['ip', 'netns', 'add', name]);
    await ip(name, 'link set lo up');
  }
  await ip(ns.lb, 'link add br0 type bridge', `addr add 198.18.0.3/24 dev br0`, 'link set br0 up',
    `link add cl0 type veth peer name eth0 netns ${ns.client}`, 'addr add 198.18.48.1/24 dev cl0', 'link set cl0 up');
  await ip(ns.client, 'addr add 198.18.48.2/24 dev eth0', 'link set eth0 up', 'route add 198.18.0.0/15 via 198.18.48.1');
  for (const [node, address] of Object.entries(nodeIps)) {
    const netns = ns[node as 'n1'];
    await ip(ns.lb, `link add v${node} type veth peer name eth0 netns ${netns}`, `link set v${node} master br0`, `link set v${node} up`);
    await ip(netns, `addr add ${address}/24 dev eth0`, 'link set eth0 up', 'route add 198.18.48.0/24 via 198.18.0.3');
  }
  await run(['ip', 'netns', 'exec', ns.lb, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  for (const [node, address] of Object.entries(nodeIps)) {
    const child = spawn('ip', ['netns', 'exec', ns[node as 'n1'], process.execPath, '-e', serverScript, node, address]);
    servers.push(child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server on ${node} did not start`)), 10_000);
      createInterface({ input: child.stdout }).once('line', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}, 60_000);

afterAll(async () => {
  for (const child of servers) if (child.pid) process.kill(child.pid, 'SIGKILL');
  for (const name of Object.values(ns)) await run(['ip', 'netns', 'delete', name], { nothrow: true });
  const left = await run(['ip', 'netns', 'list'], { nothrow: true });
  expect(left.stdout).not.toContain(prefix);
}, 30_000);

describe('lab load balancer nft ruleset on a real kernel', () => {
  it('GIVEN many Services WHEN checked with nft -c THEN the kernel accepts the ruleset', async () => {
    const many: LbTarget[] = Array.from({ length: 200 }, (_, i) => ({
      service: `ns/s${i}`, portName: '', ip: `198.18.32.${1 + (i % 254)}`, protocol: i % 2 ? 'UDP' : 'TCP', port: 1000 + i, nodePort: 30000 + i,
      nodes: i % 7 === 0 ? [] : ['198.18.0.11', '198.18.0.12', '198.18.0.13'].slice(0, 1 + (i % 3)),
    }));
    await expect(checkRuleset(renderRuleset({ table, pool, targets: many }), ns.lb)).resolves.toBeUndefined();
  });

  it('GIVEN two nodes WHEN 60 short TCP connections go to the LB address THEN both nodes get some, each sees the client address (no SNAT)', async () => {
    await loadRuleset(renderRuleset({ table, pool, targets: target([nodeIps.n1, nodeIps.n2]) }), ns.lb);
    const answers = (await inClient(shortConnectionsScript, vip, '80', '60')) as { node?: string; source?: string; error?: string }[];
    expect(answers.filter((a) => a.error)).toEqual([]);
    const perNode = { n1: answers.filter((a) => a.node === 'n1').length, n2: answers.filter((a) => a.node === 'n2').length };
    expect(perNode.n1 + perNode.n2).toBe(60);
    // Random spread: P(one node gets < 10 of 60) is about 1e-7.
    expect(perNode.n1).toBeGreaterThanOrEqual(10);
    expect(perNode.n2).toBeGreaterThanOrEqual(10);
    expect(new Set(answers.map((a) => a.source))).toEqual(new Set(['198.18.48.2']));
  }, 60_000);

  it('GIVEN a UDP port THEN a datagram reaches a node NodePort and the answer comes back from the LB address', async () => {
    await loadRuleset(renderRuleset({ table, pool, targets: target([nodeIps.n1]) }), ns.lb);
    expect(await inClient(udpScript, vip, '53')).toEqual({ node: 'n1', source: '198.18.48.2' });
  }, 30_000);

  it('GIVEN an established connection WHEN the table is replaced without its node THEN it stays on its node, and new connections go to the remaining one', async () => {
    await loadRuleset(renderRuleset({ table, pool, targets: target([nodeIps.n1]) }), ns.lb);
    const client = spawn('ip', ['netns', 'exec', ns.client, process.execPath, '-e', persistentScript, vip, '80']);
    try {
      const lines = createInterface({ input: client.stdout })[Symbol.asyncIterator]();
      const first = JSON.parse(String((await lines.next()).value)) as { line: string };
      expect(first.line).toBe('n1 198.18.48.2');

      await loadRuleset(renderRuleset({ table, pool, targets: target([nodeIps.n2]) }), ns.lb);
      client.stdin.write('go\n');
      const second = JSON.parse(String((await lines.next()).value)) as { line: string };
      expect(second.line).toBe('n1 198.18.48.2');

      const fresh = (await inClient(shortConnectionsScript, vip, '80', '10')) as { node?: string }[];
      expect(fresh.map((a) => a.node)).toEqual(Array(10).fill('n2'));
    } finally {
      if (client.exitCode === null && client.pid) process.kill(client.pid, 'SIGKILL');
    }
  }, 30_000);

  it('GIVEN no eligible node (or an unknown port) THEN connections are refused at once with a reset, not left to time out', async () => {
    await loadRuleset(renderRuleset({ table, pool, targets: target([]) }), ns.lb);
    const started = performance.now();
    expect(await inClient(shortConnectionsScript, vip, '80', '3')).toEqual(Array(3).fill({ error: 'ECONNREFUSED' }));
    await loadRuleset(renderRuleset({ table, pool, targets: target([nodeIps.n1]) }), ns.lb);
    expect(await inClient(shortConnectionsScript, '198.18.32.99', '80', '1')).toEqual([{ error: 'ECONNREFUSED' }]);
    expect(await inClient(shortConnectionsScript, vip, '81', '1')).toEqual([{ error: 'ECONNREFUSED' }]);
    expect(performance.now() - started).toBeLessThan(5000);
  }, 30_000);

  it('GIVEN the table WHEN deleted THEN only it goes, and deleting again is fine', async () => {
    await loadRuleset(renderRuleset({ table, pool, targets: target([nodeIps.n1]) }), ns.lb);
    expect(await listTable(table, ns.lb)).toMatch(/numgen random mod 1/);
    await deleteTable(table, ns.lb);
    expect(await listTable(table, ns.lb)).toBeUndefined();
    await expect(deleteTable(table, ns.lb)).resolves.toBeUndefined();
  }, 30_000);
});
