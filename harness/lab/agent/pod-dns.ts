import type { V1Pod } from '@kubernetes/client-node';

/**
 * The resolv.conf the kubelet gives a pod (its dnsPolicy with --cluster-dns/--cluster-domain),
 * or undefined where the pod resolves as its node does: dnsPolicy Default, hostNetwork pods with
 * ClusterFirst, and every ClusterFirst pod on an agent without cluster DNS.
 */
export interface ClusterDns {
  server: string;
  domain: string;
}

/** The kubelet's limits on what resolv.conf may hold (validation rejects more in the pod spec). */
const MAX_SEARCHES = 32;

export function podResolvConf(pod: V1Pod, clusterDns: ClusterDns | undefined): string | undefined {
  const policy = pod.spec?.dnsPolicy ?? 'ClusterFirst';
  const config = pod.spec?.dnsConfig;
  let nameservers: string[] = [];
  let searches: string[] = [];
  let options: { name: string; value?: string }[] = [];
  const clusterFirst = (policy === 'ClusterFirst' && !pod.spec?.hostNetwork) || policy === 'ClusterFirstWithHostNet';
  if (clusterFirst && clusterDns) {
    const namespace = pod.metadata?.namespace ?? 'default';
    nameservers = [clusterDns.server];
    searches = [`${namespace}.svc.${clusterDns.domain}`, `svc.${clusterDns.domain}`, clusterDns.domain];
    options = [{ name: 'ndots', value: '5' }];
  } else if (policy !== 'None') {
    // Default, and ClusterFirst without cluster DNS or on the host network: the node's own file
    // (a kubelet would merge dnsConfig into it; the lab leaves the host's file as it is).
    return undefined;
  }
  if (config) {
    nameservers = [...new Set([...nameservers, ...(config.nameservers ?? [])])];
    searches = [...new Set([...searches, ...(config.searches ?? [])])];
    for (const option of config.options ?? []) {
      if (!option.name) continue;
      options = [...options.filter((o) => o.name !== option.name), { name: option.name, ...(option.value !== undefined ? { value: option.value } : {}) }];
    }
  }
  const lines = [
    ...(searches.length ? [`search ${searches.slice(0, MAX_SEARCHES).join(' ')}`] : []),
    ...nameservers.map((server) => `nameserver ${server}`),
    ...(options.length ? [`options ${options.map((o) => (o.value !== undefined ? `${o.name}:${o.value}` : o.name)).join(' ')}`] : []),
  ];
  return `${lines.join('\n')}\n`;
}
