import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { badInput } from '../../core/errors.ts';
import { inCidr, labNetwork } from '../addressing.ts';

/**
 * The lab load balancer's configuration, written by the lab supervisor (components.ts) and read by
 * `kth lab lb-controller --config <file>`. Strict: an unknown or misspelt key is an error, with
 * every problem and its path listed at once.
 */
const ipv4 = z.string().regex(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/, { error: 'must be an IPv4 address' });
const cidr = z.string().regex(/^(\d{1,3}\.){3}\d{1,3}\/([0-9]|[12][0-9]|3[0-2])$/, { error: 'must be an IPv4 CIDR such as 198.18.32.0/24' });
const ms = (min: number, max: number) => z.number().int().min(min).max(max);

export const loadBalancerConfigSchema = z
  .strictObject({
    labName: z.string().min(1),
    /** Kubeconfig whose server is reachable from the load-balancer namespace (the bridge address). */
    kubeconfigPath: z.string().min(1),
    /** Addresses handed to `type: LoadBalancer` Services. */
    pool: cidr.default(labNetwork.loadBalancerPool),
    /** The nftables table the controller owns in its namespace (family ip); replaced as a whole. */
    table: z.string().regex(/^[a-z][a-z0-9_]{0,30}$/, { error: 'must be a short nft identifier: lower-case letters, digits, _' }).default('kth_lb'),
    /** `/healthz` (200 once synced and programmed) and `/status` (the current view as JSON). */
    listen: z.strictObject({ host: ipv4, port: z.number().int().min(1).max(65_535) }).default({ host: labNetwork.loadBalancerIp, port: 10_270 }),
    /** The current view (addresses, nodes, health) as JSON, rewritten on every change; for tools on the host. */
    statusFile: z.string().min(1).optional(),
    /** Probing of kube-proxy's healthCheckNodePort for `externalTrafficPolicy: Local` Services. */
    healthCheck: z
      .strictObject({
        intervalMs: ms(100, 60_000).default(1000),
        timeoutMs: ms(50, 30_000).default(500),
        /** Consecutive successes before a node receives traffic. */
        healthyThreshold: z.number().int().min(1).max(10).default(1),
        /** Consecutive failures before a node stops receiving new connections. */
        unhealthyThreshold: z.number().int().min(1).max(10).default(1),
      })
      .default({ intervalMs: 1000, timeoutMs: 500, healthyThreshold: 1, unhealthyThreshold: 1 }),
  })
  .superRefine((config, ctx) => {
    if (config.healthCheck.timeoutMs >= config.healthCheck.intervalMs) {
      ctx.addIssue({ code: 'custom', path: ['healthCheck', 'timeoutMs'], message: `must be shorter than intervalMs (${config.healthCheck.intervalMs})` });
    }
    const [base] = config.pool.split('/') as [string];
    if (!inCidr(base, labNetwork.labRange)) {
      ctx.addIssue({ code: 'custom', path: ['pool'], message: `must lie inside the lab range ${labNetwork.labRange} (the external client routes only that range to the load balancer)` });
    }
  });

export type LoadBalancerConfig = z.infer<typeof loadBalancerConfigSchema>;
/** What the supervisor writes: defaults may be left out. */
export type LoadBalancerConfigInput = z.input<typeof loadBalancerConfigSchema>;

export function parseLoadBalancerConfig(value: unknown, where = 'load balancer config'): LoadBalancerConfig {
  const result = loadBalancerConfigSchema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(config)'}: ${issue.message}`);
    throw badInput(`${where} is not valid: ${problems.join('; ')}`, { where, hint: 'the lab supervisor writes this file; recreate the lab (kth lab down && kth lab up)' });
  }
  return result.data;
}

export async function readLoadBalancerConfig(path: string): Promise<LoadBalancerConfig> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (error) {
    throw badInput(`cannot read the load balancer config ${path}: ${(error as Error).message}`, { where: path, cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw badInput(`the load balancer config ${path} is not JSON: ${(error as Error).message}`, { where: path, cause: error });
  }
  return parseLoadBalancerConfig(value, path);
}
