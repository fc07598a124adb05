import type { V1Pod } from '@kubernetes/client-node';
import { ManagedByLabel, managedByValue, RunIdLabel } from './names.ts';

/**
 * A pod that only sleeps: the place in-cluster clients run from (its own network namespace and
 * pod IP). Its image is never pulled in the lab, which runs `command` on the host's filesystem.
 */
export function clientPod(params: { name: string; namespace: string; nodeName?: string; runId?: string }): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: params.name, namespace: params.namespace, labels: { app: params.name, [ManagedByLabel]: managedByValue, ...(params.runId ? { [RunIdLabel]: params.runId } : {}) } },
    spec: {
      ...(params.nodeName ? { nodeName: params.nodeName } : {}),
      terminationGracePeriodSeconds: 0,
      containers: [{ name: 'client', image: 'debian:bookworm-slim', command: ['sleep', '86400'] }],
    },
  };
}
