/**
 * Who served a response: the contract between the sample servers, the load drivers and the
 * recorder. Servers put it in headers (so a driver can attribute without parsing the body) and in
 * the JSON body; gRPC servers return the same fields in `kth.v1.WhoReply`.
 */
export interface ServedBy {
  /** Pod name (POD_NAME), or the host name when run outside Kubernetes. */
  pod: string;
  /** Node name (NODE_NAME); empty when unknown. */
  node: string;
  /** Pod IP (POD_IP); empty when unknown. */
  podIp: string;
  /** Pod namespace (POD_NAMESPACE); empty when unknown. */
  namespace: string;
  /** Remote address the server saw: the client's source IP after any SNAT on the path. */
  peerAddress: string;
  peerPort: number;
  /** Unique per accepted TCP connection within this server process (`<pod>/<n>`). */
  connectionId: string;
  /** 1-based sequence of this request on its connection. */
  sequence: number;
}

/** HTTP response headers carrying {@link ServedBy}; lower-case as Node.js reports them. */
export const IdentityHeader = {
  pod: 'x-kth-pod',
  node: 'x-kth-node',
  podIp: 'x-kth-pod-ip',
  namespace: 'x-kth-namespace',
  peer: 'x-kth-peer',
  connectionId: 'x-kth-connection-id',
  sequence: 'x-kth-sequence',
  /**
   * The request's X-Forwarded-For, echoed (absent when it had none): behind a proxy, the client
   * address the first proxy saw, which the L4 peer no longer shows.
   */
  forwardedFor: 'x-kth-forwarded-for',
} as const;

/** Environment variables the downward API (or the lab node agent) sets in every pod. */
export const DownwardEnv = {
  podName: 'POD_NAME',
  podNamespace: 'POD_NAMESPACE',
  podIp: 'POD_IP',
  nodeName: 'NODE_NAME',
} as const;

/** Formats `address:port` with brackets for IPv6, as the x-kth-peer header carries it. */
export function formatPeer(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Parses an x-kth-peer value back into address and port; undefined when malformed. */
export function parsePeer(value: string): { address: string; port: number } | undefined {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(value);
  if (!match) return undefined;
  return { address: match[1] as string, port: Number(match[2]) };
}
