/** @lab iptables/2 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { V1EndpointSlice } from '@kubernetes/client-node';
import { sampleServiceObjects } from '../../../manifests/sample-service.ts';
import { apply, connect, ensureNamespace, podsOf, waitForDeployment, watchUntil } from '../../../harness/kube/cluster.ts';
import type { LabInfo } from '../../../harness/lab/lab.ts';
import { labNames } from '../../../harness/lab/names.ts';
import { useSharedLab } from '../../support/shared-lab.ts';

const exec = promisify(execFile);

interface Attempt { t: number; ok: boolean; status?: number; error?: string; pod?: string }

describe('pod deletion under a preStop sleep', () => {
  const sharedLab = useSharedLab();
  let lab: LabInfo;
  beforeAll(() => {
    lab = sharedLab();
  });

  it('GIVEN preStop sleep 5 WHEN the pod is deleted THEN it keeps serving until the EndpointSlice no longer routes to it', async () => {
    const cluster = connect(lab.kubeconfig);
    const ns = 'drain';
    await ensureNamespace(cluster, ns);
    await apply(cluster, sampleServiceObjects({ name: 'web', namespace: ns, runId: 'e2e', server: 'http', replicas: 2, preStop: { seconds: 5 }, terminationGracePeriodSeconds: 30 }));
    await waitForDeployment(cluster, ns, 'web', 90_000);
    const [victim] = await podsOf(cluster, ns, 'app.kubernetes.io/name=web');
    const podIp = victim?.status?.podIP as string;
    const podName = victim?.metadata?.name as string;

    // Probe the victim directly from its node for 12 s, on a new connection every 100 ms.
    const nodeIndex = Number(/-node-(\d+)$/.exec(victim?.spec?.nodeName ?? '')?.[1]);
    const probing = exec('ip', ['netns', 'exec', labNames(lab.spec.name).nodeNetns(nodeIndex), process.execPath, 'test/support/probe-loop.mjs', `http://${podIp}:8080/`, '100', '12000'], { timeout: 30_000 });
    await new Promise((r) => setTimeout(r, 1000));

    const deletedAt = Date.now();
    let notRoutedAt = 0;
    const sliceWatch = watchUntil<V1EndpointSlice>(cluster, `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, {}, (slices) => {
      const routed = [...slices.values()].flatMap((s) => s.endpoints ?? []).some((e) => e.addresses.includes(podIp) && e.conditions?.ready === true);
      if (routed) return 'victim still ready in the slice';
      notRoutedAt = Date.now();
      return true;
    }, 20_000, 'victim leaves the EndpointSlice');
    await cluster.core.deleteNamespacedPod({ name: podName, namespace: ns });
    await sliceWatch;

    const attempts = (await probing).stdout.trim().split('\n').map((l) => JSON.parse(l) as Attempt);
    const firstFailure = attempts.find((a) => a.t > deletedAt && !a.ok);
    // Every request until the slice stopped routing to it was served by the victim itself.
    const beforeRemoval = attempts.filter((a) => a.t <= notRoutedAt);
    expect(beforeRemoval.length).toBeGreaterThan(5);
    expect(beforeRemoval.every((a) => a.ok && a.pod === podName)).toBe(true);
    // And it went on serving through the preStop sleep, well after it left the slice.
    expect(notRoutedAt - deletedAt).toBeLessThan(4000);
    expect(firstFailure === undefined || firstFailure.t - deletedAt >= 4500).toBe(true);
    expect(attempts.filter((a) => a.t > deletedAt && a.t < deletedAt + 4500).every((a) => a.ok)).toBe(true);
  }, 240_000);
});
