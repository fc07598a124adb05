import type { V1Pod } from '@kubernetes/client-node';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Cluster } from '../kube/cluster.ts';
import { podsOf } from '../kube/cluster.ts';
import type { ChaosSpec } from './types.ts';

/** Where chaos lands: the scenario's Deployment, and how to crash one of its pods' processes. */
export interface ChaosTarget {
  cluster: Cluster;
  namespace: string;
  deployment: string;
  selector: string;
  /** SIGKILLs the main process of a pod's container (a crash the kubelet restarts); provider-specific. */
  killProcess(pod: V1Pod): Promise<string>;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Running pods, oldest first (a deterministic victim: the pod most likely holding connections). */
async function victims(target: ChaosTarget, count: number): Promise<V1Pod[]> {
  const pods = (await podsOf(target.cluster, target.namespace, target.selector)).filter((pod) => pod.status?.phase === 'Running' && !pod.metadata?.deletionTimestamp);
  pods.sort((a, b) => String(a.metadata?.creationTimestamp).localeCompare(String(b.metadata?.creationTimestamp)) || String(a.metadata?.name).localeCompare(String(b.metadata?.name)));
  return pods.slice(0, count);
}

/** Performs one chaos action; returns what was done, for the timeline. */
export async function performChaos(target: ChaosTarget, action: ChaosSpec): Promise<string> {
  const { cluster, namespace, deployment } = target;
  switch (action.action) {
    case 'scale': {
      await cluster.apps.patchNamespacedDeploymentScale({ name: deployment, namespace, body: { spec: { replicas: action.replicas } } }, mergePatch);
      return `scaled ${deployment} to ${action.replicas} replicas`;
    }
    case 'rollout-restart': {
      // What `kubectl rollout restart` does: a new template annotation, so a new ReplicaSet rolls out.
      const body = { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } } } };
      await cluster.apps.patchNamespacedDeployment({ name: deployment, namespace, body }, mergePatch);
      return `rollout restart of ${deployment}`;
    }
    case 'delete-pod': {
      const pods = await victims(target, action.count ?? 1);
      for (const pod of pods) {
        await cluster.core.deleteNamespacedPod({ name: pod.metadata!.name!, namespace, ...(action.force ? { gracePeriodSeconds: 0 } : {}) });
      }
      return `deleted ${pods.map((pod) => pod.metadata?.name).join(', ')}${action.force ? ' (grace 0)' : ''}`;
    }
    case 'kill-process': {
      const pods = await victims(target, action.count ?? 1);
      const done: string[] = [];
      for (const pod of pods) done.push(await target.killProcess(pod));
      return `killed ${done.join(', ')}`;
    }
  }
}
