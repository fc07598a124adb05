import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { binaryPath, binDir, ciliumAssetProblems, ciliumCrdFiles, ciliumLibDir, isExecutable } from './binaries.ts';
import {
  bpffsCapability,
  type Capability,
  cgroup2Capability,
  ciliumKernelCapabilities,
  clangCapability,
  describeProblem,
  dockerEngineCapability,
  ebpfCapability,
  ipvsCapability,
  netnsCapability,
  nftablesCapability,
  rootCapability,
  toolCapability,
} from './host-capabilities.ts';
import { type Acceleration, guestCapability, guestRequired } from './guest-capabilities.ts';
import { verifyBinary } from './install-binaries.ts';
import { goServerBinary, goServerBinaryName } from '../workloads/runtime.ts';
import { type BinaryName, effectiveGroups, groupBinaryNames } from './versions.ts';

export const providers = ['lab', 'kind', 'existing'] as const;
export const proxyModes = ['iptables', 'ipvs', 'nftables', 'cilium'] as const;
export type ProviderName = (typeof providers)[number];
export type ProxyMode = (typeof proxyModes)[number];

export interface SupportCell {
  provider: ProviderName;
  proxyMode: ProxyMode;
  available: boolean;
  /** Why not, and what to do, when unavailable; what it runs on, when available. */
  detail: string;
  /** Lab kube-proxy modes: which kernel runs the node namespaces (a guest when the host kernel lacks the mode's feature). */
  kernel?: 'host' | 'guest-kvm' | 'guest-emulated';
}

export interface DoctorReport {
  host: Capability[];
  binaries: Capability[];
  /** What a guest kernel needs here (guest-capabilities.ts). */
  guest: Capability[];
  matrix: SupportCell[];
}

/** Inspects this host: kernel features, tools, binaries, and so which provider × proxy mode can run. */
export async function runDoctor(): Promise<DoctorReport> {
  const [netns, iptables, nft, conntrack, ipset, docker, clang, bpftool, binaries] = await Promise.all([
    netnsCapability(),
    toolCapability('iptables', ['iptables', '--version'], 'apt-get install iptables'),
    toolCapability('nft', ['nft', '--version'], 'apt-get install nftables'),
    toolCapability('conntrack', ['conntrack', '--version'], 'apt-get install conntrack'),
    toolCapability('ipset', ['ipset', '--version'], 'apt-get install ipset'),
    dockerEngineCapability(),
    clangCapability(),
    toolCapability('bpftool', ['bpftool', 'version'], 'apt-get install bpftool'),
    binaryCapabilities(),
  ]);
  const host = [
    rootCapability(),
    netns,
    iptables,
    nft,
    nftablesCapability(),
    ipvsCapability(),
    ipset,
    ebpfCapability(),
    bpffsCapability(),
    cgroup2Capability(),
    ...ciliumKernelCapabilities(),
    clang,
    bpftool,
    conntrack,
    docker,
  ];
  const installed = [...binaries, ciliumAssetsCapability(), sampleServerCapability()];
  const guest = guestCapability();
  return { host, binaries: installed, guest: guest.rows, matrix: supportMatrix(host, installed, guest) };
}

/** The Go sample server (workload runtime go), built by setup from harness/workloads/go. */
export function sampleServerCapability(env: NodeJS.ProcessEnv = process.env): Capability {
  const path = goServerBinary(env);
  if (isExecutable(path)) return { name: goServerBinaryName, available: true, detail: `runtime go (${path})` };
  return { name: goServerBinaryName, available: false, detail: `not built for these sources (${path}); runtime node still works`, fix: env.KTH_SAMPLE_SERVER_BIN ? 'point KTH_SAMPLE_SERVER_BIN at a built kth-sample-server' : 'npm run setup' };
}

/** Cilium's lib dir (bpf/ sources) and CRD manifests, which setup copies next to the binaries. */
export function ciliumAssetsCapability(env: NodeJS.ProcessEnv = process.env): Capability {
  const problems = ciliumAssetProblems(env);
  if (problems.length === 0) return { name: 'cilium assets', available: true, detail: `${ciliumLibDir(env)}/bpf, ${ciliumCrdFiles(env).length} CRDs` };
  return {
    name: 'cilium assets',
    available: false,
    detail: `${problems[0]}${problems.length > 1 ? ` (+${problems.length - 1} more)` : ''}`,
    fix: env.KTH_BIN_DIR ? `copy cilium-lib/bpf and cilium-crds into ${binDir(env)}` : 'npm run setup',
  };
}

async function binaryCapabilities(): Promise<Capability[]> {
  const checks = effectiveGroups().flatMap((group) =>
    groupBinaryNames(group).map(async (binary): Promise<Capability> => {
      const name = binary as BinaryName;
      const path = binaryPath(name);
      const fix = group.onRequest ? `node harness/bin/kth.mjs setup-binaries --only ${group.id}   (needed for: ${group.purpose})` : 'npm run setup';
      if (!isExecutable(path)) return { name, available: false, detail: `not built (${group.module}@${group.version})`, fix };
      try {
        return { name, available: true, detail: `${await verifyBinary(path, group)} (${path})` };
      } catch (error) {
        return { name, available: false, detail: (error as Error).message.split('\n')[0] ?? '', fix: 'npm run setup' };
      }
    }),
  );
  return Promise.all(checks);
}

/**
 * Which provider × proxy mode can run, from the host and binary rows (exported for tests). A lab
 * kube-proxy mode whose kernel feature the host lacks runs in a guest kernel when `guest` has what
 * that needs; the cell then says so, and how fast (KVM or emulated).
 */
export function supportMatrix(host: Capability[], binaries: Capability[], guest: { rows: Capability[]; acceleration: Acceleration } = { rows: [], acceleration: 'emulated' }): SupportCell[] {
  const has = (name: string) => [...host, ...binaries].find((c) => c.name === name);
  // A row nobody checked counts as missing: a cell is available only on evidence.
  const missing = (names: string[]) =>
    names
      .map((n) => has(n) ?? { name: n, available: false, detail: 'not checked' })
      .filter((c) => !c.available)
      .map(describeProblem);
  const controlPlane = ['root', 'netns', 'etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'];
  const labBase = [...controlPlane, 'kube-proxy'];
  const ciliumNeeds = ['cilium-agent', 'cilium-cni', 'cilium-dbg', 'cilium assets', 'clang', 'eBPF', 'bpffs', 'cgroup2', 'cilium kernel config'];
  const kindBase = ['docker engine', 'kind'];
  const kubeconfig = process.env.KUBECONFIG ?? join(homedir(), '.kube', 'config');
  const cells: SupportCell[] = [];
  const cell = (provider: ProviderName, proxyMode: ProxyMode, problems: string[], okDetail: string) =>
    cells.push({ provider, proxyMode, available: problems.length === 0, detail: problems.length ? problems.join('; ') : okDetail });

  // The kernel feature is what a guest can stand in for; tools and binaries come from the host's root either way.
  const labKubeProxy = (mode: 'iptables' | 'nftables' | 'ipvs', tools: string[], feature: string | undefined, what: string) => {
    const common = missing([...labBase, ...tools]);
    const kernel = feature ? missing([feature]) : [];
    if (kernel.length === 0) {
      cells.push({ provider: 'lab', proxyMode: mode, available: common.length === 0, detail: common.length ? common.join('; ') : `host kernel: ${what}`, kernel: 'host' });
      return;
    }
    const guestMissing = guestRequired
      .map((n) => guest.rows.find((c) => c.name === n) ?? { name: n, available: false, detail: 'not checked' })
      .filter((c) => !c.available)
      .map(describeProblem);
    if (guestMissing.length > 0) {
      cells.push({ provider: 'lab', proxyMode: mode, available: false, detail: [...common, ...kernel, `nor in a guest kernel: ${guestMissing.join('; ')}`].join('; ') });
      return;
    }
    const how = guest.acceleration === 'kvm' ? 'qemu, KVM' : 'qemu, emulated: ~10× slower, timings not comparable with host-kernel runs';
    cells.push({
      provider: 'lab',
      proxyMode: mode,
      available: common.length === 0,
      detail: common.length ? common.join('; ') : `runs in a guest kernel (${how}): ${what}; the host kernel lacks ${feature}`,
      kernel: guest.acceleration === 'kvm' ? 'guest-kvm' : 'guest-emulated',
    });
  };
  labKubeProxy('iptables', ['iptables'], undefined, 'kube-proxy iptables mode in each node namespace');
  labKubeProxy('nftables', ['nft'], 'nf_tables', 'kube-proxy nftables mode in each node namespace');
  labKubeProxy('ipvs', ['ipset'], 'IP_VS', 'kube-proxy ipvs mode in each node namespace');
  // No kube-proxy in this mode: the agent replaces it.
  cell('lab', 'cilium', missing([...controlPlane, ...ciliumNeeds]), 'cilium-agent (kube-proxy replacement) in each node namespace, pods attached by cilium-cni');
  cell('kind', 'iptables', missing(kindBase), 'kind cluster with kubeProxyMode iptables');
  cell('kind', 'nftables', missing([...kindBase, 'nf_tables']), 'kind cluster with kubeProxyMode nftables');
  // kind nodes share the host kernel, so ipvs there needs IP_VS here.
  cell('kind', 'ipvs', missing([...kindBase, 'IP_VS']), 'kind cluster with kubeProxyMode ipvs');
  cells.push({ provider: 'kind', proxyMode: 'cilium', available: false, detail: 'not built for kind yet (Cilium images would have to be built into the cluster): run cilium on the lab' });
  for (const mode of proxyModes) {
    cell('existing', mode, existsSync(kubeconfig) ? [] : [`no kubeconfig at ${kubeconfig} (set KUBECONFIG)`], 'the mode is whatever the cluster runs; the harness detects it');
  }
  return cells;
}
