import type { V1ConfigMap } from '@kubernetes/client-node';
import { parse } from 'yaml';
import type { ProxySource } from './model.ts';

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
