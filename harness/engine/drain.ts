import type { V1Pod } from '@kubernetes/client-node';
import { ApiException, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Cluster } from '../kube/cluster.ts';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Cordon (true) or uncordon (false): `kubectl cordon` / `uncordon`. */
export async function setUnschedulable(cluster: Cluster, node: string, unschedulable: boolean): Promise<void> {
  await cluster.core.patchNode({ name: node, body: { spec: { unschedulable } } }, mergePatch);
}

/**
 * Whether `kubectl drain` (without --force) would evict a pod: one a controller owns, other than a
 * DaemonSet (which would put it straight back); bare pods are left where they are, as kubectl
 * refuses to drain them, and so are pods already terminating.
 */
function evictable(pod: V1Pod): boolean {
  const owners = pod.metadata?.ownerReferences ?? [];
  return !pod.metadata?.deletionTimestamp && owners.some((owner) => owner.controller) && !owners.some((owner) => owner.kind === 'DaemonSet');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Cordons a node, then evicts its pods through the Eviction API, as `kubectl drain` does: an
 * eviction a PodDisruptionBudget refuses (429) is retried every second until `deadline`. Returns
 * what happened, including evictions the budget held back.
 */
export async function drainNode(cluster: Cluster, node: string, deadline: number, namespace: string): Promise<string> {
  await setUnschedulable(cluster, node, true);
  const pods = (await cluster.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` })).items;
  const skipped = pods.filter((pod) => !evictable(pod) && !pod.metadata?.deletionTimestamp).map((pod) => `${pod.metadata?.namespace}/${pod.metadata?.name}`);
  const pending = pods.filter(evictable);
  const evicted: { name: string; namespace: string }[] = [];
  let refusals = 0;
  while (pending.length > 0 && Date.now() < deadline) {
    for (const pod of [...pending]) {
      const { name, namespace } = pod.metadata as { name: string; namespace: string };
      try {
        await cluster.core.createNamespacedPodEviction({ name, namespace, body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } } });
        evicted.push({ name, namespace });
        pending.splice(pending.indexOf(pod), 1);
      } catch (error) {
        if (error instanceof ApiException && error.code === 404) pending.splice(pending.indexOf(pod), 1);
        else if (error instanceof ApiException && error.code === 429) refusals += 1;
        else throw error;
      }
    }
    if (pending.length > 0) await sleep(1000);
  }
  // The run's own pods by name; whatever else the node carried, counted.
  const ours = evicted.filter((pod) => pod.namespace === namespace).map((pod) => pod.name);
  const others = evicted.length - ours.length;
  return [
    `drained ${node}: evicted ${ours.join(', ') || 'none of this run\'s pods'}${others > 0 ? ` and ${others} other pod(s)` : ''}`,
    refusals > 0 ? `${refusals} eviction(s) refused by a PodDisruptionBudget and retried` : '',
    pending.length > 0 ? `still there when the run ended: ${pending.map((pod) => pod.metadata?.name).join(', ')}` : '',
    skipped.length > 0 ? `left (not managed by a controller, as kubectl drain without --force): ${skipped.join(', ')}` : '',
  ].filter(Boolean).join('; ');
}
