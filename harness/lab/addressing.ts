/**
 * The lab's address plan. Everything lives in 198.18.0.0/15, the range RFC 2544 reserves for
 * benchmarking network devices: it is never routed on the internet, and the host has no route to
 * it, so lab traffic cannot leave through the uplink even by mistake. Each lab has its own
 * namespaces, so labs reuse the same plan side by side; only the host's point-to-point link to
 * each API server needs an address of its own (link-local 169.254.(100+slot).0/30).
 */
export const labNetwork = {
  nodeSubnet: '198.18.0.0/24',
  nodePrefix: 24,
  controlPlaneIp: '198.18.0.2',
  loadBalancerIp: '198.18.0.3',
  serviceCidr: '198.18.16.0/20',
  /** The first address of the service CIDR: the `kubernetes` Service. */
  kubernetesServiceIp: '198.18.16.1',
  /** The service CIDR's tenth address, as kubeadm places it: the `kube-dns` Service of a lab with cluster DNS. */
  clusterDnsIp: '198.18.16.10',
  clusterDomain: 'cluster.local',
  loadBalancerPool: '198.18.32.0/24',
  clientSubnet: '198.18.48.0/24',
  clientGatewayIp: '198.18.48.1',
  clientIp: '198.18.48.2',
  clusterCidr: '198.18.128.0/17',
  nodeCidrMaskSize: 24,
  /** The whole lab range, routed by the external client towards the lab load balancer. */
  labRange: '198.18.0.0/15',
  apiServerPort: 6443,
} as const;

/** Node i (1-based) sits at 198.18.0.(10+i). */
export function nodeIp(index: number): string {
  return `198.18.0.${10 + index}`;
}

/** The host ↔ control-plane link for the lab in `slot` (0…99). */
export function hostLink(slot: number): { hostIp: string; controlPlaneIp: string; prefix: number; subnet: string } {
  return { hostIp: `169.254.${100 + slot}.1`, controlPlaneIp: `169.254.${100 + slot}.2`, prefix: 30, subnet: `169.254.${100 + slot}.0/30` };
}

/**
 * The control link between the control-plane namespace and a lab guest (the guest daemon), in the
 * same link-local /24 as the host link. The host reaches the guest through the control-plane
 * namespace (a route via the host link), and nothing else: link-local addresses are never routed.
 */
export function guestLink(slot: number): { cpIp: string; guestIp: string; prefix: number; subnet: string } {
  return { cpIp: `169.254.${100 + slot}.5`, guestIp: `169.254.${100 + slot}.6`, prefix: 30, subnet: `169.254.${100 + slot}.4/30` };
}

/** Whether an IPv4 address lies inside a CIDR. */
export function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/') as [string, string];
  const mask = Number(bits) === 0 ? 0 : (~0 << (32 - Number(bits))) >>> 0;
  return (ipToInt(ip) & mask) === (ipToInt(base) & mask);
}

export function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, octet) => ((acc << 8) | Number(octet)) >>> 0, 0);
}

export function intToIp(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join('.');
}
