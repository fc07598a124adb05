import { existsSync, readFileSync } from 'node:fs';
import { statfsSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { badInput } from '../core/errors.ts';

/**
 * What this host needs of a kind node beyond kind's defaults, found rather than assumed. (A host
 * whose bounding set lacks CAP_SYS_RESOURCE also needs containerd's restrict_oom_score_adj; the
 * harness's node image sets that itself when it boots, so any config or tool gets it.)
 */
export interface HostNeeds {
  /** The host mounts cgroup v1: kubelet ≥ 1.35 refuses it unless told not to (failCgroupV1). */
  cgroupV1: boolean;
}

const CGROUP2_SUPER_MAGIC = 0x63677270;

export function hostNeeds(): HostNeeds {
  const cgroupV1 = existsSync('/sys/fs/cgroup') && statfsSync('/sys/fs/cgroup').type !== CGROUP2_SUPER_MAGIC;
  return { cgroupV1 };
}

export interface KindConfigOptions {
  proxyMode: string;
  /** Nodes that run the scenario's pods: a control plane and nodes − 1 workers. */
  nodes: number;
  needs: HostNeeds;
  /** A user's kind config (`--kind-config`), merged over the generated one. */
  user?: Record<string, unknown>;
}

/**
 * The kind config for one proxy mode. The lab's N nodes all run pods; on kind the N nodes are a
 * control plane and N − 1 workers, and the control plane's NoSchedule taint is lifted after
 * creation (cluster.ts) so pods spread over all N as in the lab — one node container fewer on a
 * small machine. Host-specific settings appear only when needed.
 */
export function kindConfig(options: KindConfigOptions): Record<string, unknown> {
  const nodes = [{ role: 'control-plane' }, ...Array.from({ length: Math.max(0, options.nodes - 1) }, () => ({ role: 'worker' }))];
  const cilium = options.proxyMode === 'cilium';
  const config: Record<string, unknown> = {
    kind: 'Cluster',
    apiVersion: 'kind.x-k8s.io/v1alpha4',
    networking: { kubeProxyMode: cilium ? 'none' : options.proxyMode, ...(cilium ? { disableDefaultCNI: true } : {}) },
    nodes,
  };
  if (options.needs.cgroupV1) config.kubeadmConfigPatches = ['kind: KubeletConfiguration\nfailCgroupV1: false\n'];
  return options.user ? mergeUserConfig(config, options.user) : config;
}

/**
 * A user's config over ours: their nodes replace ours, their patches are appended to ours (ours
 * are what this host needs), other fields override, and networking is merged key by key — except
 * the proxy mode, which the scenario decides.
 */
export function mergeUserConfig(ours: Record<string, unknown>, user: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...ours };
  for (const [key, value] of Object.entries(user)) {
    if (key === 'kind' || key === 'apiVersion' || key === 'name') continue;
    if ((key === 'kubeadmConfigPatches' || key === 'containerdConfigPatches') && Array.isArray(value)) {
      merged[key] = [...((ours[key] as unknown[] | undefined) ?? []), ...value];
    } else if (key === 'networking' && value && typeof value === 'object') {
      const { kubeProxyMode: _ignored, ...rest } = value as Record<string, unknown>;
      merged.networking = { ...(ours.networking as object), ...rest };
    } else {
      merged[key] = value;
    }
  }
  return merged;
}

/** Reads and checks a user's kind config file (`--kind-config`). */
export function readUserKindConfig(path: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw badInput(`cannot read the kind config ${path}: ${(error as Error).message}`, { where: '--kind-config', hint: 'pass a kind Cluster config (kind: Cluster, apiVersion: kind.x-k8s.io/v1alpha4)' });
  }
  const config = parsed as Record<string, unknown> | null;
  if (!config || typeof config !== 'object' || config.kind !== 'Cluster' || config.apiVersion !== 'kind.x-k8s.io/v1alpha4') {
    throw badInput(`${path} is not a kind cluster config`, { where: '--kind-config', hint: 'it needs kind: Cluster and apiVersion: kind.x-k8s.io/v1alpha4 (see https://kind.sigs.k8s.io/docs/user/configuration/)' });
  }
  return config;
}

export const kindConfigYaml = (config: Record<string, unknown>): string => stringify(config);
