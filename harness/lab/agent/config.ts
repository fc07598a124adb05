import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { badInput } from '../../core/errors.ts';

/**
 * What one lab node agent needs to know, read from the JSON file `kth lab agent --config <file>`
 * names (the lab supervisor writes one per node). Unknown keys are rejected so a typo never
 * silently falls back to a default; every problem is reported with its path, not just the first.
 */
const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const nodeNamePattern = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export const agentConfigSchema = z.strictObject({
  /** The lab this node belongs to; every process the agent starts carries KTH_LAB=<labName>. */
  labName: z.string().regex(dnsLabel, 'lower-case letters, digits and dashes'),
  /** The Node object's name (also kubernetes.io/hostname). */
  nodeName: z.string().max(253).regex(nodeNamePattern, 'a DNS subdomain (lower-case letters, digits, dashes, dots)'),
  /** 1-based index of the node in its lab; picks the default zone label. */
  nodeIndex: z.number().int().min(0).optional(),
  /** The node's InternalIP: its address on the lab bridge (eth0 in the node namespace). */
  nodeIp: z.ipv4(),
  kubeconfigPath: z.string().min(1),
  /** Per-node directory for pod logs, pod state and address allocations. */
  stateDir: z.string().min(1),
  /** The cluster (pod) CIDR all nodes' podCIDRs come from. */
  clusterCidr: z.cidrv4(),
  /** Prefix of every pod network namespace (`kth-<lab>-p-`); the first 8 hex digits of the pod UID follow. */
  podNetnsPrefix: z.string().regex(/^[a-z0-9-]+-$/, 'letters, digits and dashes, ending in a dash'),
  /** Where harness/bin/kth.mjs lives: the harness images run it. */
  repoRoot: z.string().min(1),
  /** Extra Node labels; they win over the agent's own. */
  labels: z.record(z.string(), z.string()).optional(),
  /** topology.kubernetes.io/zone; default `lab-z<nodeIndex mod 3>` (index from nodeIndex or the node IP). */
  zone: z.string().optional(),
  /** kubeletVersion reported in nodeInfo; default the pinned Kubernetes version. */
  kubernetesVersion: z.string().optional(),
  /** The node's uplink on the lab bridge; routes to other nodes' pod CIDRs use it. */
  uplinkInterface: z.string().min(1).max(15).default('eth0'),
  /** First CrashLoopBackOff delay (the kubelet's is 10 s), doubling per restart up to the max. */
  crashLoopBackoffBaseMs: z.number().int().min(0).default(10_000),
  crashLoopBackoffMaxMs: z.number().int().min(0).default(300_000),
  leaseDurationSeconds: z.number().int().min(1).default(40),
  /** How often the Lease in kube-node-lease is renewed (the kubelet: a quarter of the duration). */
  leaseRenewIntervalMs: z.number().int().min(100).default(10_000),
  /** How often the full Node status is reported even when nothing changed. */
  nodeStatusReportIntervalMs: z.number().int().min(100).default(60_000),
  /**
   * A mount namespace file (e.g. /proc/<pid>/ns/mnt) in which `ip netns add/del` must run so pod
   * namespaces are visible host-wide. Default: found automatically (see host-mount-ns.ts).
   */
  hostMountNamespace: z.string().optional(),
  /**
   * Attach pods through a CNI plugin (as a kubelet does) instead of the agent's own veth and
   * IPAM: the node is network-ready once the plugin's daemon writes `confFile`, and the plugin
   * named by its first `plugins[].type` is run from `binDir`. The plugin routes pod CIDRs too.
   */
  cni: z.strictObject({ confFile: z.string().min(1), binDir: z.string().min(1) }).optional(),
  /**
   * Multiplies every probe's timeoutSeconds (never its period or thresholds, which decide what
   * the scenario measures): on a kernel that runs everything ~10× slower (a guest under
   * emulation) a healthy server can take longer than a second to answer.
   */
  probeTimeoutScale: z.number().min(1).default(1),
  /**
   * The kubelet's API (port 10250) for `pods/log`: served over TLS on nodeIp with this
   * certificate, to clients with a certificate from `clientCaFile` whose CN is `authorizedUser`
   * (the API server's kubelet client). Absent: no endpoint, and the Node reports port 0.
   */
  kubeletServer: z.strictObject({
    port: z.number().int().min(1).max(65535).default(10250),
    certFile: z.string().min(1),
    keyFile: z.string().min(1),
    clientCaFile: z.string().min(1),
    authorizedUser: z.string().min(1),
  }).optional(),
  /**
   * The kubelet's --cluster-dns and --cluster-domain: pods with dnsPolicy ClusterFirst get a
   * resolv.conf naming this server (pod-dns.ts). Absent: they resolve as the host does, which is
   * what a kubelet without --cluster-dns gives them too.
   */
  clusterDns: z.strictObject({ server: z.ipv4(), domain: z.string().min(1).default('cluster.local') }).optional(),
});

export type AgentConfig = z.infer<typeof agentConfigSchema>;
/** What a caller writes (defaults not yet applied). */
export type AgentConfigInput = z.input<typeof agentConfigSchema>;

/** Validates a parsed config, reporting every problem with its path. */
export function parseAgentConfig(value: unknown, where = 'agent config'): AgentConfig {
  const result = agentConfigSchema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `  ${issue.path.length ? issue.path.join('.') : '(top level)'}: ${issue.message}`);
  throw badInput(`${where} is not valid:\n${problems.join('\n')}`, {
    where,
    hint: 'the lab supervisor writes this file; if you wrote it by hand, compare it with harness/lab/agent/config.ts',
  });
}

export async function loadAgentConfig(path: string): Promise<AgentConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw badInput(`cannot read agent config ${path}: ${(error as Error).message}`, { where: '--config', cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw badInput(`agent config ${path} is not JSON: ${(error as Error).message}`, { where: path, cause: error });
  }
  return parseAgentConfig(value, path);
}

/** The zone label value: configured, else `lab-z<i mod 3>` with i the node index (from the IP when absent). */
export function zoneOf(config: Pick<AgentConfig, 'zone' | 'nodeIndex' | 'nodeIp'>): string {
  if (config.zone) return config.zone;
  const index = config.nodeIndex ?? Number(config.nodeIp.split('.').at(-1)) - 10;
  return `lab-z${((index % 3) + 3) % 3}`;
}
