import { describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capabilityNames, hostBoundingSet, splitBoundingSet } from '../../../harness/docker/capabilities.ts';
import { dockerdArgs } from '../../../harness/docker/engine.ts';
import { guardRuleset, harnessNetwork, outsideNetwork } from '../../../harness/docker/network.ts';
import { kindClusterName } from '../../../harness/kind/cluster.ts';
import { kindConfig, mergeUserConfig, readUserKindConfig } from '../../../harness/kind/config.ts';
import { kindRunUnsupported } from '../../../harness/engine/providers/kind.ts';
import { HarnessError } from '../../../harness/core/errors.ts';
import { keptCluster } from '../../../harness/engine/providers/kept-cluster.ts';
import type { ScenarioSpec } from '../../../harness/engine/types.ts';
import type { RunSpecs } from '../../../harness/engine/providers/provider.ts';

const plain = { cgroupV1: false };

describe('the kind config the harness generates', () => {
  it('GIVEN one node THEN a lone control plane; GIVEN three THEN a control plane and two workers, in the asked proxy mode', () => {
    expect(kindConfig({ proxyMode: 'iptables', nodes: 1, needs: plain })).toEqual({ kind: 'Cluster', apiVersion: 'kind.x-k8s.io/v1alpha4', networking: { kubeProxyMode: 'iptables' }, nodes: [{ role: 'control-plane' }] });
    const three = kindConfig({ proxyMode: 'nftables', nodes: 3, needs: plain });
    expect(three.nodes).toEqual([{ role: 'control-plane' }, { role: 'worker' }, { role: 'worker' }]);
    expect(three.networking).toEqual({ kubeProxyMode: 'nftables' });
    expect(three.kubeadmConfigPatches).toBeUndefined();
    expect(three.containerdConfigPatches).toBeUndefined();
  });

  it('GIVEN a cgroup v1 host THEN the kubelet is told to run on it, and only then', () => {
    const config = kindConfig({ proxyMode: 'iptables', nodes: 1, needs: { cgroupV1: true } });
    expect(config.kubeadmConfigPatches).toEqual([expect.stringContaining('failCgroupV1: false')]);
  });

  it('GIVEN cilium THEN kube-proxy is off and kind installs no CNI', () => {
    expect(kindConfig({ proxyMode: 'cilium', nodes: 1, needs: plain }).networking).toEqual({ kubeProxyMode: 'none', disableDefaultCNI: true });
  });

  it('GIVEN a user config THEN its nodes replace ours, its patches follow ours, networking merges but the proxy mode stays the scenario\'s', () => {
    const ours = kindConfig({ proxyMode: 'iptables', nodes: 1, needs: { cgroupV1: true } });
    const merged = mergeUserConfig(ours, {
      kind: 'Cluster', apiVersion: 'kind.x-k8s.io/v1alpha4', name: 'theirs',
      nodes: [{ role: 'control-plane', labels: { zone: 'a' } }],
      kubeadmConfigPatches: ['kind: ClusterConfiguration\n'],
      networking: { kubeProxyMode: 'ipvs', podSubnet: '10.240.0.0/16' },
    });
    expect(merged.nodes).toEqual([{ role: 'control-plane', labels: { zone: 'a' } }]);
    expect(merged.kubeadmConfigPatches).toEqual([expect.stringContaining('failCgroupV1'), 'kind: ClusterConfiguration\n']);
    expect(merged.networking).toEqual({ kubeProxyMode: 'iptables', podSubnet: '10.240.0.0/16' });
    expect(merged.name).toBeUndefined();
  });

  it('GIVEN a file that is not a kind config THEN it is refused with what it needs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kth-kind-config-'));
    writeFileSync(join(dir, 'bad.yaml'), 'kind: Pod\napiVersion: v1\n');
    writeFileSync(join(dir, 'good.yaml'), 'kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes: [{role: control-plane}]\n');
    expect(() => readUserKindConfig(join(dir, 'bad.yaml'))).toThrow(HarnessError);
    expect(() => readUserKindConfig(join(dir, 'bad.yaml'))).toThrow(/is not a kind cluster config/);
    expect(() => readUserKindConfig(join(dir, 'missing.yaml'))).toThrow(/cannot read the kind config/);
    expect(readUserKindConfig(join(dir, 'good.yaml')).nodes).toEqual([{ role: 'control-plane' }]);
  });

  it('GIVEN a proxy mode THEN the cluster name carries the harness prefix and mode, and is a valid kind name', () => {
    const name = kindClusterName('nftables');
    expect(name).toMatch(/^kth-nftables-[0-9a-f]{6}$/);
  });
});

describe('what runs on kind', () => {
  const run = (serviceType: 'ClusterIP' | 'NodePort' | 'LoadBalancer', chaos: RunSpecs['chaos'] = []): RunSpecs => ({ workload: { server: 'http', runtime: 'node', replicas: 3, serviceType }, loads: [], chaos, checks: [] } as unknown as RunSpecs);
  it('GIVEN Service types and chaos THEN every Service type and node drains run; kill-process is refused', () => {
    expect(kindRunUnsupported(run('LoadBalancer'))).toBeUndefined();
    expect(kindRunUnsupported(run('NodePort'))).toBeUndefined();
    expect(kindRunUnsupported(run('ClusterIP', [{ spec: { action: 'node-drain', node: 1 } as never, atMs: 0 }]))).toBeUndefined();
    expect(kindRunUnsupported(run('ClusterIP', [{ spec: { action: 'kill-process' } as never, atMs: 0 }]))).toMatch(/kill-process/);
  });
});

describe('the Docker engine the harness starts', () => {
  it('GIVEN a bounding-set mask THEN the capabilities it lacks are named (this CI host lacks CAP_SYS_RESOURCE)', () => {
    expect(splitBoundingSet('000001fffeffffff').missing).toEqual(['CAP_SYS_RESOURCE']);
    expect(splitBoundingSet('000001ffffffffff').missing).toEqual([]);
    expect(splitBoundingSet('000001ffffffffff').present).toHaveLength(capabilityNames.length);
    expect(hostBoundingSet('Name:\tx\nCapBnd:\t000001fffeffffff\n').missing).toEqual(['CAP_SYS_RESOURCE']);
  });

  it('GIVEN a wrapper THEN dockerd runs it by default; no NAT, forwarding, iptables or default bridge in any case', () => {
    const args = dockerdArgs({ pidFile: '/run/x.pid', wrapper: '/c/kth-runc' });
    expect(args).toEqual(expect.arrayContaining(['--iptables=false', '--ip-forward=false', '--ip-masq=false', '--bridge=none', '--add-runtime=kth-runc=/c/kth-runc', '--default-runtime=kth-runc']));
    expect(dockerdArgs({ pidFile: '/run/x.pid' }).some((arg) => arg.includes('runtime'))).toBe(false);
  });

  it('GIVEN the harness network THEN its guard drops whatever would be forwarded into or out of its bridge', () => {
    const rules = guardRuleset([harnessNetwork.bridge, outsideNetwork.bridge]);
    for (const bridge of [harnessNetwork.bridge, outsideNetwork.bridge]) {
      expect(rules).toContain(`iifname "${bridge}" oifname != "${bridge}" drop`);
      expect(rules).toContain(`oifname "${bridge}" iifname != "${bridge}" drop`);
    }
    expect(harnessNetwork.subnet.startsWith('198.19.')).toBe(true);
  });
});

describe('--cluster: a kept kind cluster is checked against the scenario before anything is made', () => {
  const spec = { name: 'web-test' } as ScenarioSpec;
  const withRecord = async (record: object, work: () => Promise<void>) => {
    const state = mkdtempSync(join(tmpdir(), 'kth-kept-'));
    const saved = process.env.KTH_STATE_DIR;
    process.env.KTH_STATE_DIR = state;
    try {
      mkdirSync(join(state, 'kind'));
      writeFileSync(join(state, 'kind', 'kth-iptables-abc123.json'), JSON.stringify(record));
      await work();
    } finally {
      if (saved === undefined) delete process.env.KTH_STATE_DIR;
      else process.env.KTH_STATE_DIR = saved;
    }
  };
  const record = { name: 'kth-iptables-abc123', pid: 1, proxyMode: 'iptables', nodes: 3, image: 'img', createdAt: '', retained: true };
  const refusal = (options: Partial<Parameters<typeof keptCluster>[0]>) =>
    keptCluster({ name: 'kth-iptables-abc123', provider: 'kind', spec, nodes: 3, retain: false, goServers: false, ...options }).then(() => 'accepted', (error: HarnessError) => `${error.kind}: ${error.message} | ${error.hint ?? ''}`);

  it('GIVEN a cluster that fits THEN its mode and nodes; GIVEN another mode, node count or an unknown name THEN bad input that says how to make one that fits', async () => {
    await withRecord(record, async () => {
      const kept = await keptCluster({ name: record.name, provider: 'kind', spec, nodes: 3, retain: false, goServers: false });
      expect([kept.proxyMode, kept.nodes]).toEqual(['iptables', 3]);
      expect(await refusal({ proxyModes: ['nftables'] })).toMatch(/^bad-input: --proxy-mode nftables: kind cluster kth-iptables-abc123 runs iptables/);
      expect(await refusal({ nodes: 2 })).toBe('bad-input: --cluster kth-iptables-abc123 has 3 node(s); scenario web-test is written for 2 | kth kind up --proxy-mode iptables --nodes 2');
      expect(await refusal({ name: 'kth-nftables-000000' })).toMatch(/^bad-input: --cluster kth-nftables-000000: the harness made no kind cluster of that name on this machine \| kth kind status lists them/);
    });
  });
});
