import type { RequestSample } from '../recorder/events.ts';

/** A proxy replica (an Ingress controller pod) and the requests it carried to the backend pods. */
export interface ReplicaShare {
  pod: string;
  node: string;
  podIp: string;
  requests: number;
}

export interface ProxyCredit {
  replicas: ReplicaShare[];
  /** Responses whose source address (as the backend saw it) was none of the replicas'. */
  unknownPeer: number;
  /** The largest share of the credited requests that the replicas of a single node carried; null when none were credited. */
  topNodeShare: number | null;
}

/**
 * Credits each request that went through a proxy to the replica that carried it: the backend pod
 * saw the replica's pod IP as the request's source (samples recorded with `byPeer`). Per node,
 * since replicas that share a node share its fate and its uplink.
 */
export function creditProxyReplicas(replicas: readonly Omit<ReplicaShare, 'requests'>[], samples: Iterable<Pick<RequestSample, 'peer' | 'requests'>>): ProxyCredit {
  const byIp = new Map(replicas.map((replica) => [replica.podIp, { ...replica, requests: 0 }]));
  let unknownPeer = 0;
  for (const sample of samples) {
    const replica = sample.peer === undefined ? undefined : byIp.get(sample.peer);
    if (replica) replica.requests += sample.requests;
    else unknownPeer += sample.requests;
  }
  const credited = [...byIp.values()];
  const total = credited.reduce((sum, replica) => sum + replica.requests, 0);
  const perNode = new Map<string, number>();
  for (const replica of credited) perNode.set(replica.node, (perNode.get(replica.node) ?? 0) + replica.requests);
  return { replicas: credited, unknownPeer, topNodeShare: total === 0 ? null : Math.max(...perNode.values()) / total };
}
