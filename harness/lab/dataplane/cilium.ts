import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import { mkdir, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubernetesObject } from '@kubernetes/client-node';
import { run } from '../../core/exec.ts';
import { cacheRoot, repoRoot } from '../../core/paths.ts';
import { apply, connect } from '../../kube/cluster.ts';
import { CILIUM_CLANG_DIR, ciliumCrdFiles, ciliumLibDir, requireBinary } from '../../setup/binaries.ts';
import { ciliumHostProblems } from '../../setup/host-capabilities.ts';
import { labNetwork } from '../addressing.ts';
import type { ComponentSpec } from '../components.ts';
import { type LabLayout, labLayout } from '../layout.ts';
import { labNames } from '../names.ts';
import { type CiliumOptions, defaultCiliumOptions, type LabSpec } from '../spec.ts';
import { removeLabCgroups } from './node-cgroup.ts';
import type { Dataplane, DataplaneInfo, NodeDataplane } from './types.ts';

export type { DataplaneInfo } from './types.ts';

/**
 * Cilium's eBPF kube-proxy replacement: no kube-proxy; per node a cilium-agent that compiles and
 * loads its datapath (tc programs on the node's uplink and pod veths, socket LB on the node's
 * cgroup), and pods attached by cilium-cni, which the lab node agent calls as a kubelet would.
 *
 * Several agents share this one kernel, so each node gets what a real node (or a kind node
 * container) gives it: a sandbox of its own (node-sandbox.sh: mount namespace with its own bpffs
 * and /run/cilium, cgroup2 subtree and cgroup namespace), which the agent, the node agent and
 * the node's pods all live in.
 */
export const CILIUM_SANDBOX_SCRIPT = join(repoRoot, 'harness/lab/dataplane/node-sandbox.sh');
const CLANG_CACHE_SCRIPT = join(repoRoot, 'harness/lab/dataplane/clang-cache.sh');
/** Where the agent writes its CNI config once ready; the node agent waits for it (inside the node's /run/cilium). */
const CNI_CONF = '/run/cilium/cni/05-cilium.conflist';
/** From agent start to ready, three agents compiling on two cores: measured 12–25 s here; bounded generously (Cilium's own CI allows 360 s). */
export const CILIUM_AGENT_READY_BOUND_MS = 300_000;

export function ciliumDataplane(): Dataplane {
  return {
    mode: 'cilium',
    binaries: ['cilium-agent', 'cilium-cni', 'cilium-dbg'],
    hostProblems: ciliumHostProblems,
    startupBoundMs: CILIUM_AGENT_READY_BOUND_MS + 60_000,
    clusterComponents: (_spec, layout) => [crdComponent(layout)],
    node: ciliumNode,
    describe: describeCilium,
    async cleanup(lab) {
      const { removed, lastLab } = removeLabCgroups(lab);
      // The mount point every node sandbox mounts its tmpfs on, removed once no lab has a node
      // cgroup left (removing it under a running sandbox would detach that sandbox's mount).
      try {
        if (lastLab && existsSync('/run/cilium') && readdirSync('/run/cilium').length === 0) {
          rmdirSync('/run/cilium');
          removed.push('/run/cilium');
        }
      } catch {
        // a sandbox still has it mounted (another lab), or it is not ours to remove
      }
      return removed;
    },
  };
}

/** The agent's own account of what it runs (node 1's `cilium-dbg status -o json`), for reports. */
async function describeCilium(spec: LabSpec): Promise<DataplaneInfo> {
  const options = spec.cilium ?? defaultCiliumOptions;
  const argv = inCiliumNode(spec.name, 1, [requireBinary('cilium-dbg'), 'status', '-o', 'json']);
  const result = await run(argv, { nothrow: true, timeoutMs: 20_000 });
  const info: DataplaneInfo = { implementation: 'cilium', version: 'unknown', options: { ...options } };
  if (result.exitCode !== 0) return { ...info, features: { error: `cilium-dbg status failed: ${result.stderr.trim().slice(0, 200)}` } };
  return { ...info, ...ciliumStatusFacts(JSON.parse(result.stdout) as CiliumStatus) };
}

interface CiliumStatus {
  cilium?: { msg?: string };
  'attach-mode'?: string;
  'datapath-mode'?: string;
  routing?: { 'inter-host-routing-mode'?: string; 'intra-host-routing-mode'?: string };
  masquerading?: { enabled?: boolean };
  'kube-proxy-replacement'?: {
    mode?: string;
    features?: {
      bpfSocketLBHostnsOnly?: boolean;
      nodePort?: { enabled?: boolean; mode?: string; algorithm?: string; acceleration?: string };
      socketLB?: { enabled?: boolean };
      hostPort?: { enabled?: boolean };
      sessionAffinity?: { enabled?: boolean };
    };
  };
}

/** The version and kernel-side features from `cilium-dbg status -o json`. */
export function ciliumStatusFacts(status: CiliumStatus): Pick<DataplaneInfo, 'version' | 'features'> {
  const kpr = status['kube-proxy-replacement'];
  const features = kpr?.features;
  const entries: [string, string | boolean | undefined][] = [
    ['kubeProxyReplacement', kpr?.mode],
    ['socketLB', features?.socketLB?.enabled],
    ['socketLBHostnsOnly', features?.bpfSocketLBHostnsOnly],
    ['nodePort', features?.nodePort?.enabled],
    ['nodePortMode', features?.nodePort?.mode],
    ['lbAlgorithm', features?.nodePort?.algorithm],
    ['xdpAcceleration', features?.nodePort?.acceleration],
    ['hostPort', features?.hostPort?.enabled],
    ['sessionAffinity', features?.sessionAffinity?.enabled],
    ['attachMode', status['attach-mode']],
    ['deviceMode', status['datapath-mode']],
    ['routing', status.routing ? `${status.routing['inter-host-routing-mode']} (host: ${status.routing['intra-host-routing-mode']})` : undefined],
    // The status omits `enabled` when masquerading is off.
    ['masquerading', status.masquerading ? status.masquerading.enabled === true : undefined],
  ];
  return {
    version: status.cilium?.msg?.split(' ')[0] ?? 'unknown',
    features: Object.fromEntries(entries.filter((entry): entry is [string, string | boolean] => entry[1] !== undefined)),
  };
}

/** Cilium's CRDs, applied from the module as the operator would (the agent waits for them). */
function crdComponent(layout: LabLayout): ComponentSpec {
  return {
    name: 'cilium-crds',
    netns: null,
    argv: [],
    after: ['kube-apiserver'],
    async task() {
      const objects: KubernetesObject[] = [];
      for (const file of ciliumCrdFiles()) {
        for (const doc of parseAllDocuments(await readFile(file, 'utf8'))) {
          const value = doc.toJS() as KubernetesObject | null;
          if (value?.kind) objects.push(value);
        }
      }
      await apply(connect(layout.internalKubeconfig), objects);
    },
  };
}

/** The node sandbox's pid file: written by the holder once the sandbox is complete. */
export const sandboxPidFile = (layout: Pick<LabLayout, 'node'>, nodeName: string) => join(layout.node(nodeName), 'sandbox.pid');

/** Wraps argv to run inside a node's sandbox (run it under `ip netns exec <node netns>`). */
export const sandboxEnter = (lab: string, nodeName: string, pidFile: string) => (argv: readonly string[]) =>
  ['bash', CILIUM_SANDBOX_SCRIPT, 'enter', lab, nodeName, pidFile, '--', ...argv];

/** argv that runs `argv` inside node `index`'s sandbox of a cilium lab, from anywhere on the host. */
export function inCiliumNode(lab: string, index: number, argv: readonly string[]): string[] {
  const nodeName = labNames(lab).nodeName(index);
  return ['ip', 'netns', 'exec', labNames(lab).nodeNetns(index), ...sandboxEnter(lab, nodeName, sandboxPidFile(labLayout(lab), nodeName))(argv)];
}

async function ciliumNode(spec: LabSpec, layout: LabLayout, index: number): Promise<NodeDataplane> {
  const names = labNames(spec.name);
  const nodeName = names.nodeName(index);
  const netns = names.nodeNetns(index);
  const pidFile = sandboxPidFile(layout, nodeName);
  await mkdir(layout.node(nodeName), { recursive: true });
  const enter = sandboxEnter(spec.name, nodeName, pidFile);
  const options = spec.cilium ?? defaultCiliumOptions;
  // The agent runs `clang` from PATH: the compile cache (clang-cache.sh) in front of clang-19.
  const clangDir = join(layout.dir, 'clang');
  await mkdir(clangDir, { recursive: true });
  await symlink(CLANG_CACHE_SCRIPT, join(clangDir, 'clang')).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  const clangEnv = {
    PATH: `${clangDir}:${CILIUM_CLANG_DIR}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
    KTH_CLANG_REAL: join(CILIUM_CLANG_DIR, 'clang'),
    KTH_CLANG_CACHE: join(cacheRoot(), 'cilium-bpf-objects'),
    KTH_CLANG_CACHE_LOG: layout.log(`clang-${nodeName}`),
  };
  return {
    components: [
      {
        name: `sandbox-${nodeName}`,
        netns,
        argv: ['bash', CILIUM_SANDBOX_SCRIPT, 'hold', spec.name, nodeName, pidFile],
        health: { exec: ['test', '-s', pidFile] },
        after: [],
        stopLast: true,
      },
      {
        name: `cilium-${nodeName}`,
        netns,
        argv: enter([requireBinary('cilium-agent'), ...ciliumAgentArgs(layout, options)]),
        env: { K8S_NODE_NAME: nodeName, ...clangEnv },
        // The agent reads its node's podCIDR and InternalIP from the Node the node agent registers;
        // it waits for its CRDs by itself, so it starts before they are applied.
        after: [`agent-${nodeName}`],
        health: { exec: ['ip', 'netns', 'exec', netns, ...enter(['bash', '-c', ciliumReadyCheck(requireBinary('cilium-dbg')), 'cilium-ready'])] },
        startupTimeoutMs: CILIUM_AGENT_READY_BOUND_MS,
      },
    ],
    enter,
    agentAfter: [`sandbox-${nodeName}`],
    cni: { confFile: CNI_CONF, binDir: requireBinary('cilium-cni').replace(/\/[^/]+$/, '') },
  };
}

/**
 * Ready means the data plane carries Service traffic, not only that the agent answers: its health
 * is OK, the host endpoint's programs are loaded (bpf_host on the node's uplink: NodePort and host
 * traffic; tcx attachments do not show in bookworm's bpftool, the agent's endpoint state does),
 * socket LB is attached to the node's cgroup, and the service map holds the `kubernetes` Service.
 */
function ciliumReadyCheck(ciliumDbg: string): string {
  // Cheapest and last to turn true first: each poll then spawns one ~100 MB cilium-dbg, not four,
  // while three agents compete for two cores.
  return [
    `[ -S /run/cilium/cilium.sock ] || { echo "agent API not up yet"; exit 1; }`,
    `[ "$(${ciliumDbg} endpoint get -l reserved:host -o jsonpath='{[0].status.state}' 2>/dev/null)" = ready ] || { echo "host endpoint (bpf_host) not ready yet"; exit 1; }`,
    `${ciliumDbg} status --brief >/dev/null || { echo "agent not healthy"; exit 1; }`,
    `bpftool cgroup show /run/cilium/cgroupv2 | grep -q cil_sock4_connect || { echo "socket LB not attached yet"; exit 1; }`,
    `${ciliumDbg} bpf lb list | grep -q '^${labNetwork.kubernetesServiceIp}:443/TCP' || { echo "the kubernetes Service is not in the BPF service map yet"; exit 1; }`,
  ].join('\n');
}

/**
 * The flags of a kube-proxy-free install (Helm's kubeProxyReplacement=true defaults, made
 * explicit where the binary's own defaults differ), for a node network namespace on the lab bridge.
 */
export function ciliumAgentArgs(layout: Pick<LabLayout, 'internalKubeconfig'>, options: CiliumOptions): string[] {
  return [
    `--k8s-kubeconfig-path=${layout.internalKubeconfig}`,
    '--kube-proxy-replacement=true',
    `--bpf-lb-sock-hostns-only=${options.socketLb === 'hostns-only'}`,
    `--bpf-lb-algorithm=${options.lbAlgorithm}`,
    `--bpf-lb-mode=${options.nodePortMode}`,
    '--ipam=kubernetes',
    '--k8s-require-ipv4-pod-cidr=true',
    '--identity-allocation-mode=crd',
    '--enable-ipv4=true',
    '--enable-ipv6=false',
    '--routing-mode=native',
    `--ipv4-native-routing-cidr=${labNetwork.clusterCidr}`,
    '--auto-direct-node-routes=true',
    '--devices=eth0',
    '--direct-routing-device=eth0',
    '--enable-ipv4-masquerade=false',
    // No Envoy, Hubble or health prober in the lab: L7 policy and Ingress need Envoy (not built).
    '--enable-l7-proxy=false',
    '--enable-hubble=false',
    '--enable-health-checking=false',
    '--enable-endpoint-health-checking=false',
    '--enable-gops=false',
    '--bpf-root=/sys/fs/bpf',
    '--cgroup-root=/run/cilium/cgroupv2',
    '--state-dir=/run/cilium',
    `--lib-dir=${ciliumLibDir()}`,
    `--write-cni-conf-when-ready=${CNI_CONF}`,
    '--cni-exclusive=false',
  ];
}
