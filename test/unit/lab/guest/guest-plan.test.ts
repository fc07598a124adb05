import { chooseKernel, guestMemoryMiB, labEnvironment, labKthEntry, startupScale } from '../../../../harness/lab/guest/lab-guest.ts';
import { guestNics, qemuArgv } from '../../../../harness/lab/guest/qemu.ts';
import type { GuestSpec } from '../../../../harness/lab/spec.ts';

const guest: GuestSpec = { accel: 'tcg', kernelRelease: '6.1.0-57-amd64', kernelPackage: 'linux-image-6.1.0-57-amd64 6.1.192-3', cpus: 2, memoryMiB: 4096, entry: '/repo/harness/.bundle/kth-0123456789abcdef.mjs' };

describe('which kernel a lab runs on', () => {
  it.each([
    ['auto', 'ipvs', ['no IP_VS'], 'guest'],
    ['auto', 'ipvs', [], 'host'],
    ['auto', 'iptables', [], 'host'],
    ['host', 'ipvs', ['no IP_VS'], 'host'],
    ['guest', 'iptables', [], 'guest'],
    ['auto', 'cilium', ['clang missing'], 'host'],
  ] as const)('GIVEN --kernel %s and mode %s with host problems %j THEN the nodes run on the %s kernel', (choice, mode, problems, expected) => {
    expect(chooseKernel(choice, mode, problems)).toBe(expected);
  });

  it('GIVEN cilium WHEN a guest is forced THEN bad input naming --kernel', () => {
    expect(() => chooseKernel('guest', 'cilium', [])).toThrow(expect.objectContaining({ kind: 'bad-input', where: '--kernel' }));
  });
});

describe('start-up bounds scale with the kernel', () => {
  it('GIVEN the host kernel, KVM, emulation, or KTH_STARTUP_SCALE THEN the stated factor', () => {
    expect(startupScale({}, {})).toBe(1);
    expect(startupScale({ guest: { ...guest, accel: 'kvm' } }, {})).toBe(2);
    expect(startupScale({ guest }, {})).toBe(6);
    expect(startupScale({ guest }, { KTH_STARTUP_SCALE: '10' })).toBe(10);
    expect(startupScale({ guest }, { KTH_STARTUP_SCALE: 'lots' })).toBe(6);
  });

  it('GIVEN more nodes THEN more guest memory, never below 4 GiB', () => {
    expect(guestMemoryMiB(1)).toBe(4096);
    expect(guestMemoryMiB(3)).toBe(4096);
    expect(guestMemoryMiB(8)).toBe(9216);
  });
});

describe('what the guest shares with the host', () => {
  it('GIVEN the environment THEN only the harness\'s own settings travel to guest processes', () => {
    expect(labEnvironment({ KTH_CACHE_DIR: '/c', KTH_STATE_DIR: '/s', HOME: '/root', PATH: '/bin' })).toEqual({ KTH_CACHE_DIR: '/c', KTH_STATE_DIR: '/s' });
  });

  it('GIVEN no KTH_CACHE_DIR THEN the cache directory still travels, as the host resolved it (the guest has HOME=/)', () => {
    expect(labEnvironment({ HOME: '/root', PATH: '/bin' })).toEqual({ KTH_CACHE_DIR: '/root/.cache/kube-traffic-harness' });
  });

  it('GIVEN a guest lab THEN its node processes run the bundle; a host lab runs the sources', () => {
    expect(labKthEntry({ repoRoot: '/repo', guest })).toBe(guest.entry);
    expect(labKthEntry({ repoRoot: '/repo' })).toBe('/repo/harness/bin/kth.mjs');
  });
});

describe('qemu command line', () => {
  const argv = qemuArgv({
    lab: 'l1', boot: { kernel: { release: guest.kernelRelease, packageVersion: '6.1.192-3', vmlinuz: '/boot/vmlinuz', modulesDir: '/lib/modules/x' }, vmlinux: '/c/vmlinux', initramfs: '/c/initramfs.cpio' },
    accel: 'tcg', cpus: 2, memoryMiB: 4096, stateDir: '/run/kth/labs/l1', repoRoot: '/repo', consoleLog: '/run/kth/labs/l1/logs/guest-console.log',
    initArgs: { kth_state: '/run/kth/labs/l1', kth_port: '7070' },
  });
  const joined = argv.join(' ');

  it('GIVEN a guest THEN no network device but the two taps in the lab\'s namespace, and nothing qemu would add by itself', () => {
    expect(argv).toContain('-nodefaults');
    expect(joined).not.toMatch(/-nic |user,|hostfwd|-netdev user/);
    expect(argv.filter((a) => a.startsWith('tap,'))).toEqual([
      `tap,id=lab,ifname=${guestNics.lab.tap},script=no,downscript=no`,
      `tap,id=control,ifname=${guestNics.control.tap},script=no,downscript=no`,
    ]);
  });

  it('GIVEN a guest THEN the host root is shared read-only (with remapped submounts) and only the lab\'s state directory read-write', () => {
    expect(argv).toContain('local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap');
    expect(argv).toContain('local,id=kthstate,path=/run/kth/labs/l1,security_model=none,multidevs=remap');
  });

  it('GIVEN TCG THEN multi-threaded emulation, the uncompressed kernel, and the init arguments on the kernel command line', () => {
    expect(argv[argv.indexOf('-accel') + 1]).toBe('tcg,thread=multi');
    expect(argv[argv.indexOf('-kernel') + 1]).toBe('/c/vmlinux');
    const append = argv[argv.indexOf('-append') + 1] as string;
    expect(append).toContain('panic=-1');
    expect(append).toContain('kth_init=/repo/harness/lab/guest/guest-init.sh');
    expect(append).toContain('kth_port=7070');
  });
});
