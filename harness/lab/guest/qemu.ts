import type { GuestBootFiles } from './kernel.ts';

/** How the guest's CPU is provided: hardware virtualization, or qemu's software emulation (~10× slower). */
export type GuestAccel = 'kvm' | 'tcg';

/** The guest's two network devices, both taps in the lab's control-plane namespace. */
export const guestNics = {
  /** The lab's node network: in the guest it joins the lab bridge; in cp it carries the API server's address. */
  lab: { tap: 'kthg-lab', mac: '52:54:00:6b:74:01' },
  /** The control link to the guest daemon (the guest's own root namespace). */
  control: { tap: 'kthg-ctl', mac: '52:54:00:6b:74:02' },
} as const;

export interface GuestMachine {
  lab: string;
  boot: GuestBootFiles;
  accel: GuestAccel;
  cpus: number;
  memoryMiB: number;
  /** The lab's state directory: shared read-write at the same path in the guest. */
  stateDir: string;
  repoRoot: string;
  consoleLog: string;
  /** Kernel arguments read by guest-init.sh (kth_*). */
  initArgs: Record<string, string>;
}

/**
 * qemu's command line for a lab guest. No device qemu would add by itself (-nodefaults: no
 * e1000 with a boot ROM, no VGA), no user-mode network: the only NICs are taps in the lab's own
 * control-plane namespace, which has no route out. The host's / is exported read-only (the guest
 * overlays a tmpfs); `multidevs=remap` keeps the host's submounts (/proc, /sys, /run) from
 * colliding inside the export.
 */
export function qemuArgv(machine: GuestMachine): string[] {
  const append = [
    'console=ttyS0', 'panic=-1', 'quiet', 'loglevel=4', 'mitigations=off', 'rdinit=/init',
    `kth_init=${machine.repoRoot}/harness/lab/guest/guest-init.sh`,
    ...Object.entries(machine.initArgs).map(([key, value]) => `${key}=${value}`),
  ].join(' ');
  return [
    'qemu-system-x86_64', '-name', `kth-${machine.lab}`,
    '-machine', 'pc', '-accel', machine.accel === 'tcg' ? 'tcg,thread=multi' : 'kvm',
    '-smp', `${machine.cpus}`, '-m', `${machine.memoryMiB}`,
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-serial', `file:${machine.consoleLog}`,
    '-kernel', machine.boot.vmlinux, '-initrd', machine.boot.initramfs, '-append', append,
    '-fsdev', 'local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap',
    '-device', 'virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot',
    '-fsdev', `local,id=kthstate,path=${machine.stateDir},security_model=none,multidevs=remap`,
    '-device', 'virtio-9p-pci,fsdev=kthstate,mount_tag=kthstate',
    '-netdev', `tap,id=lab,ifname=${guestNics.lab.tap},script=no,downscript=no`,
    '-device', `virtio-net-pci,netdev=lab,mac=${guestNics.lab.mac}`,
    '-netdev', `tap,id=control,ifname=${guestNics.control.tap},script=no,downscript=no`,
    '-device', `virtio-net-pci,netdev=control,mac=${guestNics.control.mac}`,
  ];
}
