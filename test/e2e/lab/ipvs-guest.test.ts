import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sampleServiceObjects } from '../../../manifests/sample-service.ts';
import { apply, connect, ensureNamespace, podsOf, waitForDeployment } from '../../../harness/kube/cluster.ts';
import { nodeIp } from '../../../harness/lab/addressing.ts';
import { startupScale } from '../../../harness/lab/guest/lab-guest.ts';
import { type StartedLab, startLab } from '../../../harness/lab/lab.ts';
import { labNames } from '../../../harness/lab/names.ts';
import { findLabProcesses } from '../../../harness/lab/processes.ts';
import { labFaults, labFaultUnsupported } from '../../../harness/lab/faults.ts';
import { parseIpvsadm } from '../../../harness/inspect/ipvs.ts';
import { ipvsCapability } from '../../../harness/setup/host-capabilities.ts';
import type { Report } from '../../../harness/report/model.ts';
import { inLabNetns, loadInLab, podNetns, startClientPod } from '../../support/lab-workloads.ts';
import { labResidue, noResidue, testLabName } from '../../support/residue.ts';

const exec = promisify(execFile);
const kth = (...args: string[]) => exec(process.execPath, ['harness/bin/kth.mjs', ...args], { maxBuffer: 16 * 1024 * 1024 });
const hostHasIpvs = ipvsCapability().available;

/**
 * kube-proxy's ipvs mode, end to end on this host. Its kernel has no IP_VS, so `auto` runs the
 * nodes (namespaces, kube-proxy, agents, pods) in a qemu guest booted from Debian's kernel, while
 * the control plane stays on the host. The traffic, the IPVS tables and the inspect view are real.
 */
describe('ipvs mode on a 3-node lab (in a guest kernel where the host has no IP_VS)', () => {
  let lab: StartedLab;
  const ns = 'traffic';
  beforeAll(async () => {
    lab = await startLab({ name: testLabName('ipvs'), nodes: 3, proxyMode: 'ipvs' });
    const cluster = connect(lab.kubeconfig);
    await ensureNamespace(cluster, ns);
    await apply(cluster, sampleServiceObjects({ name: 'web', namespace: ns, runId: 'e2e', server: 'http', replicas: 3, topologySpread: {} }));
    await apply(cluster, sampleServiceObjects({ name: 'edge', namespace: ns, runId: 'e2e', server: 'http', replicas: 1, service: { type: 'NodePort' } }));
    await waitForDeployment(cluster, ns, 'web', 90_000 * startupScale(lab.spec));
    await waitForDeployment(cluster, ns, 'edge', 90_000 * startupScale(lab.spec));
  }, 900_000);
  afterAll(async () => {
    await lab?.down();
  }, 120_000);

  it('GIVEN kernel auto WHEN the host kernel lacks IP_VS THEN the nodes run in a guest and the control plane on the host', () => {
    const host = findLabProcesses(lab.spec.name).map((p) => p.command);
    expect(host.some((c) => /\/kube-apiserver /.test(c))).toBe(true);
    if (hostHasIpvs) {
      expect(lab.spec.guest).toBeUndefined();
      return;
    }
    expect(lab.spec.guest).toMatchObject({ kernelRelease: expect.stringMatching(/-amd64$/), kernelPackage: expect.stringMatching(/^linux-image-/) });
    expect(host.filter((c) => c.startsWith('qemu-system-x86_64 '))).toHaveLength(1);
    // kube-proxy and the agents are the guest's processes, not the host's.
    expect(host.filter((c) => /\/kube-proxy /.test(c))).toEqual([]);
  });

  it('GIVEN 3 pods behind a ClusterIP WHEN a client pod opens 300 short-lived connections THEN all 3 pods serve, χ² does not reject uniform, and rr spreads them more evenly than random picks', async () => {
    const cluster = connect(lab.kubeconfig);
    const svc = await cluster.core.readNamespacedService({ name: 'web', namespace: ns });
    const client = await startClientPod(cluster, ns, 'client');
    const run = await loadInLab<{ totals: { requests: number; attributed: number; serverCounted: number | null }; errors: { total: number }; pods: { requests: number }[]; metrics: { chiSquareP: number | null; chiSquareLowerP?: number | null } }>(
      lab.spec, podNetns(lab.spec.name, client), ['http', '--target', `http://${svc.spec?.clusterIP}:80/`, '--model', 'short-lived', '--connections', '3',
        '--concurrency', '3', '--max-requests', '300', '--duration', '120s', '--expect-pods', '3', '--unit', 'connections', '--settle', '60s',
        '--server-metrics', (await podsOf(cluster, ns, 'app.kubernetes.io/name=web')).map((p) => `${p.metadata?.name}=http://${p.status?.podIP}:8080/metrics`).join(',')], 300_000);
    expect(run.totals).toMatchObject({ requests: 300, attributed: 300, serverCounted: 300 });
    expect(run.errors.total).toBe(0);
    expect(run.pods).toHaveLength(3);
    for (const pod of run.pods) expect(pod.requests).toBeGreaterThan(0);
    expect(run.metrics.chiSquareP).toBeGreaterThanOrEqual(0.001);
    // One client node's IPVS hands out backends in turn: far more even than independent picks.
    expect(run.metrics.chiSquareLowerP).toBeLessThan(0.001);
  }, 400_000);

  it('GIVEN the Service WHEN ipvsadm -Ln runs in a node THEN kube-proxy\'s virtual server holds the 3 pods, and kth inspect shows every node in sync', async () => {
    const cluster = connect(lab.kubeconfig);
    const svc = await cluster.core.readNamespacedService({ name: 'web', namespace: ns });
    const pods = await podsOf(cluster, ns, 'app.kubernetes.io/name=web');
    // Through `kth lab exec`, as a person would look.
    const { stdout } = await kth('lab', 'exec', lab.spec.name, 'n2', '--', 'ipvsadm', '-Ln');
    const virtual = parseIpvsadm(stdout).find((vs) => vs.address === svc.spec?.clusterIP && vs.port === 80);
    expect(virtual).toMatchObject({ protocol: 'TCP', scheduler: 'rr' });
    expect(virtual!.realServers.map((r) => `${r.address}:${r.port}`).sort()).toEqual(pods.map((p) => `${p.status?.podIP}:8080`).sort());
    for (const real of virtual!.realServers) expect(real).toMatchObject({ forward: 'Masq', weight: 1 });

    const inspect = await kth('inspect', 'service', `${ns}/web`, '--lab', lab.spec.name);
    expect(inspect.stdout).toMatch(/ipvs/i);
    expect(inspect.stdout).not.toMatch(/OUT OF SYNC/);
    for (let i = 1; i <= 3; i += 1) expect(inspect.stdout).toContain(labNames(lab.spec.name).nodeName(i));
  }, 180_000);

  it('GIVEN a network delay on a pod THEN netem in the guest kernel holds back each of its replies by it, the qdisc is on the pod\'s eth0, and restoring the network ends it', async () => {
    const cluster = connect(lab.kubeconfig);
    const [pod] = await podsOf(cluster, ns, 'app.kubernetes.io/name=web');
    const client = await startClientPod(cluster, ns, 'client');
    const delay = { at: 0, action: 'network', target: 'pod', delay: 200, duration: 60_000 } as const;
    expect(labFaultUnsupported(lab.spec, delay)).toBeUndefined();
    // One kept-alive connection straight to the pod, one request at a time (closed model): each
    // request waits for one delayed reply, and none is dropped for want of a free connection.
    const call = () => loadInLab<{ totals: { requests: number }; errors: { total: number }; latencyMs: { p50: number; max: number } }>(lab.spec, podNetns(lab.spec.name, client),
      ['http', '--target', `http://${pod!.status?.podIP}:8080/`, '--model', 'persistent', '--connections', '1', '--concurrency', '1', '--max-requests', '20', '--duration', '30s'], 120_000);
    const faults = labFaults(lab.spec);
    const before = await call();
    expect(await faults.network({ pod: pod! }, { delayMs: 200 })).toBe(`network of pod ${pod!.metadata?.name}: 200 ms delay`);
    const qdisc = await inLabNetns(lab.spec, podNetns(lab.spec.name, pod!), ['tc', 'qdisc', 'show', 'dev', 'eth0']);
    expect(qdisc).toMatch(/qdisc netem .* delay 200ms/);
    const delayed = await call();
    await faults.network({ pod: pod! }, undefined);
    const after = await call();
    for (const run of [before, delayed, after]) expect({ requests: run.totals.requests, errors: run.errors.total }).toEqual({ requests: 20, errors: 0 });
    expect(before.latencyMs.p50).toBeLessThan(150);
    expect(delayed.latencyMs.p50).toBeGreaterThanOrEqual(200);
    expect(after.latencyMs.p50).toBeLessThan(150);
    expect(await inLabNetns(lab.spec, podNetns(lab.spec.name, pod!), ['tc', 'qdisc', 'show', 'dev', 'eth0'])).not.toMatch(/netem/);
  }, 300_000);

  it('GIVEN a NodePort Service WHEN the external client calls it on every node THEN each answers', async () => {
    const cluster = connect(lab.kubeconfig);
    const svc = await cluster.core.readNamespacedService({ name: 'edge', namespace: ns });
    const port = svc.spec?.ports?.[0]?.nodePort as number;
    for (let i = 1; i <= 3; i += 1) {
      const body = await inLabNetns(lab.spec, labNames(lab.spec.name).netns('client'), ['curl', '-sS', '--max-time', '20', '--retry', '5', '--retry-all-errors', `http://${nodeIp(i)}:${port}/`]);
      expect(body).toMatch(/edge-/);
    }
  }, 180_000);
});

describe('the nodes\' kernel is a choice', () => {
  (hostHasIpvs ? it.skip : it)('GIVEN no IP_VS here WHEN lab up forces --kernel host for ipvs THEN it exits 3 with the kernel\'s reason and the way out, and makes nothing', async () => {
    const name = testLabName('ipvh');
    const result = await kth('lab', 'up', '--name', name, '--nodes', '1', '--proxy-mode', 'ipvs', '--kernel', 'host').then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/proxy mode ipvs cannot run on this host's kernel/);
    expect(result.stderr).toMatch(/IP_VS/);
    expect(result.stderr).toMatch(/--kernel guest/);
    expect(await labResidue(name)).toEqual(noResidue);
  }, 30_000);

  it('GIVEN cilium WHEN a guest kernel is asked for THEN it is refused as bad input (exit 2), naming --kernel', async () => {
    const result = await kth('lab', 'up', '--name', testLabName('cilg'), '--proxy-mode', 'cilium', '--kernel', 'guest').then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--kernel/);
  }, 30_000);
});

/** `kth …` as a user runs it; `onStderr` sees the progress as it comes (to interrupt or kill at a chosen moment). */
function kthLive(args: string[], onStderr: (text: string, child: ReturnType<typeof spawn>) => void): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['harness/bin/kth.mjs', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      onStderr(stderr, child);
    });
    child.once('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

const runLabName = (stderr: string) => /lab (r[0-9a-f]{6}):/.exec(stderr)?.[1];
/** The smallest ipvs run (1 node, 1 pod): these tests are about what an ended run leaves, not its traffic. */
const guestFixture = 'test/e2e/engine/fixtures/guest-interrupt.ts';

(hostHasIpvs ? describe.skip : describe)('a guest-kernel run ends cleanly, however it ends', () => {
  let out: string;
  beforeEach(async () => {
    out = await mkdtemp(join(tmpdir(), 'kth-e2e-guest-'));
  });
  afterEach(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('GIVEN an ipvs run in a guest WHEN Ctrl-C arrives during the load THEN exit 130, the partial report is written, and no qemu, namespace or state is left', async () => {
    let sent = false;
    const result = await kthLive(['run', guestFixture, '--out', out], (stderr, child) => {
      if (!sent && /\[ipvs\/steady\] running/.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    expect(result.code).toBe(130);
    const [dir] = await readdir(out);
    const report = JSON.parse(await readFile(join(out, dir!, 'report.json'), 'utf8')) as Report;
    expect(report.runs[0]).toMatchObject({ proxyMode: 'ipvs', variant: 'steady', status: 'error', reason: expect.stringMatching(/interrupted/) });
    expect(report.environment.guestKernels?.[0]).toMatch(/^ipvs: guest .*-amd64/);
    const lab = runLabName(result.stderr);
    expect(lab).toBeDefined();
    expect(await labResidue(lab!)).toEqual(noResidue);
  }, 900_000);

  it('GIVEN an ipvs run whose harness is killed -9 while its guest boots WHEN kth cleanup runs THEN qemu, the guest\'s taps and namespaces, the host route and the state are all gone', async () => {
    let killed = false;
    const result = await kthLive(['run', guestFixture, '--out', out], (stderr, child) => {
      if (!killed && /starting guest-network|starting agent-/.test(stderr)) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    expect(result.signal).toBe('SIGKILL');
    const lab = runLabName(result.stderr)!;
    // The lab outlives its owner until cleanup finds it orphaned: qemu among its processes.
    expect((await labResidue(lab)).processes.some((p) => /^\d+ qemu-system-x86_64 /.test(p))).toBe(true);
    await kth('cleanup');
    expect(await labResidue(lab)).toEqual(noResidue);
    const { stdout: routes } = await exec('ip', ['route', 'show']);
    expect(routes).not.toMatch(new RegExp(`dev ${labNames(lab).hostLink}\\b`));
  }, 600_000);
});
