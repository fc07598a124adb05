import { readFileSync } from 'node:fs';
import { supportMatrix } from '../../../harness/setup/doctor.ts';
import { type GuestHost, guestCapability, guestKernels, isStaticElf, kvmCapability } from '../../../harness/setup/guest-capabilities.ts';
import type { Capability } from '../../../harness/setup/host-capabilities.ts';

/** A 64-bit little-endian ELF header with the given program header types (3 = PT_INTERP: dynamically linked). */
function elf(types: number[]): Buffer {
  const phoff = 64;
  const bytes = Buffer.alloc(phoff + types.length * 56);
  bytes.writeUInt32BE(0x7f454c46, 0);
  bytes[4] = 2;
  bytes[5] = 1;
  bytes.writeBigUInt64LE(BigInt(phoff), 0x20);
  bytes.writeUInt16LE(56, 0x36);
  bytes.writeUInt16LE(types.length, 0x38);
  types.forEach((type, i) => bytes.writeUInt32LE(type, phoff + i * 56));
  return bytes;
}

/** A made-up host: files (with bytes or empty) and directories derived from their paths. */
function fakeHost(files: Record<string, Buffer | string>): GuestHost {
  const paths = Object.keys(files);
  return {
    exists: (path) => paths.some((p) => p === path || p.startsWith(`${path}/`)),
    list: (dir) => [...new Set(paths.filter((p) => p.startsWith(`${dir}/`)).map((p) => p.slice(dir.length + 1).split('/')[0] as string))],
    read: (path) => (path in files ? Buffer.from(files[path] as Buffer | string) : undefined),
    pathDirs: ['/usr/local/bin', '/usr/bin', '/usr/sbin'],
    executable: (path) => path in files,
  };
}

const ready = {
  '/usr/bin/qemu-system-x86_64': '',
  '/boot/vmlinuz-6.1.0-57-amd64': '',
  '/lib/modules/6.1.0-57-amd64/kernel/net/netfilter/ipvs/ip_vs.ko': '',
  '/bin/busybox': elf([1, 1, 4]),
  '/usr/sbin/ipvsadm': '',
  '/dev/net/tun': '',
  '/dev/kvm': '',
  '/sys/module/kvm_pvm/parameters/x': '',
  '/proc/cpuinfo': 'processor : 0\nflags : fpu sse2 hypervisor\n',
};

describe('what a guest kernel needs on this host', () => {
  it('GIVEN ELF program headers THEN static means no PT_INTERP; anything else is not an ELF', () => {
    expect(isStaticElf(elf([6, 1, 1]))).toBe(true);
    expect(isStaticElf(elf([6, 3, 1]))).toBe(false);
    expect(isStaticElf(Buffer.from('#!/bin/sh\n'.padEnd(80)))).toBeUndefined();
    // This very Node binary is dynamically linked on Debian.
    expect(isStaticElf(readFileSync(process.execPath))).toBe(false);
  });

  it('GIVEN kernel images THEN only those with an ip_vs module count, newest first (a compressed module too)', () => {
    const host = fakeHost({
      '/boot/vmlinuz-6.1.0-57-amd64': '',
      '/lib/modules/6.1.0-57-amd64/kernel/net/netfilter/ipvs/ip_vs.ko': '',
      '/boot/vmlinuz-6.12.9-amd64': '',
      '/lib/modules/6.12.9-amd64/kernel/net/netfilter/ipvs/ip_vs.ko.xz': '',
      '/boot/vmlinuz-5.10.0-custom': '',
      '/lib/modules/5.10.0-custom/kernel/net/netfilter/nf_tables.ko': '',
    });
    expect(guestKernels(host)).toEqual(['6.12.9-amd64', '6.1.0-57-amd64']);
  });

  it('GIVEN /dev/kvm from kvm_pvm THEN KVM is not used and the guest is emulated, saying why', () => {
    expect(kvmCapability(fakeHost(ready))).toEqual({ name: 'KVM', available: false, acceleration: 'emulated', detail: 'not used: /dev/kvm is kvm_pvm, which cannot boot stock kernels; the guest runs under TCG emulation (~10× slower)' });
  });

  it('GIVEN a plain /dev/kvm but no vmx/svm THEN emulated; WITH vmx THEN KVM', () => {
    const { '/sys/module/kvm_pvm/parameters/x': _pvm, ...plain } = ready;
    expect(kvmCapability(fakeHost(plain))).toMatchObject({ available: false, acceleration: 'emulated', detail: expect.stringMatching(/no vmx\/svm/) });
    expect(kvmCapability(fakeHost({ ...plain, '/proc/cpuinfo': 'flags : fpu vmx ept\n' }))).toMatchObject({ available: true, acceleration: 'kvm' });
  });

  it('GIVEN everything present THEN every row is available but KVM, and the guest is emulated', () => {
    const guest = guestCapability(fakeHost(ready));
    expect(guest.acceleration).toBe('emulated');
    expect(guest.rows.map((r) => [r.name, r.available])).toEqual([['qemu-system-x86_64', true], ['guest kernel', true], ['busybox (static)', true], ['ipvsadm', true], ['/dev/net/tun', true], ['KVM', false]]);
    expect(guest.rows[1]?.detail).toBe('/boot/vmlinuz-6.1.0-57-amd64 with ip_vs in /lib/modules/6.1.0-57-amd64');
  });

  it('GIVEN nothing present THEN each row says what is missing and the apt package that fixes it', () => {
    const rows = guestCapability(fakeHost({ '/usr/bin/busybox': elf([3]) })).rows;
    expect(Object.fromEntries(rows.map((r) => [r.name, r.fix]))).toEqual({
      'qemu-system-x86_64': 'apt-get install qemu-system-x86',
      'guest kernel': 'apt-get install linux-image-amd64',
      'busybox (static)': 'apt-get install busybox-static',
      ipvsadm: 'apt-get install ipvsadm',
      '/dev/net/tun': 'modprobe tun',
      KVM: 'on a host with hardware virtualization: modprobe kvm_intel (or kvm_amd)',
    });
    expect(rows.find((r) => r.name === 'busybox (static)')?.detail).toBe("/usr/bin/busybox is dynamically linked: the guest's initramfs needs a static one");
  });
});

describe('kth doctor: where each lab proxy mode runs', () => {
  const base = ['root', 'netns', 'etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy', 'iptables', 'nft', 'nf_tables', 'ipset'];
  const rows = (overrides: Record<string, Partial<Capability>> = {}): Capability[] => base.map((name) => ({ name, available: true, detail: 'ok', ...overrides[name] }));
  const noIpvs = rows({}).concat({ name: 'IP_VS', available: false, detail: 'kernel 6.18 has no IP_VS', fix: 'modprobe ip_vs' });
  const cell = (matrix: ReturnType<typeof supportMatrix>, mode: string) => matrix.find((c) => c.provider === 'lab' && c.proxyMode === mode);

  it('GIVEN a host kernel with IP_VS THEN ipvs runs on the host kernel', () => {
    const matrix = supportMatrix([...rows(), { name: 'IP_VS', available: true, detail: 'ok' }], []);
    expect(cell(matrix, 'ipvs')).toEqual({ provider: 'lab', proxyMode: 'ipvs', available: true, kernel: 'host', detail: 'host kernel: kube-proxy ipvs mode in each node namespace' });
    expect(cell(matrix, 'iptables')?.kernel).toBe('host');
  });

  it('GIVEN no IP_VS but a guest with everything THEN ipvs runs in an emulated guest kernel, and says so', () => {
    const guest = guestCapability(fakeHost(ready));
    expect(cell(supportMatrix(noIpvs, [], guest), 'ipvs')).toEqual({
      provider: 'lab', proxyMode: 'ipvs', available: true, kernel: 'guest-emulated',
      detail: 'runs in a guest kernel (qemu, emulated: ~10× slower, timings not comparable with host-kernel runs): kube-proxy ipvs mode in each node namespace; the host kernel lacks IP_VS',
    });
  });

  it('GIVEN no IP_VS and no qemu THEN ipvs runs nowhere, with both fixes', () => {
    const { '/usr/bin/qemu-system-x86_64': _qemu, ...noQemu } = ready;
    const ipvs = cell(supportMatrix(noIpvs, [], guestCapability(fakeHost(noQemu))), 'ipvs');
    expect(ipvs?.available).toBe(false);
    expect(ipvs?.kernel).toBeUndefined();
    expect(ipvs?.detail).toBe('IP_VS: kernel 6.18 has no IP_VS (fix: modprobe ip_vs); nor in a guest kernel: qemu-system-x86_64: not found: the guest kernel runs in qemu (fix: apt-get install qemu-system-x86)');
  });

  it('GIVEN a guest but no ipset THEN ipvs cannot run in the guest either (kube-proxy needs it from the shared root)', () => {
    const guest = guestCapability(fakeHost(ready));
    const ipvs = cell(supportMatrix([...rows({ ipset: { available: false, detail: 'ipset not found', fix: 'apt-get install ipset' } }), noIpvs.at(-1)!], [], guest), 'ipvs');
    expect(ipvs).toMatchObject({ available: false, detail: 'ipset: ipset not found (fix: apt-get install ipset)' });
  });
});
