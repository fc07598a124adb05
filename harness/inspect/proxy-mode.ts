import type { V1ConfigMap } from '@kubernetes/client-node';
import { parse } from 'yaml';
import type { ProxySource } from './model.ts';

/** Cilium's Helm chart states kube-proxy replacement here; with it, kube-proxy is not what balances. */
export function ciliumReplacesKubeProxy(configMap: V1ConfigMap | undefined): boolean {
  const value = configMap?.data?.['kube-proxy-replacement'];
  return value === 'true' || value === 'strict';
}

/**
 * The proxy mode a cluster states in kube-system, the one reading both `--provider existing` and
 * `kth inspect` use: Cilium's kube-proxy replacement first (it wins over a leftover kube-proxy),
 * then kube-proxy's ConfigMap. `read` gives a kube-system ConfigMap, or undefined where there is none
 * (or, as the caller decides, where it may not be read).
 */
export async function clusterProxyMode(read: (name: string) => Promise<V1ConfigMap | undefined>): Promise<ProxySource> {
  if (ciliumReplacesKubeProxy(await read('cilium-config'))) return { mode: 'cilium', source: 'kube-system/cilium-config ConfigMap (kube-proxy-replacement)' };
  const found: V1ConfigMap[] = [];
  for (const name of kubeProxyConfigMaps) {
    const configMap = await read(name);
    if (configMap) found.push(configMap);
  }
  return proxyModeFromConfigMaps(found);
}

/** The ConfigMaps that commonly carry kube-proxy's configuration (kubeadm, kind: kube-proxy; EKS: kube-proxy-config). */
export const kubeProxyConfigMaps = ['kube-proxy', 'kube-proxy-config'] as const;

/**
 * The proxy mode a cluster's kube-proxy ConfigMap states (a KubeProxyConfiguration under any data
 * key), or `unknown` when there is none or it says nothing. An empty `mode` is kube-proxy's default,
 * iptables on Linux.
 */
export function proxyModeFromConfigMaps(configMaps: readonly V1ConfigMap[]): ProxySource {
  for (const configMap of configMaps) {
    const where = `${configMap.metadata?.namespace ?? 'kube-system'}/${configMap.metadata?.name ?? '?'} ConfigMap`;
    for (const [key, value] of Object.entries(configMap.data ?? {})) {
      let config: unknown;
      try {
        config = parse(value);
      } catch {
        continue;
      }
      if (!config || typeof config !== 'object' || !('mode' in config)) continue;
      const mode = (config as { mode?: unknown }).mode;
      if (typeof mode !== 'string' && mode !== null) continue;
      if (!mode) return { mode: 'iptables', source: `${where} (${key})`, note: `${where} leaves mode empty: kube-proxy's default on Linux, iptables` };
      return { mode, source: `${where} (${key})` };
    }
  }
  return {
    mode: 'unknown',
    source: configMaps.length > 0 ? `no mode in ${configMaps.map((c) => `kube-system/${c.metadata?.name}`).join(', ')}` : 'no kube-proxy ConfigMap in kube-system',
    note: 'the proxy mode is unknown (no kube-proxy ConfigMap states it; a CNI may replace kube-proxy); rules are read only on labs (--lab)',
  };
}
