import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CrashLoopBackoff } from '../../../../harness/lab/agent/backoff.ts';
import { parseAgentConfig, zoneOf } from '../../../../harness/lab/agent/config.ts';
import { parseMountinfo } from '../../../../harness/lab/agent/host-mount-ns.ts';
import { assignableRange, PodIpam } from '../../../../harness/lab/agent/ipam.ts';
import { desiredPodRoutes } from '../../../../harness/lab/agent/routes.ts';

describe('CrashLoopBackoff (the kubelet schedule)', () => {
  it('GIVEN base 10s max 300s WHEN a container keeps crashing THEN restarts at once, then after 10, 20, 40 … capped at 300 s', () => {
    const backoff = new CrashLoopBackoff({ baseMs: 10_000, maxMs: 300_000 });
    let now = 0;
    const delays: number[] = [];
    for (let crash = 0; crash < 8; crash += 1) {
      const delay = backoff.delayBeforeRestart('p/c', now, now);
      delays.push(delay);
      now += delay;
      backoff.restarted('p/c', now);
      now += 1; // crashes 1 ms after each start
    }
    expect(delays).toEqual([0, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
  });
  it('GIVEN a container that ran longer than twice the max THEN the backoff starts over', () => {
    const backoff = new CrashLoopBackoff({ baseMs: 10_000, maxMs: 300_000 });
    backoff.restarted('p/c', 0);
    expect(backoff.delayBeforeRestart('p/c', 1000, 1000)).toBe(10_000);
    expect(backoff.delayBeforeRestart('p/c', 700_000, 700_000)).toBe(0);
  });
  it('GIVEN time already spent since the crash THEN only the rest is waited', () => {
    const backoff = new CrashLoopBackoff({ baseMs: 10_000, maxMs: 300_000 });
    backoff.restarted('p/c', 0);
    expect(backoff.delayBeforeRestart('p/c', 1000, 7000)).toBe(4000);
  });
});

describe('PodIpam', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kth-ipam-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('GIVEN a /24 THEN the range is .2–.254 (network, .1 and broadcast never handed out)', () => {
    const range = assignableRange('198.18.129.0/24');
    expect(range.last - range.first + 1).toBe(253);
  });

  it('GIVEN allocations WHEN an address is freed THEN it is not reused at once (round robin); a restarted IPAM keeps live ones', async () => {
    const path = join(dir, 'ipam.json');
    const ipam = await PodIpam.open(path, '198.18.129.0/29');
    expect(await ipam.allocate('a', 'ns/a')).toBe('198.18.129.2');
    expect(await ipam.allocate('b', 'ns/b')).toBe('198.18.129.3');
    expect(await ipam.allocate('a', 'ns/a')).toBe('198.18.129.2');
    await ipam.release('a');
    expect(await ipam.allocate('c', 'ns/c')).toBe('198.18.129.4');
    const reopened = await PodIpam.open(path, '198.18.129.0/29');
    expect(reopened.addressOf('b')).toBe('198.18.129.3');
    expect(await reopened.allocate('d', 'ns/d')).toBe('198.18.129.5');
    expect(await reopened.allocate('e', 'ns/e')).toBe('198.18.129.6');
    expect(await reopened.allocate('f', 'ns/f')).toBe('198.18.129.2'); // wrapped to the freed one
    await expect(reopened.allocate('g', 'ns/g')).rejects.toThrow(/no free pod address/);
    expect((await reopened.releaseAllExcept(new Set(['b']))).map((f) => f.uid).sort()).toEqual(['c', 'd', 'e', 'f']);
  });

  it('GIVEN a state file for another podCIDR THEN it is discarded', async () => {
    const path = join(dir, 'ipam.json');
    await (await PodIpam.open(path, '198.18.129.0/24')).allocate('a', 'ns/a');
    expect((await PodIpam.open(path, '198.18.130.0/24')).allocations()).toEqual([]);
  });
});

describe('agent config', () => {
  const valid = {
    labName: 'lab',
    nodeName: 'lab-node-1',
    nodeIndex: 1,
    nodeIp: '198.18.0.11',
    kubeconfigPath: '/x/kubeconfig',
    stateDir: '/x/nodes/lab-node-1',
    clusterCidr: '198.18.128.0/17',
    podNetnsPrefix: 'kth-lab-p-',
    repoRoot: '/repo',
  };
  it('GIVEN what the lab supervisor writes THEN defaults fill the rest', () => {
    expect(parseAgentConfig(valid)).toMatchObject({ uplinkInterface: 'eth0', crashLoopBackoffBaseMs: 10_000, leaseRenewIntervalMs: 10_000 });
  });
  it('GIVEN several problems THEN every one is reported with its path', () => {
    expect(() => parseAgentConfig({ ...valid, nodeIp: '1.2.3', clusterCidr: 'x', extra: 1 })).toThrow(/nodeIp[\s\S]*clusterCidr[\s\S]*extra/);
  });
  it('GIVEN node index 1, 2, 3 THEN zones lab-z1, lab-z2, lab-z0; a configured zone wins', () => {
    expect([1, 2, 3].map((nodeIndex) => zoneOf({ nodeIndex, nodeIp: '198.18.0.11' }))).toEqual(['lab-z1', 'lab-z2', 'lab-z0']);
    expect(zoneOf({ nodeIp: '198.18.0.12' })).toBe('lab-z2');
    expect(zoneOf({ zone: 'z', nodeIp: '198.18.0.12' })).toBe('z');
  });
});

describe('parseMountinfo', () => {
  it('GIVEN a slave /run/netns THEN its master peer group', () => {
    const text = [
      '43 27 254:0 /run/netns /run/netns rw,relatime shared:2 - ext4 /dev/vda rw',
      '612 600 254:0 /run/netns /run/netns rw,relatime master:2 - ext4 /dev/vda rw',
    ].join('\n');
    expect(parseMountinfo(text)).toEqual([
      { mountPoint: '/run/netns', shared: 2 },
      { mountPoint: '/run/netns', master: 2 },
    ]);
  });
});

describe('desiredPodRoutes', () => {
  it('GIVEN three nodes, one without a podCIDR THEN routes to the other nodes that have one, never to itself', () => {
    const node = (name: string, ip: string, podCIDR?: string) => ({
      metadata: { name },
      spec: podCIDR ? { podCIDR } : {},
      status: { addresses: [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: name }] },
    });
    const routes = desiredPodRoutes([node('n1', '198.18.0.11', '198.18.128.0/24'), node('n2', '198.18.0.12', '198.18.129.0/24'), node('n3', '198.18.0.13')], 'n1');
    expect([...routes]).toEqual([['198.18.129.0/24', '198.18.0.12']]);
  });
});
