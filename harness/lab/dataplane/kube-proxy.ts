import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import { requireBinary } from '../../setup/binaries.ts';
import { ipvsCapability, nftablesCapability } from '../../setup/host-capabilities.ts';
import { labNetwork, nodeIp } from '../addressing.ts';
import type { LabLayout } from '../layout.ts';
import { labNames } from '../names.ts';
import { defaultIpvsOptions, type IpvsOptions, type LabSpec } from '../spec.ts';
import type { Dataplane, NodeDataplane } from './types.ts';

/** kube-proxy in iptables, nftables or ipvs mode: one process per node, in the node's namespace. */
export function kubeProxyDataplane(mode: 'iptables' | 'nftables' | 'ipvs'): Dataplane {
  return {
    mode,
    binaries: ['kube-proxy'],
    async hostProblems() {
      const feature = mode === 'ipvs' ? ipvsCapability() : mode === 'nftables' ? nftablesCapability() : undefined;
      return feature && !feature.available ? [`${feature.detail} (fix: ${feature.fix ?? 'see kth doctor'})`] : [];
    },
    startupBoundMs: 150_000,
    clusterComponents: () => [],
    node: (spec, layout, index) => kubeProxyNode(spec, layout, index, mode),
    cleanup: async () => [],
    async describe(spec) {
      return { implementation: 'kube-proxy', version: spec.kubernetesVersion, options: { mode, minSyncPeriod: '0s', ...(mode === 'ipvs' ? { scheduler: ipvsOptionsOf(spec).scheduler } : {}) } };
    },
  };
}

/** The lab's IPVS options: what the spec asked for, else the defaults (a lab made before the option existed). */
export function ipvsOptionsOf(spec: Pick<LabSpec, 'ipvs'>): IpvsOptions {
  return spec.ipvs ?? defaultIpvsOptions;
}

/** kube-proxy's configuration for node `index` (written as YAML; pure, so tests read what kube-proxy gets). */
export function kubeProxyConfig(spec: LabSpec, internalKubeconfig: string, index: number, mode: string): Record<string, unknown> {
  const ip = nodeIp(index);
  return {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig: internalKubeconfig },
    hostnameOverride: labNames(spec.name).nodeName(index),
    mode,
    clusterCIDR: labNetwork.clusterCidr,
    detectLocalMode: 'NodeCIDR',
    healthzBindAddress: `${ip}:10256`,
    metricsBindAddress: `${ip}:10249`,
    nodePortAddresses: ['primary'],
    // A node namespace shares the host's conntrack table limits; kube-proxy must not resize them.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
    iptables: { minSyncPeriod: '0s', syncPeriod: '30s' },
    nftables: { minSyncPeriod: '0s', syncPeriod: '30s' },
    ipvs: { minSyncPeriod: '0s', syncPeriod: '30s', scheduler: ipvsOptionsOf(spec).scheduler },
  };
}

async function kubeProxyNode(spec: LabSpec, layout: LabLayout, index: number, mode: string): Promise<NodeDataplane> {
  const names = labNames(spec.name);
  const nodeName = names.nodeName(index);
  const ip = nodeIp(index);
  const proxyConfig = layout.config(`kube-proxy-${nodeName}.yaml`);
  await writeFile(proxyConfig, stringify(kubeProxyConfig(spec, layout.internalKubeconfig, index, mode)));
  return {
    components: [
      {
        name: `kube-proxy-${nodeName}`,
        netns: names.nodeNetns(index),
        argv: [requireBinary('kube-proxy'), '--config', proxyConfig, '--v', '1'],
        health: { url: `http://${ip}:10256/healthz` },
        // kube-proxy polls for its Node with a growing backoff: starting it once the Node and its
        // podCIDR exist saves seconds of start-up.
        after: [`agent-${nodeName}`],
      },
    ],
    enter: (argv) => [...argv],
    agentAfter: [],
  };
}
