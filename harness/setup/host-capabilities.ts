import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { run } from '../core/exec.ts';

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
  return {
    name: 'docker engine',
    available: false,
    detail: 'no Docker daemon answers',
    fix: 'apt-get install docker.io, then start it (systemctl start docker, or dockerd &)',
  };
}
