import { jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import { run } from '../../../harness/core/exec.ts';
import { type DockerEngine, useDockerEngine } from '../../../harness/docker/engine.ts';
import { ensureDockerNetwork, harnessNetwork, outsideNetwork } from '../../../harness/docker/network.ts';
import { kubeconfigPathOf, readKindRecords } from '../../../harness/kind/cluster.ts';
import { ensureOutsidePath, kindLoadBalancer, removeOutsidePathIfUnused } from '../../../harness/kind/load-balancer.ts';
import { connect } from '../../../harness/kube/cluster.ts';
import { listNetns } from '../../../harness/lab/netns.ts';
import { baseImageRef } from '../../../harness/workloads/image/names.ts';
import { ManagedByLabel, managedByValue } from '../../../manifests/names.ts';
import { eventually } from '../../support/eventually.ts';
import { failures, kthRun } from '../../support/kth-run.ts';

/**
 * `--provider kind` end to end on this machine: the node image the harness built offline (setup
 * builds it; here it must be reused), kind clusters in iptables and nftables mode, the built-in
 * scenarios unchanged, external clients as containers behind the kind load balancer, and nothing
 * left afterwards — no cluster, container, network, namespace or rule.
 */
jest.setTimeout(1_200_000);

/** What the harness leaves on the Docker engine and host between runs: nothing. */
async function leftovers(): Promise<string[]> {
  const containers = (await run(['docker', 'ps', '--all', '--format', '{{.Names}}', '--filter', 'label=io.x-k8s.kind.cluster'], { nothrow: true })).stdout.trim().split('\n').filter((name) => name.startsWith('kth-'));
  const networks = (await run(['docker', 'network', 'ls', '--format', '{{.Name}}'], { nothrow: true })).stdout.trim().split('\n').filter((name) => name === harnessNetwork.name || name === outsideNetwork.name);
  const netns = (await listNetns()).filter((name) => name === kindLoadBalancer.netns);
  const records = readKindRecords().map((record) => `record ${record.name}`);
  const guard = (await run(['nft', 'list', 'table', 'inet', 'kth_docker_guard'], { nothrow: true })).exitCode === 0 ? ['nft table kth_docker_guard'] : [];
  return [...containers, ...networks, ...netns, ...records, ...guard];
}

let engine: DockerEngine;
beforeAll(async () => {
  // Holding the engine across the file keeps one dockerd for all of it (each run would otherwise start its own).
  engine = await useDockerEngine({ purpose: 'the kind tests', log: () => undefined, privileged: true });
});
afterAll(async () => {
  await engine?.release();
});

describe('kth run --provider kind', () => {
  // One mode here: a cluster per mode is the same step taken twice (the run pipeline's loop over
  // modes is the lab's, tested in proxy-mode-matrix); nftables runs on the kept cluster below.
  // One cluster of its own for both ends of a run: its first variant completes (checks, cross-check),
  // then Ctrl-C as the second deploys — the partial report is kept and the cluster still goes.
  it('GIVEN keepalive-imbalance on a kind cluster of its own, interrupted (Ctrl-C) as its second variant deploys THEN the first variant passed with the clients\' counts equal to the servers\', exit 130 with the partial report, and no cluster is left', async () => {
    const { code, stderr, report } = await kthRun('scenarios/keepalive-imbalance.ts', ['--provider', 'kind', '--proxy-mode', 'iptables', '--time-scale', '0.25'], { interruptAfter: /\[iptables\/short-lived\] deploying/ });
    expect(code).toBe(130);
    expect(report.environment.provider).toBe('kind');
    expect(report.environment.kind?.nodeImage).toMatch(/^kube-traffic-harness\/kind-node:/);
    expect(report.environment.kind?.kindVersion).toMatch(/^v0\.\d+\.\d+/);
    expect(report.environment.kind?.clusters.map((c) => c.proxyMode)).toEqual(['iptables']);
    const [first, ...rest] = report.runs;
    expect(`${first?.proxyMode}/${first?.variant} ${first?.status}`).toBe('iptables/persistent passed');
    expect(failures({ ...report, runs: first ? [first] : [] })).toEqual([]);
    expect(first?.crossCheck?.agree).toBe(true);
    expect(first?.totals?.serverCounted).toBe(first?.totals?.attributed);
    expect(first?.dataplane?.options.detectedFrom).toMatch(/kube-system\/kube-proxy ConfigMap/);
    for (const run of rest) expect(run.reason ?? '').toMatch(/interrupted/);
    expect(stderr).toMatch(/kind cluster kth-iptables-[0-9a-f]{6} Ready in/);
    expect(await leftovers()).toEqual([]);
  });

  it('GIVEN the harness networks THEN a container on either cannot reach an address the host could forward to (the guard drops it), and removing them leaves nothing', async () => {
    // A listener one routed hop from the host, in a namespace of its own: reachable from the host,
    // and from the containers only if the host forwarded their packets — which is what must not happen.
    const probe = 'kthprobe-fwd'; // not kth-…: the lab's cleanup would take it for a lab's
    await run(['ip', 'netns', 'add', probe]);
    const listener = spawn('ip', ['netns', 'exec', probe, process.execPath, '-e', "require('net').createServer((s) => s.end('hi')).listen(8080, '169.254.250.2'); setTimeout(() => {}, 600000)"], { stdio: 'ignore' });
    try {
      await run(['ip', '-batch', '-'], { input: `link add kthprobe0 type veth peer name p0 netns ${probe}\naddr add 169.254.250.1/30 dev kthprobe0\nlink set kthprobe0 up\n` });
      await run(['ip', '-n', probe, '-batch', '-'], { input: 'addr add 169.254.250.2/30 dev p0\nlink set p0 up\nlink set lo up\nroute add 198.19.0.0/16 via 169.254.250.1\n' });
      await ensureDockerNetwork(harnessNetwork);
      await ensureOutsidePath();
      const connect = (network: string) => run(['docker', 'run', '--rm', '--network', network, baseImageRef(), 'node', '-e', `
        const s = require('net').connect({ host: '169.254.250.2', port: 8080, timeout: 3000 });
        s.on('data', () => { console.log('connected'); process.exit(0); });
        s.on('timeout', () => { console.log('timeout'); process.exit(0); });
        s.on('error', (e) => { console.log(e.code); process.exit(0); });`], { nothrow: true, timeoutMs: 60_000 });
      // The host itself reaches it: the listener is up, so a refusal below is the guard's doing.
      await eventually('the probe listener answers the host', 10_000, async () => {
        const reached = await run([process.execPath, '-e', "require('net').connect(8080, '169.254.250.2').on('data', () => process.exit(0)).on('error', () => process.exit(1))"], { nothrow: true, timeoutMs: 5000 });
        return reached.exitCode === 0 || `exit ${reached.exitCode}`;
      });
      for (const network of [harnessNetwork.name, outsideNetwork.name]) {
        expect([network, (await connect(network)).stdout.trim()]).toEqual([network, expect.stringMatching(/^(timeout|EHOSTUNREACH|ENETUNREACH)$/)]);
      }
    } finally {
      listener.kill('SIGKILL');
      await run(['ip', 'netns', 'delete', probe], { nothrow: true });
      await removeOutsidePathIfUnused();
      await run(['docker', 'network', 'rm', harnessNetwork.name], { nothrow: true });
      await run(['nft', 'delete', 'table', 'inet', 'kth_docker_guard'], { nothrow: true });
    }
    expect(await leftovers()).toEqual([]);
  });
});

/**
 * Runs on a kind cluster that was up before them (`kth kind up`, then `kth run --cluster`): one
 * 3-node nftables cluster for both scenarios, as a user iterating on a cluster would. Each run's
 * namespace goes after it; the cluster stays until `kth kind down`, which leaves nothing.
 */
describe('kth run --provider kind --cluster (a kept cluster)', () => {
  let cluster = '';
  const kth = (args: readonly string[]) => run([process.execPath, 'harness/bin/kth.mjs', ...args], { nothrow: true, timeoutMs: 900_000 });
  /** The runs' namespaces still there and not being deleted. */
  const runNamespaces = async () => {
    const list = await connect(kubeconfigPathOf(cluster)).core.listNamespace({ labelSelector: `${ManagedByLabel}=${managedByValue}` });
    return list.items.filter((ns) => !ns.metadata?.deletionTimestamp).map((ns) => ns.metadata?.name);
  };
  beforeAll(async () => {
    const up = await kth(['kind', 'up', '--proxy-mode', 'nftables', '--nodes', '3']);
    expect({ code: up.exitCode, stderr: up.exitCode === 0 ? '' : up.stderr.slice(-3000) }).toEqual({ code: 0, stderr: '' });
    cluster = /kind cluster (kth-nftables-[0-9a-f]{6}) kept/.exec(up.stdout)?.[1] ?? '';
    expect(cluster).not.toBe('');
  }, 900_000);
  afterAll(async () => {
    if (cluster) await kth(['kind', 'down', '--name', cluster]);
    expect(await leftovers()).toEqual([]);
  }, 300_000);

  it('GIVEN another proxy mode or a cluster the harness did not make THEN exit 2 before anything is made', async () => {
    const wrongMode = await kthRun('scenarios/rollout-prestop.ts', ['--provider', 'kind', '--cluster', cluster, '--proxy-mode', 'iptables']).catch((error: Error) => ({ error: error.message }));
    expect(JSON.stringify(wrongMode)).toMatch(/exit 2[\s\S]*--proxy-mode iptables: kind cluster kth-nftables-[0-9a-f]{6} runs nftables/);
    const unknown = await kthRun('scenarios/rollout-prestop.ts', ['--provider', 'kind', '--cluster', 'kth-iptables-000000']).catch((error: Error) => ({ error: error.message }));
    expect(JSON.stringify(unknown)).toMatch(/exit 2[\s\S]*the harness made no kind cluster of that name/);
  });

  it('GIVEN rollout-prestop THEN it passes on kind as on the lab', async () => {
    const { code, report } = await kthRun('scenarios/rollout-prestop.ts', ['--provider', 'kind', '--cluster', cluster, '--proxy-mode', 'nftables', '--time-scale', '0.25']);
    expect(failures(report)).toEqual([]);
    expect(code).toBe(0);
    expect(report.environment.kind?.clusters).toEqual([{ proxyMode: 'nftables', name: cluster, nodes: 3, kept: true }]);
    expect(await runNamespaces()).toEqual([]);
  });

  it('GIVEN external-traffic-policy THEN clients in containers outside the cluster reach it through the kind load balancer: Cluster SNATs and hops, Local keeps their address', async () => {
    const { code, report } = await kthRun('scenarios/external-traffic-policy.ts', ['--provider', 'kind', '--cluster', cluster, '--proxy-mode', 'nftables', '--time-scale', '0.25']);
    expect(failures(report)).toEqual([]);
    expect(code).toBe(0);
    for (const r of report.runs) expect(r.loadBalancer?.nodes.length).toBe(3);
    expect(report.environment.kind?.clusters).toEqual([{ proxyMode: 'nftables', name: cluster, nodes: 3, kept: true }]);
    expect(await runNamespaces()).toEqual([]);
  });
});
