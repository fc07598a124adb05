import { z } from 'zod';

export const proxyModes = ['iptables', 'nftables', 'ipvs', 'cilium'] as const;
export type LabProxyMode = (typeof proxyModes)[number];

/** What users compare Cilium on (cilium mode only). */
export const ciliumOptionsSchema = z.strictObject({
  /** Socket LB for the node's own sockets only (pods get per-packet tc LB), or for pods too. */
  socketLb: z.enum(['hostns-only', 'all']).default('hostns-only'),
  /** Backend selection for new connections. */
  lbAlgorithm: z.enum(['random', 'maglev']).default('random'),
  /** NodePort forwarding to a remote backend: SNAT to the node, or direct server return. */
  nodePortMode: z.enum(['snat', 'dsr']).default('snat'),
});
export type CiliumOptions = z.infer<typeof ciliumOptionsSchema>;
export const defaultCiliumOptions: CiliumOptions = ciliumOptionsSchema.parse({});

/** What users compare IPVS on (ipvs mode only): kube-proxy's `ipvs.scheduler`, the kernel's names. */
export const ipvsSchedulers = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'mh'] as const;
export const ipvsOptionsSchema = z.strictObject({
  /** How IPVS picks a real server for a new connection (rr: in turn; lc: fewest connections; sh/mh: by source hash …). */
  scheduler: z.enum(ipvsSchedulers).default('rr'),
});
export type IpvsOptions = z.infer<typeof ipvsOptionsSchema>;
export const defaultIpvsOptions: IpvsOptions = ipvsOptionsSchema.parse({});

/**
 * Which kernel the lab's nodes run on: the host's, or a qemu guest's (Debian's stock kernel) when
 * the proxy mode needs what the host kernel lacks (IP_VS). `auto` picks the host when it can.
 */
export const kernelChoices = ['auto', 'host', 'guest'] as const;
export type KernelChoice = (typeof kernelChoices)[number];

/** The guest a guest-kernel lab's nodes run in (recorded in reports: its timings are not the host's). */
export const guestSpecSchema = z.object({
  /** kvm only where a probe booted a stock kernel with it; tcg is qemu's emulation (~10× slower). */
  accel: z.enum(['kvm', 'tcg']),
  kernelRelease: z.string(),
  kernelPackage: z.string(),
  cpus: z.number().int(),
  memoryMiB: z.number().int(),
  /** The bundled CLI the guest's processes run (guest/bundle.ts). */
  entry: z.string(),
});
export type GuestSpec = z.infer<typeof guestSpecSchema>;

/** What `lab up` was asked for, stored as lab.json: the one record `down` and `status` read. */
export const labSpecSchema = z.object({
  name: z.string(),
  nodes: z.number().int().min(1).max(20),
  proxyMode: z.enum(proxyModes),
  /** Host link subnet slot (169.254.(100+slot).0/30). */
  slot: z.number().int().min(0).max(99),
  createdAt: z.string(),
  /** The process that owns the lab (a run or a test); when it dies, `kth cleanup` removes the lab. Absent for `lab up`. */
  ownerPid: z.number().int().optional(),
  repoRoot: z.string(),
  kubernetesVersion: z.string(),
  /** Cilium's options, for a cilium-mode lab. */
  cilium: ciliumOptionsSchema.optional(),
  /** Present when the nodes (their namespaces, kube-proxy, pods) run in a guest kernel; the control plane stays on the host. */
  guest: guestSpecSchema.optional(),
  /** IPVS's options, for an ipvs-mode lab (absent: the defaults). */
  ipvs: ipvsOptionsSchema.optional(),
  /** A cluster DNS (CoreDNS behind kube-dns) that ClusterFirst pods resolve with (cluster-dns.ts). */
  clusterDns: z.boolean().optional(),
});
export type LabSpec = z.infer<typeof labSpecSchema>;

export const labStatusSchema = z.object({
  phase: z.enum(['starting', 'ready', 'failed', 'stopping']),
  step: z.string(),
  supervisorPid: z.number().int().optional(),
  updatedAt: z.string(),
  error: z.string().optional(),
  /** Seconds from `lab up` to each milestone, measured by the supervisor's monotonic clock. */
  timings: z.record(z.string(), z.number()).default({}),
});
export type LabStatus = z.infer<typeof labStatusSchema>;
