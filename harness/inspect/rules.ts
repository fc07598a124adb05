/**
 * What one node's data plane (kube-proxy's rules, or Cilium's BPF service maps) does with one
 * service port, read back from the node: the same shape for every proxy mode, so the model compares
 * it with the EndpointSlices without knowing the mode.
 */
export interface RuleEndpoint {
  address: string;
  port: number;
  /**
   * iptables: the probability written on this endpoint's own rule (`--probability`, 1 for the last);
   * absent in nftables, where one `numgen random mod N` picks among N entries.
   */
  probability?: number;
  /**
   * The fraction of new connections this entry receives (iptables: p_i × Π(1 − p_j) over earlier
   * rules). 0: the data plane keeps the entry but picks it for no new connection (Cilium's
   * terminating and quarantined backends, kept in the slots after the active ones).
   */
  share: number;
  /** The per-endpoint chain (KUBE-SEP-…, endpoint-…), when there is one. */
  via?: string;
  /** The backend's state where the data plane records one (Cilium: active, terminating, quarantined, maintenance). */
  state?: string;
  /** The backend's weight where the data plane records one (Cilium: only Maglev spreads by it; IPVS: 0 while draining). */
  weight?: number;
  /** IPVS: how packets reach the real server (Masq, Route, Tunnel, Local). */
  forward?: string;
  /** IPVS: connections open to it now (ActiveConn: established) … */
  activeConnections?: number;
  /** … and in other states (InActConn: closing, TIME_WAIT). */
  inactiveConnections?: number;
}

export interface RuleChain {
  /** cluster: every endpoint the cluster-wide policy allows; local: this node's endpoints only. */
  kind: 'cluster' | 'local';
  /** The chain's name; for Cilium, its frontends' map keys (`198.18.32.1:80/TCP/i, …`). */
  chain: string;
  endpoints: RuleEndpoint[];
  /**
   * Cilium: the service frontends (BPF map keys as `cilium-dbg bpf lb list` prints them, and their
   * type) that share this backend table. A port has several: ClusterIP, NodePort on 0.0.0.0 and on
   * the node's address, LoadBalancer; `/i` is the in-cluster scope of a two-scope frontend.
   */
  frontends?: { key: string; type: string }[];
  /** IPVS: the virtual servers' scheduler (rr, lc, sh …). */
  scheduler?: string;
  /** The data plane should have this chain (IPVS: its virtual servers) and has not: out of sync even with nothing to send to. */
  absent?: boolean;
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
  /**
   * Where the data plane's own control plane and what it has written disagree (Cilium: the agent's
   * service table against the BPF maps), one sentence each; the slices are not involved.
   */
  pending?: string[];
}
