import { z } from 'zod';

export const proxyModes = ['iptables', 'nftables', 'ipvs'] as const;
export type LabProxyMode = (typeof proxyModes)[number];

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
