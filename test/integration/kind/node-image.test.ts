import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../harness/core/exec.ts';
import { type DockerEngine, useDockerEngine } from '../../../harness/docker/engine.ts';
import { ensureHarnessNetwork, harnessNetwork, removeHarnessNetworkIfUnused } from '../../../harness/docker/network.ts';
import { buildNodeImage, NODE_IMAGE_LABEL, nodeImageRef } from '../../../harness/kind/node-image/index.ts';
import { requireBinary } from '../../../harness/setup/binaries.ts';

// A cold build takes ~10 min on 2 cores (Go builds, debootstrap); from cache the image is reused.
jest.setTimeout(40 * 60_000);

const cluster = 'kth-nodeimage-test';
const node = `${cluster}-control-plane`;

const lines: string[] = [];
const log = (line: string) => lines.push(line);
let engine: DockerEngine | undefined;

async function kubectl(...args: string[]) {
  return run(['docker', 'exec', node, 'kubectl', '--kubeconfig', '/etc/kubernetes/admin.conf', ...args], { nothrow: true, timeoutMs: 60_000 });
}

async function removeProbe(kind: string) {
  await run([kind, 'delete', 'cluster', '--name', cluster], { nothrow: true, timeoutMs: 300_000 });
  await removeHarnessNetworkIfUnused();
}

describe('the kind node image, built with no container registry', () => {
  beforeAll(async () => {
    engine = await useDockerEngine({ purpose: 'kind node image test', log, privileged: true });
  });
  afterAll(async () => {
    await removeProbe(requireBinary('kind'));
    await engine?.release();
  });

  it('GIVEN the recipe WHEN built twice THEN the second call reuses the image within a minute, and its label names every component', async () => {
    const first = await buildNodeImage({ log });
    expect(first.ref).toBe(nodeImageRef());
    const second = await buildNodeImage({ log });
    expect(second).toMatchObject({ ref: first.ref, reused: true });
    expect(second.durationMs).toBeLessThan(60_000);
    for (const name of ['kubelet', 'kubeadm', 'containerd', 'runc', 'crictl', 'ptp', 'image registry.k8s.io/etcd:3.6.8-0']) expect(second.components[name]).toBeTruthy();
    const label = await run(['docker', 'image', 'inspect', '--format', `{{ index .Config.Labels "${NODE_IMAGE_LABEL}" }}`, first.ref]);
    expect(JSON.parse(label.stdout)).toEqual(second.components);
  });

  it('GIVEN the image WHEN kind creates a 1-node cluster on a guarded network THEN the node is Ready, every kube-system pod Running, and nothing was pulled', async () => {
    const kind = requireBinary('kind');
    await removeProbe(kind);
    // Plain kind (not the harness's provider) on the harness's guarded network: the image alone must boot.
    await ensureHarnessNetwork();
    const dir = mkdtempSync(join(tmpdir(), 'kth-nodeimage-'));
    const config = join(dir, 'kind.yaml');
    // kubelet 1.35+ refuses cgroup v1 unless told otherwise; kind's patch reaches its KubeletConfiguration.
    writeFileSync(config, 'kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nkubeadmConfigPatches:\n- |\n  kind: KubeletConfiguration\n  failCgroupV1: false\n');
    const created = await run([kind, 'create', 'cluster', '--name', cluster, '--image', nodeImageRef(), '--config', config, '--kubeconfig', join(dir, 'kubeconfig'), '--wait', '5m'], {
      env: { KIND_EXPERIMENTAL_DOCKER_NETWORK: harnessNetwork.name },
      nothrow: true,
      timeoutMs: 600_000,
    });
    expect(created.stderr).toContain('Ready after');
    expect(created.exitCode).toBe(0);

    const deadline = Date.now() + 120_000;
    let pods: { metadata: { name: string }; status: { phase: string; containerStatuses?: { ready: boolean }[] } }[] = [];
    while (Date.now() < deadline) {
      pods = JSON.parse((await kubectl('get', 'pods', '-n', 'kube-system', '-o', 'json')).stdout || '{"items":[]}').items;
      if (pods.length >= 8 && pods.every((p) => p.status.phase === 'Running' && p.status.containerStatuses?.every((c) => c.ready))) break;
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
    expect(pods.filter((p) => p.status.phase !== 'Running').map((p) => p.metadata.name)).toEqual([]);
    expect(pods.map((p) => p.metadata.name.replace(/-[a-z0-9]{5}$|-[a-z0-9]{8,10}-[a-z0-9]{5}$|-kth-nodeimage-test-control-plane$/, '')).sort()).toEqual(
      ['coredns', 'coredns', 'etcd', 'kindnet', 'kube-apiserver', 'kube-controller-manager', 'kube-proxy', 'kube-scheduler'],
    );
    const nodes = await kubectl('get', 'nodes', '-o', 'jsonpath={.items[*].status.conditions[?(@.type=="Ready")].status}');
    expect(nodes.stdout).toBe('True');
    const events = await kubectl('get', 'events', '-A', '-o', 'jsonpath={range .items[*]}{.reason}{"\\n"}{end}');
    expect(events.stdout.split('\n').filter((reason) => /Pulling|ErrImagePull|ImagePullBackOff/.test(reason))).toEqual([]);
    const oom = await run(['docker', 'exec', node, 'grep', '-c', 'restrict_oom_score_adj = true', '/etc/containerd/config.toml'], { nothrow: true });
    const capBnd = /^CapBnd:\s*([0-9a-f]+)$/m.exec((await run(['docker', 'exec', node, 'cat', '/proc/1/status'])).stdout)?.[1] ?? '0';
    // Restricted exactly when the node lacks CAP_SYS_RESOURCE (bit 24).
    expect(oom.stdout.trim() === '1').toBe(((BigInt(`0x${capBnd}`) >> 24n) & 1n) === 0n);
  });
});
