import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { run } from '../core/exec.ts';
import { binaryPath, ciliumAssetProblems, isExecutable } from './binaries.ts';
import { CILIUM_CLANG_DIR, CILIUM_CLANG_MIN_MAJOR } from './versions.ts';

/** One thing the host can or cannot do, with the reason and, when missing, the fix. */
export interface Capability {
  name: string;
  available: boolean;
  detail: string;
  fix?: string;
}

let kernelConfigCache: Map<string, string> | null | undefined;

/** The running kernel's build config (CONFIG_X → y/m/…), from /proc/config.gz or /boot; null if unreadable. */
export function kernelConfig(): Map<string, string> | null {
  if (kernelConfigCache !== undefined) return kernelConfigCache;
  let text: string | undefined;
  try {
    text = gunzipSync(readFileSync('/proc/config.gz')).toString('utf8');
  } catch {
    try {
      text = readFileSync(`/boot/config-${release()}`, 'utf8');
    } catch {
      text = undefined;
    }
  }
  kernelConfigCache = text === undefined ? null : new Map([...text.matchAll(/^(CONFIG_\w+)=(.*)$/gm)].map((m) => [m[1] as string, m[2] as string]));
  return kernelConfigCache;
}

function moduleAvailable(name: string): boolean {
  const dir = `/lib/modules/${release()}`;
  if (!existsSync(dir)) return false;
  try {
    return readFileSync(`${dir}/modules.dep`, 'utf8').includes(`/${name}.ko`);
  } catch {
    return false;
  }
}

/**
 * Whether a kernel feature is usable: loaded (or built in), or loadable as a module.
 * `probe` is a path that exists only when the feature is active (e.g. /proc/net/ip_vs).
 */
function kernelFeature(name: string, configKey: string, moduleName: string, probe: string | undefined, why: string, fix: string): Capability {
  if (probe && existsSync(probe)) return { name, available: true, detail: `active (${probe})` };
  const config = kernelConfig();
  const value = config?.get(configKey);
  if (value === 'y') return { name, available: true, detail: `built into kernel ${release()} (${configKey}=y)` };
  if (value === 'm' || moduleAvailable(moduleName)) return { name, available: true, detail: `module ${moduleName} available for kernel ${release()}` };
  const evidence = config ? `${configKey} is not set in this kernel's config` : 'kernel config unreadable';
  return { name, available: false, detail: `kernel ${release()} has no ${name}: ${evidence}, and no ${moduleName} module in /lib/modules/${release()}. ${why}`, fix };
}

export function ipvsCapability(): Capability {
  return kernelFeature(
    'IP_VS',
    'CONFIG_IP_VS',
    'ip_vs',
    '/proc/net/ip_vs',
    'kube-proxy --proxy-mode=ipvs programs IPVS virtual servers in the kernel, so ipvs mode cannot run on this host.',
    'run ipvs mode on a host whose kernel has IP_VS (CONFIG_IP_VS=m/y; `modprobe ip_vs`), or choose --proxy-mode iptables|nftables here',
  );
}

export function nftablesCapability(): Capability {
  return kernelFeature('nf_tables', 'CONFIG_NF_TABLES', 'nf_tables', undefined, 'kube-proxy nftables mode needs nf_tables.', 'use a kernel with CONFIG_NF_TABLES, or --proxy-mode iptables');
}

export function ebpfCapability(): Capability {
  const cap = kernelFeature('eBPF', 'CONFIG_BPF_SYSCALL', 'bpf', undefined, 'Cilium needs the bpf() syscall.', 'use a kernel with CONFIG_BPF_SYSCALL=y');
  if (cap.available && !existsSync('/sys/fs/bpf')) return { ...cap, detail: `${cap.detail}; /sys/fs/bpf is not present (mount bpffs for Cilium)` };
  return cap;
}

export function rootCapability(): Capability {
  const root = process.getuid?.() === 0;
  return root
    ? { name: 'root', available: true, detail: 'running as root' }
    : { name: 'root', available: false, detail: 'not root: the lab creates network namespaces and netfilter rules', fix: 'run the lab as root (sudo -E kth …)' };
}

/** Creates and removes a throwaway network namespace: the real test that the lab can make its nodes. */
export async function netnsCapability(): Promise<Capability> {
  const name = `kth-doctor-${process.pid}`;
  const add = await run(['ip', 'netns', 'add', name], { nothrow: true });
  if (add.exitCode !== 0) {
    return { name: 'netns', available: false, detail: `ip netns add failed: ${add.stderr.trim()}`, fix: 'install iproute2 and run as root with CAP_SYS_ADMIN' };
  }
  await run(['ip', 'netns', 'delete', name], { nothrow: true });
  return { name: 'netns', available: true, detail: 'created and removed a network namespace' };
}

/** A command-line tool: present when `argv` runs; its first output line is the detail. */
export async function toolCapability(name: string, argv: string[], fix: string): Promise<Capability> {
  const result = await run(argv, { nothrow: true, timeoutMs: 15_000 }).catch((error: Error) => ({ exitCode: -1, stdout: '', stderr: error.message, durationMs: 0 }));
  const first = `${result.stdout}\n${result.stderr}`.split('\n').find((l) => l.trim())?.trim() ?? '';
  return result.exitCode === 0 ? { name, available: true, detail: first } : { name, available: false, detail: first || `${argv[0]} not found`, fix };
}

export async function dockerEngineCapability(): Promise<Capability> {
  const result = await run(['docker', 'info', '--format', '{{.ServerVersion}}'], { nothrow: true, timeoutMs: 15_000 }).catch(() => undefined);
  if (result && result.exitCode === 0 && result.stdout.trim()) return { name: 'docker engine', available: true, detail: `server ${result.stdout.trim()}` };
  // The kind provider starts Debian's dockerd itself when none runs (harness/docker/engine.ts).
  const dockerd = await run(['sh', '-c', 'command -v dockerd && command -v jq'], { nothrow: true });
  if (dockerd.exitCode === 0) return { name: 'docker engine', available: true, detail: 'none running; the harness starts dockerd when a kind run needs it' };
  return {
    name: 'docker engine',
    available: false,
    detail: 'no Docker daemon answers, and dockerd (or jq, for its runtime wrapper) is not installed',
    fix: 'apt-get install docker.io jq (the harness starts dockerd itself)',
  };
}

/** A missing capability as one line: what, why, and the fix (doctor's matrix and fail-fast errors). */
export function describeProblem(capability: Capability): string {
  return `${capability.name}: ${capability.detail}${capability.fix ? ` (fix: ${capability.fix})` : ''}`;
}

/** `clang --version` output → its version; undefined when it is not clang's banner. */
export function parseClangVersion(text: string): { major: number; minor: number; patch: number } | undefined {
  const match = /\bclang version (\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!match) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3] ?? 0) };
}

/** The clang cilium-agent compiles its datapath with (CILIUM_CLANG_DIR/clang; Cilium needs LLVM >= 18.1). */
export async function clangCapability(dir: string = CILIUM_CLANG_DIR): Promise<Capability> {
  const clang = join(dir, 'clang');
  const fix = 'apt-get install clang-19 llvm-19';
  if (!isExecutable(clang)) return { name: 'clang', available: false, detail: `${clang} not found: cilium-agent compiles its BPF datapath with clang >= ${CILIUM_CLANG_MIN_MAJOR}`, fix };
  const result = await run([clang, '--version'], { nothrow: true, timeoutMs: 15_000 }).catch((error: Error) => ({ exitCode: -1, stdout: '', stderr: error.message }));
  const version = parseClangVersion(`${result.stdout}\n${result.stderr}`);
  if (result.exitCode !== 0 || !version) return { name: 'clang', available: false, detail: `${clang} --version failed: ${(result.stderr || result.stdout).trim().split('\n')[0] ?? ''}`, fix };
  const text = `clang ${version.major}.${version.minor}.${version.patch} (${clang})`;
  if (version.major < CILIUM_CLANG_MIN_MAJOR) return { name: 'clang', available: false, detail: `${text} is too old: Cilium needs >= ${CILIUM_CLANG_MIN_MAJOR}.1`, fix };
  return { name: 'clang', available: true, detail: text };
}

/** Filesystem types the kernel supports (/proc/filesystems). */
function kernelFilesystems(): Set<string> {
  try {
    return new Set(
      readFileSync('/proc/filesystems', 'utf8')
        .split('\n')
        .map((line) => line.trim().split(/\s+/).at(-1) ?? '')
        .filter(Boolean),
    );
  } catch {
    return new Set();
  }
}

/** Where cgroup2 is mounted, from /proc/mounts text (the first such mount); undefined when it is not. */
export function cgroup2MountPoint(mounts: string = readMounts()): string | undefined {
  for (const line of mounts.split('\n')) {
    const [, mountPoint, type] = line.split(' ');
    if (type === 'cgroup2' && mountPoint) return mountPoint.replace(/\\040/g, ' ');
  }
  return undefined;
}

function readMounts(): string {
  try {
    return readFileSync('/proc/mounts', 'utf8');
  } catch {
    return '';
  }
}

/** bpffs: each Cilium node mounts its own instance (pinned maps and links) in its mount namespace. */
export function bpffsCapability(): Capability {
  return kernelFilesystems().has('bpf')
    ? { name: 'bpffs', available: true, detail: 'bpf filesystem supported (each cilium node mounts its own)' }
    : { name: 'bpffs', available: false, detail: '/proc/filesystems lists no bpf: cilium-agent pins its maps and links in a bpffs', fix: 'use a kernel with CONFIG_BPF_SYSCALL=y (bpffs comes with it)' };
}

/**
 * cgroup2: Cilium's socket load balancer attaches to a cgroup2 subtree, and the lab gives each node
 * one under the host's cgroup2 mount (on a hybrid host, e.g. /sys/fs/cgroup/unified).
 */
export function cgroup2Capability(): Capability {
  if (!kernelFilesystems().has('cgroup2')) {
    return { name: 'cgroup2', available: false, detail: '/proc/filesystems lists no cgroup2: Cilium attaches its socket load balancer to cgroup2', fix: 'use a kernel with CONFIG_CGROUPS=y (cgroup v2 is part of it)' };
  }
  const mountPoint = cgroup2MountPoint();
  return mountPoint
    ? { name: 'cgroup2', available: true, detail: `mounted at ${mountPoint}` }
    : { name: 'cgroup2', available: false, detail: 'the kernel has cgroup2 but nothing mounts it here (/proc/mounts)', fix: 'mkdir -p /sys/fs/cgroup/unified && mount -t cgroup2 none /sys/fs/cgroup/unified' };
}

/**
 * The base kernel options of Cilium v1.20's system requirements (Documentation/operations/
 * system_requirements.rst, "Base Requirements"; module or built-in both count). CONFIG_SCHEDSTATS,
 * also listed there, is reported apart: without /proc/schedstat the agent cannot read KERNEL_HZ
 * (pkg/datapath/linux/probes/kernel_hz.go), so it auto-disables the BPF clock probe and keeps
 * the ktime clock source, its default anyway (daemon_main.go initClockSourceOption). The lab disables
 * tunneling and iptables masquerading, so those sections' options are not required.
 */
export const ciliumKernelOptions = [
  'CONFIG_BPF',
  'CONFIG_BPF_EVENTS',
  'CONFIG_BPF_SYSCALL',
  'CONFIG_NET_CLS_BPF',
  'CONFIG_BPF_JIT',
  'CONFIG_NET_CLS_ACT',
  'CONFIG_NET_SCH_INGRESS',
  'CONFIG_DEBUG_INFO_BTF',
  'CONFIG_CRYPTO_SHA1',
  'CONFIG_CGROUPS',
  'CONFIG_CGROUP_BPF',
  'CONFIG_PERF_EVENTS',
] as const;

/** The kernel options row(s) for Cilium: required options, and CONFIG_SCHEDSTATS (optional). */
export function ciliumKernelCapabilities(config: Map<string, string> | null = kernelConfig()): Capability[] {
  if (!config) {
    // Unreadable is not proof of absence: say so, and let the agent's own probes decide.
    const detail = `kernel config unreadable (no /proc/config.gz or /boot/config-${release()}): Cilium's required options not verified`;
    return [{ name: 'cilium kernel config', available: true, detail }];
  }
  const enabled = (key: string) => config.get(key) === 'y' || config.get(key) === 'm';
  const missing = ciliumKernelOptions.filter((key) => !enabled(key));
  const required: Capability = missing.length
    ? { name: 'cilium kernel config', available: false, detail: `kernel ${release()} lacks ${missing.join(', ')} (Cilium's base requirements)`, fix: 'run the cilium mode on a kernel built with them (most distribution kernels are)' }
    : { name: 'cilium kernel config', available: true, detail: `all ${ciliumKernelOptions.length} base options set (${ciliumKernelOptions.map((k) => k.replace(/^CONFIG_/, '')).join(' ')})` };
  const schedstats: Capability = enabled('CONFIG_SCHEDSTATS')
    ? { name: 'CONFIG_SCHEDSTATS', available: true, detail: 'set' }
    : { name: 'CONFIG_SCHEDSTATS', available: true, detail: 'not set (optional): cilium-agent only disables its BPF clock probe' };
  return [required, schedstats];
}

/** Everything of this host the lab's cilium mode needs, as doctor rows. */
export async function ciliumHostCapabilities(): Promise<Capability[]> {
  return [rootCapability(), ebpfCapability(), bpffsCapability(), cgroup2Capability(), ...ciliumKernelCapabilities(), await clangCapability()];
}

/**
 * What stops a cilium lab from starting here: host features, the cilium binaries and their
 * assets, one line each with the fix; empty when it can start. For the lab to fail fast (exit 3)
 * before it creates anything.
 */
export async function ciliumHostProblems(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const problems = (await ciliumHostCapabilities()).filter((c) => !c.available).map(describeProblem);
  for (const name of ['cilium-agent', 'cilium-cni', 'cilium-dbg'] as const) {
    const path = binaryPath(name, env);
    if (!isExecutable(path)) problems.push(`${name}: not installed at ${path} (fix: ${env.KTH_BIN_DIR ? `put it in KTH_BIN_DIR, or unset KTH_BIN_DIR and run: npm run setup` : 'npm run setup'})`);
  }
  const assets = ciliumAssetProblems(env);
  if (assets.length) {
    const fix = env.KTH_BIN_DIR ? 'copy cilium-lib/bpf and cilium-crds from the pinned github.com/cilium/cilium module into KTH_BIN_DIR' : 'npm run setup';
    problems.push(`cilium assets: ${assets[0]}${assets.length > 1 ? ` (+${assets.length - 1} more)` : ''} (fix: ${fix})`);
  }
  return problems;
}
