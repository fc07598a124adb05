import type { V1PodDisruptionBudget } from '@kubernetes/client-node';
import { ManagedByLabel, managedByValue, NameLabel, RunIdLabel } from './names.ts';

/**
 * A PodDisruptionBudget over the sample Service's pods (same selector as its Deployment): what a
 * drain's evictions must respect. Exactly one of minAvailable / maxUnavailable, as the API requires.
 */
export function sampleDisruptionBudget(params: { name: string; namespace: string; runId: string; minAvailable?: number | string; maxUnavailable?: number | string }): V1PodDisruptionBudget {
  const selector = { [NameLabel]: params.name, [RunIdLabel]: params.runId };
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: params.name, namespace: params.namespace, labels: { ...selector, [ManagedByLabel]: managedByValue } },
    spec: {
      selector: { matchLabels: selector },
      ...(params.minAvailable !== undefined ? { minAvailable: params.minAvailable } : { maxUnavailable: params.maxUnavailable }),
    },
  };
}
