/** @lab iptables/2 */
import { jest } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { run } from '../../../harness/core/exec.ts';
import { apply, type Cluster, connect, ensureNamespace, podsOf, waitForDeployment, watchUntil } from '../../../harness/kube/cluster.ts';
import { inCidr } from '../../../harness/lab/addressing.ts';
import type { LabInfo } from '../../../harness/lab/lab.ts';
import { labLayout } from '../../../harness/lab/layout.ts';
import { labNames } from '../../../harness/lab/names.ts';
import { listNetns } from '../../../harness/lab/netns.ts';
import { isAlive } from '../../../harness/lab/processes.ts';
import { sampleServiceObjects } from '../../../manifests/sample-service.ts';
import { useSharedLab } from '../../support/shared-lab.ts';

/**
 * The lab node agent in a real 2-node lab: real API server, scheduler, controllers and
 * kube-proxy; the agent registers the nodes and runs the sample HTTP server's pods as processes.
 * Asserted on the API objects and on what really runs: pids, namespaces, veths, packets.
 */
jest.setTimeout(240_000);

const ns = 'agent';
const pidOf = (pod: V1Pod | undefined) => Number((pod?.status?.containerStatuses?.[0]?.containerID ?? '').replace('kth-lab://', ''));
const uid8 = (pod: V1Pod) => (pod.metadata?.uid ?? '').replaceAll('-', '').slice(0, 8);
const ready = (pod: V1Pod | undefined) => pod?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';

describe('lab node agent in a 2-node lab', () => {
  const sharedLab = useSharedLab();
  let lab: LabInfo;
  let cluster: Cluster;
  const names = () => labNames(lab.spec.name);

  beforeAll(async () => {
    lab = sharedLab();
    cluster = connect(lab.kubeconfig);
    await ensureNamespace(cluster, ns);
  });

  const pod = async (name: string) => cluster.core.readNamespacedPod({ name, namespace: ns });
  const nodes = async () => (await cluster.core.listNode()).items;
  const nodeNetnsOf = (nodeName: string) => names().nodeNetns(Number(/-node-(\d+)$/.exec(nodeName)?.[1]));
  const waitPod = (name: string, what: string, done: (pod: V1Pod | undefined) => boolean, timeoutMs = 60_000) =>
    watchUntil<V1Pod>(cluster, `/api/v1/namespaces/${ns}/pods`, { fieldSelector: `metadata.name=${name}` }, (all) => {
      const p = all.get(`${ns}/${name}`);
      return done(p) ? true : `phase ${p?.status?.phase ?? 'gone'} restarts ${p?.status?.containerStatuses?.[0]?.restartCount ?? '-'} ready ${ready(p)}`;
    }, timeoutMs, what);

  /** Polls (every 100 ms) until the pod with this UID no longer exists in the API. */
  const untilGone = async (name: string, uid: string, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const current = await pod(name).catch(() => undefined);
      if (current?.metadata?.uid !== uid) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`pod ${name} still exists after ${timeoutMs}ms`);
  };

  it('GIVEN the lab is up THEN each node is registered Ready, labelled, with its InternalIP, a podCIDR, a renewed Lease and no not-ready taint', async () => {
    const all: V1Node[] = await nodes();
    expect(all.map((n) => n.metadata?.name).sort()).toEqual([names().nodeName(1), names().nodeName(2)]);
    for (const [i, node] of all.sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '')).entries()) {
      expect(node.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'KubeletReady' });
      expect(node.metadata?.labels).toMatchObject({
        'kubernetes.io/hostname': node.metadata?.name,
        'kubernetes.io/os': 'linux',
        'node.kubernetes.io/instance-type': 'lab',
        'topology.kubernetes.io/zone': `lab-z${(i + 1) % 3}`,
      });
      expect(node.status?.addresses).toEqual(expect.arrayContaining([{ type: 'InternalIP', address: `198.18.0.${11 + i}` }]));
      expect(inCidr((node.spec?.podCIDR ?? '').split('/')[0] ?? '', '198.18.128.0/17')).toBe(true);
      expect(node.status?.nodeInfo).toMatchObject({ kubeletVersion: lab.spec.kubernetesVersion, containerRuntimeVersion: expect.stringMatching(/^kth-lab:\/\//) });
      expect(node.spec?.taints ?? []).not.toEqual(expect.arrayContaining([expect.objectContaining({ key: 'node.kubernetes.io/not-ready' })]));
    }
    const lease = await cluster.objects.read({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: names().nodeName(1), namespace: 'kube-node-lease' } });
    const renew = (lease as { spec?: { renewTime?: string | Date; holderIdentity?: string } }).spec;
    expect(renew?.holderIdentity).toBe(names().nodeName(1));
    expect(Date.now() - new Date(renew?.renewTime ?? 0).getTime()).toBeLessThan(15_000);
  });

  let pods: V1Pod[] = [];

  it('GIVEN a Deployment of the sample HTTP server WHEN applied THEN every pod runs Ready as a process in its own namespace, with an IP from its node podCIDR', async () => {
    const applied = Date.now();
    await apply(
      cluster,
      sampleServiceObjects({ name: 'web', namespace: ns, runId: 'agent-e2e', server: 'http', replicas: 4, preStop: { seconds: 3 }, terminationGracePeriodSeconds: 20, topologySpread: {} }),
    );
    await waitForDeployment(cluster, ns, 'web', 90_000);
    process.stderr.write(`agent e2e: 4 pods Ready ${((Date.now() - applied) / 1000).toFixed(2)}s after apply\n`);
    pods = await podsOf(cluster, ns, 'app.kubernetes.io/name=web');
    const byName = new Map((await nodes()).map((n) => [n.metadata?.name, n]));
    expect(new Set(pods.map((p) => p.spec?.nodeName)).size).toBe(2);
    const existing = await listNetns();
    for (const p of pods) {
      const node = byName.get(p.spec?.nodeName);
      expect(p.status?.phase).toBe('Running');
      expect(ready(p)).toBe(true);
      expect(inCidr(p.status?.podIP ?? '', node?.spec?.podCIDR ?? '')).toBe(true);
      expect(p.status?.hostIP).toBe(node?.status?.addresses?.find((a) => a.type === 'InternalIP')?.address);
      expect(p.status?.containerStatuses?.[0]).toMatchObject({ ready: true, started: true, restartCount: 0 });
      expect(isAlive(pidOf(p))).toBe(true);
      expect(existing).toContain(names().podNetns(p.metadata?.uid ?? ''));
      const veth = await run(['ip', '-n', nodeNetnsOf(p.spec?.nodeName ?? ''), '-j', 'link', 'show', `kp${uid8(p)}`]);
      expect((JSON.parse(veth.stdout) as { ifalias?: string }[])[0]?.ifalias).toBe(`kth-pod:${ns}/${p.metadata?.name}`);
      expect(readFileSync(`/proc/${pidOf(p)}/environ`, 'latin1').split('\0')).toEqual(expect.arrayContaining([`KTH_LAB=${lab.spec.name}`, `POD_IP=${p.status?.podIP}`]));
    }
  });

  it('GIVEN pods on different nodes WHEN one calls the other by pod IP THEN the packet crosses nodes unchanged (the server sees the client pod IP)', async () => {
    const a = pods.find((p) => p.spec?.nodeName === names().nodeName(1)) as V1Pod;
    const b = pods.find((p) => p.spec?.nodeName === names().nodeName(2)) as V1Pod;
    const answer = await run(['ip', 'netns', 'exec', names().podNetns(a.metadata?.uid ?? ''), 'curl', '-sS', '-m', '3', '-D', '-', '-o', '/dev/null', `http://${b.status?.podIP}:8080/`]);
    expect(answer.stdout).toMatch(new RegExp(`x-kth-pod: ${b.metadata?.name}`, 'i'));
    expect(answer.stdout).toMatch(new RegExp(`x-kth-peer: ${(a.status?.podIP ?? '').replaceAll('.', '\\.')}:`, 'i'));
  });

  it('GIVEN a running pod WHEN its process is killed -9 THEN it shows up as a restart (exit 137) and the pod is Ready again', async () => {
    const victim = pods[0] as V1Pod;
    const name = victim.metadata?.name as string;
    process.kill(pidOf(victim), 'SIGKILL');
    await waitPod(name, 'restarted and Ready', (p) => p?.status?.containerStatuses?.[0]?.restartCount === 1 && ready(p));
    const after = await pod(name);
    expect(after.status?.containerStatuses?.[0]?.lastState?.terminated).toMatchObject({ exitCode: 137, reason: 'Error' });
    expect(pidOf(after)).not.toBe(pidOf(victim));
    expect(isAlive(pidOf(after))).toBe(true);
  });

  it('GIVEN a running pod WHEN the agent on its node restarts THEN the pod keeps its process and readiness (adopted, no restart)', async () => {
    // Re-read: the kill -9 test above may have restarted this very pod under a new pid.
    const name = (pods.find((p) => p.spec?.nodeName === names().nodeName(2)) as V1Pod).metadata?.name as string;
    const victim = await pod(name);
    const agentPid = Number(readFileSync(labLayout(lab.spec.name).pid(`agent-${names().nodeName(2)}`), 'utf8'));
    process.kill(agentPid, 'SIGTERM');
    const log = labLayout(lab.spec.name).log(`agent-${names().nodeName(2)}`);
    const adopted = () => readFileSync(log, 'utf8').split('\n').some((line) => line.includes('adopted container') && line.includes(`(pid ${pidOf(victim)})`));
    const deadline = Date.now() + 30_000;
    while (!adopted() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(adopted()).toBe(true);
    expect(isAlive(agentPid)).toBe(false);
    const after = await pod(name);
    expect(pidOf(after)).toBe(pidOf(victim));
    // Adoption is not a restart: the count stays what it was (1 if the kill -9 test hit this pod).
    expect(after.status?.containerStatuses?.[0]?.restartCount).toBe(victim.status?.containerStatuses?.[0]?.restartCount);
    expect(ready(after)).toBe(true);
  });

  it('GIVEN a pod with preStop sleep 3 WHEN deleted THEN it keeps running through the hook, then is stopped, deleted and leaves nothing behind', async () => {
    const victim = (await podsOf(cluster, ns, 'app.kubernetes.io/name=web'))[1] as V1Pod;
    const name = victim.metadata?.name as string;
    const pid = pidOf(victim);
    const netns = names().podNetns(victim.metadata?.uid ?? '');
    const nodeNetns = nodeNetnsOf(victim.spec?.nodeName ?? '');
    const deletedAt = Date.now();
    await cluster.core.deleteNamespacedPod({ name, namespace: ns });
    await new Promise((r) => setTimeout(r, 2000));
    expect(isAlive(pid)).toBe(true);
    await untilGone(name, victim.metadata?.uid ?? '', 30_000);
    const gone = Date.now() - deletedAt;
    expect(gone).toBeGreaterThanOrEqual(3000);
    expect(gone).toBeLessThan(20_000);
    expect(isAlive(pid)).toBe(false);
    expect(await listNetns()).not.toContain(netns);
    expect((await run(['ip', '-n', nodeNetns, 'link', 'show', `kp${uid8(victim)}`], { nothrow: true })).exitCode).not.toBe(0);
    const events = await cluster.core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.uid=${victim.metadata?.uid}` });
    expect(events.items.map((e) => e.reason)).toEqual(expect.arrayContaining(['Started', 'Killing']));
  });

  it('GIVEN a pod WHEN force-deleted (grace 0) THEN its process is killed at once and its namespace removed', async () => {
    const victim = (await podsOf(cluster, ns, 'app.kubernetes.io/name=web')).find((p) => ready(p)) as V1Pod;
    const pid = pidOf(victim);
    await cluster.core.deleteNamespacedPod({ name: victim.metadata?.name as string, namespace: ns, gracePeriodSeconds: 0 });
    const started = Date.now();
    while (isAlive(pid) && Date.now() - started < 3000) await new Promise((r) => setTimeout(r, 50));
    expect(isAlive(pid)).toBe(false);
    expect(Date.now() - started).toBeLessThan(2000);
    await waitForDeployment(cluster, ns, 'web', 60_000);
    // The API object is gone at once; the agent tears the sandbox down right after the kill.
    const netns = names().podNetns(victim.metadata?.uid ?? '');
    const deadline = Date.now() + 10_000;
    while ((await listNetns()).includes(netns) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await listNetns()).not.toContain(netns);
  });

  it('GIVEN a bare pod with an image the lab cannot run and no command THEN it fails with a clear reason and a Failed event', async () => {
    await apply(cluster, [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'nginx', namespace: ns }, spec: { restartPolicy: 'Never', containers: [{ name: 'web', image: 'nginx:1.27' }] } } as V1Pod]);
    await waitPod('nginx', 'Failed', (p) => p?.status?.phase === 'Failed');
    const failed = await pod('nginx');
    expect(failed.status?.reason).toBe('UnsupportedContainer');
    expect(failed.status?.containerStatuses?.[0]?.state?.waiting?.message).toMatch(/set the container's command/);
    const events = await cluster.core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=nginx' });
    expect(events.items.some((e) => e.reason === 'Failed' && e.type === 'Warning')).toBe(true);
  });

  it('GIVEN a pod with its ServiceAccount\'s projected token THEN it reaches the API server through the kubernetes Service as that ServiceAccount, bound to the pod, and the host\'s path stays empty', async () => {
    const sa = '/var/run/secrets/kubernetes.io/serviceaccount';
    // A SelfSubjectReview says who the API server takes the caller for: any authenticated identity may ask.
    const review = JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
    const script = `curl -sS --max-time 10 --cacert ${sa}/ca.crt -H "Authorization: Bearer $(cat ${sa}/token)" -H 'Content-Type: application/json' -d '${review}' https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/apis/authentication.k8s.io/v1/selfsubjectreviews; echo; cat ${sa}/namespace`;
    await apply(cluster, [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'in-cluster', namespace: ns }, spec: { restartPolicy: 'Never', containers: [{ name: 'client', image: 'curlimages/curl:8.11.1', command: ['sh', '-c', script] }] } } as V1Pod]);
    await waitPod('in-cluster', 'Succeeded', (p) => p?.status?.phase === 'Succeeded' || p?.status?.phase === 'Failed');
    const created = await pod('in-cluster');
    // The ServiceAccount admission plugin added the volume; the agent provided it.
    expect(created.spec?.volumes?.some((v) => v.name.startsWith('kube-api-access-') && v.projected)).toBe(true);
    const log = await cluster.core.readNamespacedPodLog({ name: 'in-cluster', namespace: ns });
    // The API server pretty-prints for curl: the answer is every line but the last (the namespace file).
    const lines = log.trim().split('\n');
    const namespaceFile = lines.pop();
    const answer = lines.join('\n');
    const userInfo = (JSON.parse(answer) as { status?: { userInfo?: { username?: string; extra?: Record<string, string[]> } } }).status?.userInfo;
    expect(userInfo?.username).toBe(`system:serviceaccount:${ns}:default`);
    expect(userInfo?.extra?.['authentication.kubernetes.io/pod-name']).toEqual(['in-cluster']);
    expect(namespaceFile).toBe(ns);
    expect(created.status?.phase).toBe('Succeeded');
    // Mounted in the container's own mount namespace only: on the host the mount point is empty.
    expect(readdirSync(sa)).toEqual([]);
  });
});
