/**
 * What one node's kube-proxy does with one service port, read back from its rules: the same shape
 * for every proxy mode, so the model compares it with the EndpointSlices without knowing the mode.
 */
export interface RuleEndpoint {
  address: string;
  port: number;
  /**
   * iptables: the probability written on this endpoint's own rule (`--probability`, 1 for the last);
   * absent in nftables, where one `numgen random mod N` picks among N entries.
   */
  probability?: number;
  /** The fraction of new connections this entry receives (iptables: p_i × Π(1 − p_j) over earlier rules). */
  share: number;
  /** The per-endpoint chain (KUBE-SEP-…, endpoint-…), when there is one. */
  via?: string;
}

export interface RuleChain {
  /** cluster: every endpoint the cluster-wide policy allows; local: this node's endpoints only. */
  kind: 'cluster' | 'local';
  chain: string;
  endpoints: RuleEndpoint[];
}

/** A destination kube-proxy refuses because it has nothing to send to. */
export interface BlockedDestination {
  /** `198.18.32.1:80/tcp` or `node port 30680/tcp`. */
  destination: string;
  verdict: 'drop' | 'reject';
  reason: 'no endpoints' | 'no local endpoints';
}

export interface PortRules {
  /** The Service port's name ('' when unnamed). */
  port: string;
  protocol: string;
  chains: RuleChain[];
  /** The chain ClusterIP traffic enters (the local one under internalTrafficPolicy Local). */
  clusterIpChain?: string;
  /** The chain NodePort / LoadBalancer traffic enters, and where it goes from there for outside clients. */
  externalChain?: string;
  externalTo?: string[];
  blocked: BlockedDestination[];
}
