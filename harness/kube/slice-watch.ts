import type { V1EndpointSlice } from '@kubernetes/client-node';
import { resumableWatch } from './resumable-watch.ts';
import type { EndpointSliceChange } from '../recorder/events.ts';
import type { Cluster } from './cluster.ts';

/** The API server's time of a change: the newest managedFields entry (second precision), else creation. */
function serverTimeOf(slice: V1EndpointSlice): number | null {
  const times = (slice.metadata?.managedFields ?? []).map((field) => (field.time ? new Date(field.time).getTime() : NaN)).filter(Number.isFinite);
  if (times.length > 0) return Math.max(...times);
  return slice.metadata?.creationTimestamp ? new Date(slice.metadata.creationTimestamp).getTime() : null;
}

export function sliceChange(type: string, slice: V1EndpointSlice, service: string, now: number): EndpointSliceChange {
  return {
    kind: 'endpointslice-change',
    t: now,
    serverTime: serverTimeOf(slice),
    change: type === 'ADDED' ? 'added' : type === 'DELETED' ? 'deleted' : 'modified',
    namespace: slice.metadata?.namespace ?? '',
    service,
    slice: slice.metadata?.name ?? '',
    resourceVersion: slice.metadata?.resourceVersion ?? '',
    endpoints: (slice.endpoints ?? []).map((endpoint) => ({
      addresses: endpoint.addresses,
      pod: endpoint.targetRef?.kind === 'Pod' ? (endpoint.targetRef.name ?? '') : '',
      node: endpoint.nodeName ?? '',
      // The API leaves ready unset to mean ready (and serving/terminating unset to mean false).
      ready: endpoint.conditions?.ready !== false,
      serving: endpoint.conditions?.serving ?? endpoint.conditions?.ready !== false,
      terminating: endpoint.conditions?.terminating === true,
    })),
  };
}

export interface SliceWatch {
  /** Every change seen so far, in delivery order. */
  readonly changes: readonly EndpointSliceChange[];
  stop(): void;
}

/**
 * Follows a Service's EndpointSlices from now on (the current state arrives first, as ADDED),
 * timestamping each change on delivery with the host clock the load drivers use. A watch the
 * server ends is resumed from the last resourceVersion seen.
 */
export async function watchEndpointSlices(cluster: Cluster, namespace: string, service: string): Promise<SliceWatch> {
  const changes: EndpointSliceChange[] = [];
  const stop = await resumableWatch<V1EndpointSlice>(cluster, `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`, { labelSelector: `kubernetes.io/service-name=${service}` }, (type, slice) =>
    changes.push(sliceChange(type, slice, service, Date.now())),
  );
  return { changes, stop };
}
