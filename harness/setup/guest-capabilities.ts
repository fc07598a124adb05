import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { isExecutable } from './binaries.ts';
import type { Capability } from './host-capabilities.ts';

/**
 * What a guest kernel needs on this host: the lab runs a proxy mode the host kernel cannot (ipvs
 * without IP_VS) inside a qemu guest booted from Debian's kernel package, with the host's root
 * shared read-only. So the guest's tools are the host's (busybox for its init, ipvsadm, ipset) and
 * its kernel modules come from /lib/modules here. Every probe goes through GuestHost, so the
 * decisions are tested on made-up hosts.
 */
export interface GuestHost {
  exists(path: string): boolean;
  /** Names in a directory; [] when it cannot be read. */
  list(dir: string): string[];
  /** A file's bytes; undefined when it cannot be read. */
  read(path: string): Buffer | undefined;
  /** Where programs are looked up (PATH), plus the sbin directories root has. */
  pathDirs: string[];
  executable(path: string): boolean;
}

export const thisHost: GuestHost = {
  exists: existsSync,
  list: (dir) => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  },
  read: (path) => {
    try {
      return readFileSync(path);
    } catch {
      return undefined;
    }
  },
  pathDirs: [...new Set([...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin'])],
  executable: isExecutable,
};

/** The first executable `name` on the path, or undefined. (ipvsadm cannot be run to find it: it fails without IP_VS.) */
export function findProgram(host: GuestHost, name: string): string | undefined {
  return host.pathDirs.map((dir) => join(dir, name)).find((path) => host.executable(path));
}

/**
 * Whether an ELF file is statically linked: it has no PT_INTERP program header (no dynamic loader
 * to ask for). Undefined when the bytes are not a 64-bit little-endian ELF.
 */
export function isStaticElf(bytes: Buffer): boolean | undefined {
  if (bytes.length < 64 || bytes.readUInt32BE(0) !== 0x7f454c46 || bytes[4] !== 2 || bytes[5] !== 1) return undefined;
  const phoff = Number(bytes.readBigUInt64LE(0x20));
  const phentsize = bytes.readUInt16LE(0x36);
  const phnum = bytes.readUInt16LE(0x38);
  const PT_INTERP = 3;
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 4 > bytes.length) return undefined;
    if (bytes.readUInt32LE(at) === PT_INTERP) return false;
  }
  return true;
}

/** Kernel versions with both an image (`/boot/vmlinuz-<ver>`) and an IPVS module, newest first. */
export function guestKernels(host: GuestHost): string[] {
  const versions = host.list('/boot').filter((f) => f.startsWith('vmlinuz-')).map((f) => f.slice('vmlinuz-'.length));
  const hasIpvs = (version: string) => host.list(`/lib/modules/${version}/kernel/net/netfilter/ipvs`).some((f) => /^ip_vs\.ko(\.(xz|zst|gz))?$/.test(f));
  return versions.filter(hasIpvs).sort((a, b) => b.localeCompare(a, 'en', { numeric: true }));
}

export type Acceleration = 'kvm' | 'emulated';

/**
 * Whether qemu can use KVM for a stock kernel. A paravirtual KVM (kvm_pvm, the /dev/kvm of some
 * cloud sandboxes) runs only kernels built for it, and without vmx/svm in the CPU flags there is
 * no hardware virtualization to use: then TCG emulation.
 */
export function kvmCapability(host: GuestHost): Capability & { acceleration: Acceleration } {
  const name = 'KVM';
  if (!host.exists('/dev/kvm')) return { name, available: false, acceleration: 'emulated', detail: 'not used: no /dev/kvm; the guest runs under TCG emulation (~10× slower)', fix: 'on a host with hardware virtualization: modprobe kvm_intel (or kvm_amd)' };
  if (host.exists('/sys/module/kvm_pvm')) {
    return { name, available: false, acceleration: 'emulated', detail: 'not used: /dev/kvm is kvm_pvm, which cannot boot stock kernels; the guest runs under TCG emulation (~10× slower)' };
  }
  const flags = (host.read('/proc/cpuinfo')?.toString('utf8') ?? '').split('\n').filter((l) => l.startsWith('flags')).join(' ');
  if (!/\b(vmx|svm)\b/.test(flags)) {
    return { name, available: false, acceleration: 'emulated', detail: 'not used: the CPU flags have no vmx/svm (nested virtualization off); the guest runs under TCG emulation (~10× slower)' };
  }
  return { name, available: true, acceleration: 'kvm', detail: '/dev/kvm with hardware virtualization: the guest runs under KVM' };
}

/** Everything a guest kernel needs here, one Capability each, and how the guest would run (KVM or emulated). */
export function guestCapability(host: GuestHost = thisHost): { rows: Capability[]; acceleration: Acceleration } {
  const qemu = findProgram(host, 'qemu-system-x86_64');
  const kernels = guestKernels(host);
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => host.executable(p));
  const busyboxStatic = busybox ? isStaticElf(host.read(busybox) ?? Buffer.alloc(0)) : undefined;
  const ipvsadm = findProgram(host, 'ipvsadm');
  const kvm = kvmCapability(host);
  const { acceleration, ...kvmRow } = kvm;
  const rows: Capability[] = [
    qemu
      ? { name: 'qemu-system-x86_64', available: true, detail: qemu }
      : { name: 'qemu-system-x86_64', available: false, detail: 'not found: the guest kernel runs in qemu', fix: 'apt-get install qemu-system-x86' },
    kernels.length > 0
      ? { name: 'guest kernel', available: true, detail: `/boot/vmlinuz-${kernels[0]} with ip_vs in /lib/modules/${kernels[0]}` }
      : { name: 'guest kernel', available: false, detail: 'no /boot/vmlinuz-<version> with net/netfilter/ipvs/ip_vs.ko in /lib/modules/<version>', fix: 'apt-get install linux-image-amd64' },
    busyboxStatic
      ? { name: 'busybox (static)', available: true, detail: `${busybox}, statically linked (the guest's init)` }
      : { name: 'busybox (static)', available: false, detail: busybox ? `${busybox} is dynamically linked: the guest's initramfs needs a static one` : 'not found: the guest\'s initramfs runs busybox', fix: 'apt-get install busybox-static' },
    ipvsadm
      ? { name: 'ipvsadm', available: true, detail: `${ipvsadm} (kth inspect reads IPVS tables with it)` }
      : { name: 'ipvsadm', available: false, detail: 'not found: kth inspect and the ipvs tests read IPVS tables with it', fix: 'apt-get install ipvsadm' },
    host.exists('/dev/net/tun')
      ? { name: '/dev/net/tun', available: true, detail: 'present (the link between the host and the guest)' }
      : { name: '/dev/net/tun', available: false, detail: 'missing: the guest is joined to the host by a tap device', fix: 'modprobe tun' },
    kvmRow,
  ];
  return { rows, acceleration };
}

/** The rows a guest cannot run without (KVM is only faster). */
export const guestRequired = ['qemu-system-x86_64', 'guest kernel', 'busybox (static)', '/dev/net/tun'] as const;

/** Why a guest kernel cannot run here, each with its fix; [] when it can. */
export function guestProblems(host: GuestHost = thisHost): string[] {
  return guestCapability(host).rows
    .filter((row) => !row.available && (guestRequired as readonly string[]).includes(row.name))
    .map((row) => `${row.detail} (fix: ${row.fix ?? 'see kth doctor'})`);
}
