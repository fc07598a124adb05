import type { LabProxyMode } from '../spec.ts';
import { ciliumDataplane } from './cilium.ts';
import { kubeProxyDataplane } from './kube-proxy.ts';
import type { Dataplane } from './types.ts';

export type { Dataplane, DataplaneInfo, NodeDataplane } from './types.ts';

/** The one place a lab's proxy mode picks its data plane. */
export function dataplaneFor(mode: LabProxyMode): Dataplane {
  return mode === 'cilium' ? ciliumDataplane() : kubeProxyDataplane(mode);
}
