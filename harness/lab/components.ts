import { writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { requireBinary } from '../setup/binaries.ts';
import { labNetwork, nodeIp } from './addressing.ts';
import type { LabLayout } from './layout.ts';
import { labNames } from './names.ts';
import { KUBELET_CLIENT_CN, type LabPki, signNodeServingCert } from './pki.ts';
import type { LabSpec } from './spec.ts';
import type { LoadBalancerConfigInput } from './load-balancer/config.ts';
import type { AgentConfigInput } from './agent/config.ts';
import type { NodeDataplane } from './dataplane/types.ts';
import { labKthEntry, startupScale } from './guest/lab-guest.ts';

/** V8 flags for the lab's long-running Node.js components: idle memory matters more than throughput. */
export const LEAN_NODE_FLAGS = ['--optimize-for-size', '--max-semi-space-size=1'];

/** How long the lab's node lifecycle controller waits for a silent node before it is NotReady. */
export const NODE_MONITOR_GRACE_SECONDS = 20;

/** The node agents' kubelet API port (the kubelet's own), on each node's InternalIP. */
export const KUBELET_PORT = 10250;

/** A process the lab supervisor runs and keeps running, inside one network namespace. */
export interface ComponentSpec {
  name: string;
  /** Namespace to run in; null runs in the supervisor's own (the control-plane namespace). */
  netns: string | null;
  argv: string[];
  /**
   * When the component counts as started: an endpoint polled (from the control-plane namespace)
   * until it answers 2xx, or — for a node agent — its Node registered with a podCIDR; a command
   * that exits 0; or a check of the supervisor's own (the guest daemon answering).
   */
  health?: { url: string; clientCert?: boolean } | { registersNode: string } | { exec: string[] } | { probe: () => Promise<true | string> };
  /** Start only after these components are healthy. */
  after: string[];
  /** Extra environment. */
  env?: Record<string, string>;
  /** How long it may take to turn healthy (default: the supervisor's start-up bound). */
  startupTimeoutMs?: number;
  /** Stopped after every other component of its namespace (a node sandbox outlives what runs in it). */
  stopLast?: boolean;
  /**
   * A one-shot step run by the supervisor itself instead of a process (e.g. applying CRDs);
   * healthy when it resolves. `argv` is then empty.
   */
  task?: () => Promise<void>;
}

export function controlPlaneComponents(spec: LabSpec, layout: LabLayout, pki: LabPki): ComponentSpec[] {
  const local = `https://127.0.0.1:${labNetwork.apiServerPort}`;
  return [
    {
      name: 'etcd',
      netns: null,
      argv: [requireBinary('etcd'), '--name', 'lab', '--data-dir', layout.etcdData,
        '--listen-client-urls', 'http://127.0.0.1:2379', '--advertise-client-urls', 'http://127.0.0.1:2379',
        '--listen-peer-urls', 'http://127.0.0.1:2380', '--initial-advertise-peer-urls', 'http://127.0.0.1:2380',
        '--initial-cluster', 'lab=http://127.0.0.1:2380', '--listen-metrics-urls', 'http://127.0.0.1:2381',
        // tmpfs-backed and thrown away with the lab: fsync buys nothing here and costs seconds.
        '--unsafe-no-fsync', '--quota-backend-bytes', `${512 * 1024 * 1024}`, '--log-level', 'warn'],
      health: { url: 'http://127.0.0.1:2381/health' },
      after: [],
    },
    {
      name: 'kube-apiserver',
      netns: null,
      argv: [requireBinary('kube-apiserver'), '--etcd-servers', 'http://127.0.0.1:2379',
        '--bind-address', '0.0.0.0', '--secure-port', `${labNetwork.apiServerPort}`, '--advertise-address', labNetwork.controlPlaneIp,
        '--service-cluster-ip-range', labNetwork.serviceCidr, '--service-node-port-range', '30000-32767',
        '--client-ca-file', pki.caCert, '--tls-cert-file', pki.apiServerCert, '--tls-private-key-file', pki.apiServerKey,
        '--service-account-issuer', 'https://kubernetes.default.svc', '--service-account-key-file', pki.serviceAccountPub,
        '--service-account-signing-key-file', pki.serviceAccountKey, '--authorization-mode', 'Node,RBAC', '--allow-privileged',
        // pods/log (and any node proxying) goes to the node agents' kubelet port, verified both ways.
        '--kubelet-client-certificate', pki.kubeletClientCert, '--kubelet-client-key', pki.kubeletClientKey,
        '--kubelet-certificate-authority', pki.caCert, '--kubelet-preferred-address-types', 'InternalIP',
        '--anonymous-auth=true', '--profiling=false', '--enable-priority-and-fairness=false', '--v', '1'],
      health: { url: `${local}/readyz`, clientCert: true },
      after: ['etcd'],
    },
    {
      name: 'kube-controller-manager',
      netns: null,
      argv: [requireBinary('kube-controller-manager'), '--kubeconfig', layout.internalKubeconfig,
        '--authentication-kubeconfig', layout.internalKubeconfig, '--authorization-kubeconfig', layout.internalKubeconfig,
        '--bind-address', '127.0.0.1', '--secure-port', '10257', '--leader-elect=false',
        '--allocate-node-cidrs', '--cluster-cidr', labNetwork.clusterCidr, '--node-cidr-mask-size', `${labNetwork.nodeCidrMaskSize}`,
        '--service-cluster-ip-range', labNetwork.serviceCidr, '--service-account-private-key-file', pki.serviceAccountKey,
        '--root-ca-file', pki.caCert, '--use-service-account-credentials=false', '--cluster-name', spec.name,
        // Faster convergence than the production defaults, so scenarios measure the dataplane, not sync loops.
        // A node that stops renewing its Lease is NotReady after 20 s (default 50 s): node-down
        // scenarios measure what follows, in minutes not hours of CI (the agents renew every 5 s).
        '--node-monitor-period', '2s', '--node-monitor-grace-period', `${NODE_MONITOR_GRACE_SECONDS}s`,
        '--concurrent-deployment-syncs', '10', '--concurrent-replicaset-syncs', '10', '--v', '1'],
      health: { url: 'https://127.0.0.1:10257/healthz' },
      after: ['kube-apiserver'],
    },
    {
      name: 'kube-scheduler',
      netns: null,
      argv: [requireBinary('kube-scheduler'), '--kubeconfig', layout.internalKubeconfig,
        '--authentication-kubeconfig', layout.internalKubeconfig, '--authorization-kubeconfig', layout.internalKubeconfig,
        '--bind-address', '127.0.0.1', '--secure-port', '10259', '--leader-elect=false', '--v', '1'],
      health: { url: 'https://127.0.0.1:10259/healthz' },
      after: ['kube-apiserver'],
    },
    loadBalancerComponent(spec, layout),
  ];
}

/**
 * The lab load balancer for `type: LoadBalancer` Services, inside the load-balancer namespace
 * (see harness/lab/load-balancer/). Not a gate for `lab up` (no `health`): as on a cloud, a
 * Service's address arrives asynchronously in its status, which callers wait for anyway; its
 * /healthz (informers synced, nft table loaded) is there for people and tools.
 */
export function loadBalancerComponent(spec: LabSpec, layout: LabLayout): ComponentSpec {
  const config = layout.config('load-balancer.json');
  const listen = { host: labNetwork.loadBalancerIp, port: 10_270 };
  writeFileSync(config, JSON.stringify({
    labName: spec.name,
    kubeconfigPath: layout.internalKubeconfig,
    pool: labNetwork.loadBalancerPool,
    table: 'kth_lb',
    listen,
    statusFile: layout.config('load-balancer.status.json'),
    healthCheck: { intervalMs: 1000, timeoutMs: 500, healthyThreshold: 1, unhealthyThreshold: 1 },
  } satisfies LoadBalancerConfigInput, null, 2));
  return {
    name: 'load-balancer',
    netns: labNames(spec.name).netns('lb'),
    argv: [process.execPath, ...LEAN_NODE_FLAGS, labKthEntry(spec), 'lab', 'lb-controller', '--config', config],
    // After the node agents: it gates nothing, and loading it sooner only takes CPU from the
    // start-up path (2 cores are shared by everything).
    after: Array.from({ length: spec.nodes }, (_, i) => `agent-${labNames(spec.name).nodeName(i + 1)}`),
  };
}

/** The lab node agent of node `index`, inside the node's namespace (and sandbox, when the data plane gives one). */
export async function nodeAgentComponent(spec: LabSpec, layout: LabLayout, index: number, plane: NodeDataplane): Promise<ComponentSpec> {
  const names = labNames(spec.name);
  const nodeName = names.nodeName(index);
  const agentConfig = layout.config(`agent-${nodeName}.json`);
  const serving = await signNodeServingCert(layout.pki, nodeName, nodeIp(index));
  await writeFile(agentConfig, JSON.stringify({
    labName: spec.name,
    nodeName,
    nodeIndex: index,
    nodeIp: nodeIp(index),
    kubeconfigPath: layout.internalKubeconfig,
    stateDir: layout.node(nodeName),
    clusterCidr: labNetwork.clusterCidr,
    podNetnsPrefix: names.podNetnsPrefix,
    repoRoot: spec.repoRoot,
    ...(plane.cni ? { cni: plane.cni } : {}),
    ...(spec.guest ? { probeTimeoutScale: startupScale(spec) } : {}),
    // The kubelet's ratio (renew every quarter of the duration), to the lab's shorter grace period.
    leaseDurationSeconds: NODE_MONITOR_GRACE_SECONDS,
    leaseRenewIntervalMs: (NODE_MONITOR_GRACE_SECONDS * 1000) / 4,
    kubeletServer: { port: KUBELET_PORT, certFile: serving.cert, keyFile: serving.key, clientCaFile: serving.caCert, authorizedUser: KUBELET_CLIENT_CN },
    ...(spec.clusterDns ? { clusterDns: { server: labNetwork.clusterDnsIp, domain: labNetwork.clusterDomain } } : {}),
  } satisfies AgentConfigInput, null, 2));
  return {
    name: `agent-${nodeName}`,
    netns: names.nodeNetns(index),
    // Small-heap flags: an idle agent is mostly the Kubernetes client's code; this keeps it ~170 MB, not ~230.
    argv: plane.enter([process.execPath, ...LEAN_NODE_FLAGS, labKthEntry(spec), 'lab', 'agent', '--config', agentConfig]),
    health: { registersNode: nodeName },
    // Started with the API server, not after it: loading the agent takes seconds of CPU that
    // overlap the API server's own start; the agent retries registration until it answers.
    after: ['etcd', ...plane.agentAfter],
  };
}
