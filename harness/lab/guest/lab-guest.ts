import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { badInput } from '../../core/errors.ts';
import { run } from '../../core/exec.ts';
import { cacheRoot } from '../../core/paths.ts';
import { guestLink, hostLink } from '../addressing.ts';
import type { ComponentSpec } from '../components.ts';
import type { LabLayout } from '../layout.ts';
import { GiveUp } from '../health.ts';
import { createNodeNetwork } from '../network.ts';
import { ipBatch, type Runner } from '../netns.ts';
import type { GuestSpec, KernelChoice, LabSpec } from '../spec.ts';
import { type GuestAddress, type GuestProcess, guestRun, guestSpawn } from './client.ts';
import { GUEST_DAEMON_PORT } from './protocol.ts';
import { guestEntry } from './bundle.ts';
import { type GuestBootFiles, guestBootFiles } from './kernel.ts';
import { type GuestAccel, guestNics, qemuArgv } from './qemu.ts';

/**
 * A guest-kernel lab: the control plane (etcd, API server, controllers, scheduler, the lab
 * supervisor) stays on the host, in the lab's control-plane namespace; what must share a kernel
 * with the proxy mode — node namespaces, kube-proxy, the node agents and their pods, the lab load
 * balancer and external client — runs in a qemu guest booted from Debian's kernel, on the host's
 * root (read-only) and the lab's state directory (shared read-write at the same path). The same
 * lab code runs on both sides; only where a process starts differs (see labRunner/labSpawn).
 */

/** The guest daemon of a guest-kernel lab, as the host and the supervisor reach it. */
export function guestAddress(spec: Pick<LabSpec, 'slot'>, connectTimeoutMs?: number): GuestAddress {
  return { host: guestLink(spec.slot).guestIp, ...(connectTimeoutMs ? { connectTimeoutMs } : {}) };
}

/** Runs commands on the kernel the lab's nodes live on. */
export function labRunner(spec: Pick<LabSpec, 'slot' | 'guest'>): Runner {
  if (!spec.guest) return run;
  const address = guestAddress(spec, 10_000);
  return (argv, options) => guestRun(address, argv, options);
}

/** The CLI a lab's node-side processes run: the bundle in a guest, the sources on the host. */
export function labKthEntry(spec: Pick<LabSpec, 'repoRoot' | 'guest'>): string {
  return spec.guest?.entry ?? join(spec.repoRoot, 'harness/bin/kth.mjs');
}

/** Starts `argv` inside one of the lab's namespaces, on the host or in its guest; stdout and stderr are pipes. */
export function labSpawn(spec: Pick<LabSpec, 'slot' | 'guest'>, netns: string, argv: readonly string[], options: { stdin?: boolean } = {}): ChildProcess | GuestProcess {
  const full = ['ip', 'netns', 'exec', netns, ...argv];
  if (spec.guest) return guestSpawn(guestAddress(spec, 10_000), { argv: full, env: labEnvironment(), stdin: options.stdin ?? false });
  return spawn(full[0] as string, full.slice(1), { stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
}

/**
 * The harness's own settings (state, cache and binary directories) that processes in the guest must
 * share. The cache directory goes as the host resolved it: the guest's init has HOME=/, so a guest
 * process resolving ~/.cache itself would look somewhere else (and miss, e.g., the Go sample server).
 */
export function labEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const own = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[0].startsWith('KTH_') && e[1] !== undefined));
  return { ...own, KTH_CACHE_DIR: cacheRoot(env) };
}

/**
 * How much longer than on the host a start-up may take: a stated factor per environment
 * (emulation ran the lab's processes 7–10× slower, fork/exec far more), or KTH_STARTUP_SCALE.
 */
export function startupScale(spec: Pick<LabSpec, 'guest'>, env: NodeJS.ProcessEnv = process.env): number {
  const set = Number(env.KTH_STARTUP_SCALE);
  if (Number.isFinite(set) && set > 0) return set;
  if (!spec.guest) return 1;
  return spec.guest.accel === 'tcg' ? 6 : 2;
}

/**
 * Which kernel a lab runs on. `auto`: the host's when it can run the mode, else a guest's when the
 * guest can; `host` fails with the host kernel's reason; `guest` always uses a guest.
 */
export function chooseKernel(choice: KernelChoice, mode: string, hostProblems: readonly string[]): 'host' | 'guest' {
  if (mode === 'cilium' && choice === 'guest') {
    throw badInput('the cilium mode does not run in a guest kernel', { where: '--kernel', hint: 'use --kernel host (the host kernel has what Cilium needs)' });
  }
  if (choice === 'host' || mode === 'cilium') return 'host';
  if (choice === 'guest') return 'guest';
  return hostProblems.length === 0 ? 'host' : 'guest';
}

/** Guest memory: the node agents, pods and kube-proxies of `nodes` nodes, with room (qemu touches only what the guest uses). */
export function guestMemoryMiB(nodes: number): number {
  return Math.max(4096, 1024 + 1024 * nodes);
}

/** Prepares (once, cached) what a guest boots from and picks its accelerator. */
export async function prepareGuest(nodes: number, log: (line: string) => void): Promise<{ spec: GuestSpec; boot: GuestBootFiles }> {
  const boot = await guestBootFiles(log);
  const accel = await guestAccel(boot, log);
  const entry = await guestEntry(log);
  return {
    boot,
    spec: { accel, kernelRelease: boot.kernel.release, kernelPackage: `linux-image-${boot.kernel.release} ${boot.kernel.packageVersion}`, cpus: Math.min(cpus().length, 4), memoryMiB: guestMemoryMiB(nodes), entry },
  };
}

const KVM_PROBE_TIMEOUT_MS = 30_000;

/**
 * KVM only where a probe proved it boots this stock kernel (a /dev/kvm that opens is not proof:
 * a paravirtual KVM such as kvm_pvm runs only kernels built for it). The verdict is cached per
 * kernel, next to its boot files.
 */
async function guestAccel(boot: GuestBootFiles, log: (line: string) => void): Promise<GuestAccel> {
  if (process.env.KTH_GUEST_ACCEL === 'tcg' || process.env.KTH_GUEST_ACCEL === 'kvm') return process.env.KTH_GUEST_ACCEL;
  if (!existsSync('/dev/kvm')) return 'tcg';
  const verdictFile = join(dirname(boot.vmlinux), 'kvm-probe.json');
  if (existsSync(verdictFile)) return (JSON.parse(readFileSync(verdictFile, 'utf8')) as { accel: GuestAccel }).accel;
  log(`guest: probing whether /dev/kvm boots kernel ${boot.kernel.release} (once, up to ${KVM_PROBE_TIMEOUT_MS / 1000} s)`);
  const result = await run(['qemu-system-x86_64', '-machine', 'pc', '-accel', 'kvm', '-cpu', 'host', '-m', '256', '-nodefaults', '-no-user-config', '-display', 'none',
    '-no-reboot', '-serial', 'stdio', '-kernel', boot.vmlinux, '-initrd', boot.initramfs, '-append', 'console=ttyS0 panic=-1 kth_probe=1'],
  { nothrow: true, timeoutMs: KVM_PROBE_TIMEOUT_MS });
  const accel: GuestAccel = result.stdout.includes('kth-guest: probe ok') ? 'kvm' : 'tcg';
  const why = accel === 'kvm' ? 'it booted' : `it did not boot (${(result.stderr.trim().split('\n').at(-1) ?? '').slice(0, 160) || `no answer in ${KVM_PROBE_TIMEOUT_MS / 1000} s`}); using qemu's emulation (TCG)`;
  log(`guest: KVM ${why}`);
  await writeFile(verdictFile, JSON.stringify({ accel, why, probedAt: new Date().toISOString() }, null, 2));
  return accel;
}

/**
 * The supervisor's steps for the guest: qemu itself (in the control-plane namespace, where its
 * taps are), healthy once the guest daemon answers; then the node network built inside the guest.
 * Every node-side component waits for `guest-network`.
 */
export function guestComponents(spec: LabSpec, layout: LabLayout, boot: GuestBootFiles): ComponentSpec[] {
  const guest = spec.guest as GuestSpec;
  const link = guestLink(spec.slot);
  const address = guestAddress(spec, 2000);
  const runner = labRunner(spec);
  const argv = qemuArgv({
    lab: spec.name, boot, accel: guest.accel, cpus: guest.cpus, memoryMiB: guest.memoryMiB, stateDir: layout.dir, repoRoot: spec.repoRoot,
    consoleLog: layout.log('guest-console'),
    initArgs: { kth_state: layout.dir, kth_repo: spec.repoRoot, kth_node: process.execPath, kth_ctl_mac: guestNics.control.mac, kth_ctl_ip: link.guestIp,
      // The guest's only route: back to the host's link with the control plane (the host reaches the daemon through it).
      kth_ctl_gw: link.cpIp, kth_ctl_route: hostLink(spec.slot).subnet, kth_port: `${GUEST_DAEMON_PORT}` },
  });
  return [
    {
      name: 'guest',
      netns: null,
      argv,
      health: { probe: async () => {
        const result = await guestRun(address, ['true'], { nothrow: true });
        return result.exitCode === 0 ? true : `guest daemon: ${result.stderr.trim() || `exit ${result.exitCode}`}`;
      } },
      after: [],
      // Boot plus loading the daemon under emulation: ~15 s measured; qemu start-up is not what scales.
      startupTimeoutMs: 60_000 * startupScale(spec),
    },
    {
      name: 'guest-network',
      netns: null,
      argv: [],
      after: ['guest'],
      // Once: a half-made network would fail a retry on what the first attempt made.
      task: () => createNodeNetwork(spec.name, spec.nodes, runner, async (sw) => {
        const nic = await nicByMac(runner, guestNics.lab.mac);
        await ipBatch(null, [`link set ${nic} netns ${sw}`], 'move the guest\'s lab NIC into the switch', runner);
        await ipBatch(sw, [`link set ${nic} master br0`, `link set ${nic} up`], 'put the guest\'s lab NIC on the lab bridge', runner);
      }).catch((error: Error) => {
        throw new GiveUp(error.message);
      }),
    },
  ];
}

async function nicByMac(runner: Runner, mac: string): Promise<string> {
  const { stdout } = await runner(['ip', '-j', 'link', 'show'], { purpose: 'list the guest\'s NICs' });
  const nic = (JSON.parse(stdout) as { ifname: string; address?: string }[]).find((l) => l.address === mac);
  if (!nic) throw new Error(`the guest has no NIC with MAC ${mac}`);
  return nic.ifname;
}
