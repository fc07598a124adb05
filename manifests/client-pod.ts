import type { V1Pod } from '@kubernetes/client-node';
import { imageRef } from '../harness/workloads/image/names.ts';
import { ManagedByLabel, managedByValue, RunIdLabel } from './names.ts';

/**
 * A pod that only sleeps: the place in-cluster clients run from (its own network namespace and
 * pod IP). Its image is the harness's load driver (which has `sleep`), so a cluster needs no image
 * but the harness's own — kind loads them, a user's cluster pulls them under --image-prefix; the
 * lab never pulls it, it runs `command` on the host's filesystem.
 */
export function clientPod(params: { name: string; namespace: string; nodeName?: string; runId?: string; image?: string }): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: params.name, namespace: params.namespace, labels: { app: params.name, [ManagedByLabel]: managedByValue, ...(params.runId ? { [RunIdLabel]: params.runId } : {}) } },
    spec: {
      ...(params.nodeName ? { nodeName: params.nodeName } : {}),
      terminationGracePeriodSeconds: 0,
      containers: [{ name: 'client', image: params.image ?? imageRef('load-driver'), command: ['sleep', '86400'] }],
    },
  };
}
