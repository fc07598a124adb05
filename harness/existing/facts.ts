import type { V1ConfigMap, V1Node } from '@kubernetes/client-node';
import type { Cluster } from '../kube/cluster.ts';
import { clusterProxyMode } from '../inspect/proxy-mode.ts';

/** What a cluster reached through its API is, as every report of a run on it records. */
export interface ClusterFacts {
  context: string;
  server: string;
  kubernetesVersion: string;
  nodes: number;
  /** The data plane carrying Services, and where that was read. */
  proxyMode: { mode: string; source: string };
  /** Where the nodes run, from their providerID and labels; undefined when nothing says. */
  cloud?: string;
}

/** Cloud hints from the first node: providerID's scheme, then well-known labels. */
export function cloudOf(nodes: readonly V1Node[]): string | undefined {
  const node = nodes[0];
  const scheme = node?.spec?.providerID?.split('://')[0];
  const byScheme: Record<string, string> = { aws: 'AWS', gce: 'Google Cloud', azure: 'Azure', digitalocean: 'DigitalOcean', openstack: 'OpenStack', kind: 'kind', vsphere: 'vSphere' };
  if (scheme && byScheme[scheme]) return byScheme[scheme];
  const labels = node?.metadata?.labels ?? {};
  if (Object.keys(labels).some((key) => key.startsWith('eks.amazonaws.com/'))) return 'AWS (EKS)';
  if (Object.keys(labels).some((key) => key.startsWith('cloud.google.com/gke'))) return 'Google Cloud (GKE)';
  if (Object.keys(labels).some((key) => key.startsWith('kubernetes.azure.com/'))) return 'Azure (AKS)';
  return undefined;
}

async function readConfigMap(cluster: Cluster, name: string): Promise<V1ConfigMap | undefined> {
  try {
    return await cluster.core.readNamespacedConfigMap({ name, namespace: 'kube-system' });
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}

/** The proxy mode from kube-system (inspect/proxy-mode.ts); only a ConfigMap that is not there is skipped: the permission check came first. */
export async function detectProxyMode(cluster: Cluster): Promise<{ mode: string; source: string }> {
  const { mode, source } = await clusterProxyMode((name) => readConfigMap(cluster, name));
  return { mode, source };
}

export async function clusterFacts(cluster: Cluster, target: { context: string; server: string; version: string }): Promise<ClusterFacts> {
  const nodes = (await cluster.core.listNode()).items;
  const cloud = cloudOf(nodes);
  return { context: target.context, server: target.server, kubernetesVersion: target.version, nodes: nodes.length, proxyMode: await detectProxyMode(cluster), ...(cloud ? { cloud } : {}) };
}
