import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';
import type { EnvLookups } from './container-env.ts';

/**
 * Everything a pod worker tells the outside world, behind one interface: the agent writes to the
 * API server (kube.ts); the integration tests record it and run pods with no cluster at all.
 */
export interface PodEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  /** `spec.containers{name}` for container events. */
  fieldPath?: string;
}

export interface PodSink {
  /** Writes the pod's status subresource; 'gone' when the pod no longer exists (or has a new UID). */
  patchStatus(pod: V1Pod, status: V1PodStatus): Promise<{ result: 'ok'; pod?: V1Pod } | { result: 'gone' }>;
  /** The kubelet's final delete: grace period 0, preconditioned on the UID. */
  finalDelete(pod: V1Pod): Promise<void>;
  /** Records an event; never throws, never blocks the pod. */
  event(pod: V1Pod, event: PodEvent): void;
  lookups: EnvLookups;
}
