import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { release } from 'node:os';
import { labDown, labUp } from '../../lab/lab.ts';
import { labNames } from '../../lab/names.ts';
import { crashPod } from '../../lab/pod-process.ts';
import { labFaults, labFaultUnsupported } from '../../lab/faults.ts';
import { labLayout } from '../../lab/layout.ts';
import type { LoadBalancerStatus } from '../../lab/load-balancer/controller.ts';
import { connect } from '../../kube/cluster.ts';
import { type DataplaneInfo, dataplaneFor } from '../../lab/dataplane/index.ts';
import { labKthEntry, labSpawn, startupScale } from '../../lab/guest/lab-guest.ts';
import { guestProblems } from '../../setup/guest-capabilities.ts';
import { type CiliumOptions, type IpvsOptions, type KernelChoice, type LabProxyMode, proxyModes } from '../../lab/spec.ts';
import type { RunTarget } from '../execute.ts';
import type { ChaosSpec } from '../types.ts';
import type { ClusterProvider } from './provider.ts';

/** Why this host's lab cannot run a proxy mode (on the host kernel, or in a guest when allowed), or undefined when it can. */
export async function labUnsupported(mode: string, kernel: KernelChoice = 'auto'): Promise<string | undefined> {
  if (!(proxyModes as readonly string[]).includes(mode)) return `the lab has no proxy mode '${mode}'`;
  const problems = await dataplaneFor(mode as LabProxyMode).hostProblems();
  const hostReason = `proxy mode ${mode} cannot run on this host's kernel: ${problems.join('; ')}`;
  if (kernel === 'host' || mode === 'cilium') return problems.length > 0 ? hostReason : undefined;
  if (kernel === 'auto' && problems.length === 0) return undefined;
  const missing = guestProblems();
  if (missing.length === 0) return undefined;
  return `${problems.length > 0 ? `${hostReason}; ` : ''}nor in a guest kernel: ${missing.join('; ')}`;
}

/**
 * Why the lab cannot inject one of a run's chaos actions in this proxy mode, before a lab is made
 * for it (the run is then `unsupported` with this reason); undefined when it can. The engine
 * checks again against the lab it got (a guest kernel chosen automatically).
 */
export function labChaosUnsupported(mode: LabProxyMode, kernel: KernelChoice | undefined, chaos: readonly ChaosSpec[]): string | undefined {
  for (const action of chaos) {
    const why = labFaultUnsupported({ proxyMode: mode, ...(kernel === 'guest' ? { guest: true } : {}) }, action);
    if (why) return `chaos action ${action.action}: ${why}`;
  }
  return undefined;
}

export interface OpenLab {
  name: string;
  target: RunTarget;
  /** What carries the lab's Service traffic (for each run's report). */
  dataplane: DataplaneInfo;
  down(): Promise<void>;
}

/** A lab in one proxy mode for one scenario run; clients run in a client pod's namespace, or the lab's external client namespace. */
export async function openLab(options: { proxyMode: string; nodes: number; cilium?: Partial<CiliumOptions>; ipvs?: Partial<IpvsOptions>; kernel?: KernelChoice; retain: boolean; log: (line: string) => void }): Promise<OpenLab> {
  const name = `r${randomBytes(3).toString('hex')}`;
  const lab = await labUp({ name, nodes: options.nodes, proxyMode: options.proxyMode, ...(options.cilium ? { cilium: options.cilium } : {}), ...(options.ipvs ? { ipvs: options.ipvs } : {}),
    ...(options.kernel ? { kernel: options.kernel } : {}), ownerPid: options.retain ? undefined : process.pid, log: options.log });
  const names = labNames(name);
  const target: RunTarget = {
    cluster: connect(lab.kubeconfig),
    startupScale: startupScale(lab.spec),
    spawnClient(where, argv) {
      const netns = where === 'external' ? names.netns('client') : names.podNetns(where.pod.metadata?.uid ?? '');
      return labSpawn(lab.spec, netns, [process.execPath, labKthEntry(lab.spec), ...argv]);
    },
    faults: labFaults(lab.spec),
    async loadBalancerNodes(namespace, service) {
      // The lab load balancer publishes its per-Service view (harness/lab/load-balancer/controller.ts).
      const status = JSON.parse(await readFile(labLayout(name).config('load-balancer.status.json'), 'utf8')) as LoadBalancerStatus;
      return status.services.find((view) => view.service === `${namespace}/${service}`)?.nodes.map((node) => ({ node: node.name, receives: node.receives, detail: node.detail }));
    },
    async killProcess(namespace, pod) {
      const podName = pod.metadata?.name as string;
      const pid = await crashPod(lab.spec, namespace, podName);
      return `${podName} (pid ${pid}${lab.spec.guest ? ' in the guest' : ''}, SIGKILL)`;
    },
  };
  const guest = lab.spec.guest;
  const dataplane: DataplaneInfo = {
    ...(await dataplaneFor(lab.spec.proxyMode).describe(lab.spec)),
    kernel: guest ? { where: 'guest', release: guest.kernelRelease, accel: guest.accel, package: guest.kernelPackage } : { where: 'host', release: release() },
  };
  return { name, target, dataplane, down: async () => void (await labDown(name)) };
}

/** The embedded lab as the run pipeline's provider: a fresh lab per proxy mode, removed after its runs. */
export function labProvider(options: { nodes: number; cilium?: Partial<CiliumOptions>; ipvs?: Partial<IpvsOptions>; kernel?: KernelChoice; retain: boolean }): ClusterProvider {
  return {
    unsupported: (mode) => labUnsupported(mode, options.kernel),
    runUnsupported: (mode, run) => labChaosUnsupported(mode as LabProxyMode, options.kernel, run.chaos.map((c) => c.spec)),
    async open(proxyMode, log) {
      const lab = await openLab({ proxyMode, nodes: options.nodes, ...(proxyMode === 'cilium' && options.cilium ? { cilium: options.cilium } : {}), ...(proxyMode === 'ipvs' && options.ipvs ? { ipvs: options.ipvs } : {}),
        ...(options.kernel ? { kernel: options.kernel } : {}), retain: options.retain, log });
      return { ...lab, kept: `lab ${lab.name} kept: kth lab down --name ${lab.name}` };
    },
  };
}
