import { stringify } from 'yaml';
import { apply, connect } from '../kube/cluster.ts';
import { kubeProxyConfig } from './dataplane/kube-proxy.ts';
import type { LabSpec } from './spec.ts';

/**
 * What a cluster installer leaves in kube-system to say which data plane carries Services: kubeadm
 * (and kind) a `kube-proxy` ConfigMap holding the KubeProxyConfiguration under `config.conf`;
 * Cilium's Helm chart a `cilium-config` ConfigMap with `kube-proxy-replacement`. The lab publishes
 * the same, so anything that reads a cluster through its API alone (`--provider existing`,
 * `kth inspect --kubeconfig`) finds the lab's mode where it finds a real cluster's.
 */
export function proxyModeConfigMap(spec: LabSpec, internalKubeconfig: string) {
  const metadata = (name: string) => ({ name, namespace: 'kube-system', labels: { 'app.kubernetes.io/managed-by': 'kube-traffic-harness-lab' } });
  if (spec.proxyMode === 'cilium') {
    return { apiVersion: 'v1', kind: 'ConfigMap', metadata: metadata('cilium-config'), data: { 'kube-proxy-replacement': 'true' } };
  }
  // Node-specific fields (hostname, bind addresses) are per node in the lab, as kubeadm leaves them to flags.
  const { hostnameOverride: _host, healthzBindAddress: _healthz, metricsBindAddress: _metrics, ...shared } = kubeProxyConfig(spec, internalKubeconfig, 1, spec.proxyMode);
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: metadata('kube-proxy'), data: { 'config.conf': stringify(shared) } };
}

export async function publishProxyMode(spec: LabSpec, kubeconfig: string, internalKubeconfig: string): Promise<void> {
  await apply(connect(kubeconfig), [proxyModeConfigMap(spec, internalKubeconfig)]);
}
