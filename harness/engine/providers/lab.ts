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
import { chooseKernel, labKthEntry, labSpawn, startupScale } from '../../lab/guest/lab-guest.ts';
import { guestProblems } from '../../setup/guest-capabilities.ts';
import { isAlive } from '../../lab/processes.ts';
import { type CiliumOptions, type IpvsOptions, type KernelChoice, type LabProxyMode, type LabSpec, proxyModes } from '../../lab/spec.ts';
import type { RunTarget } from '../execute.ts';
import type { ChaosSpec } from '../types.ts';
import type { ClusterProvider } from './provider.ts';
import { removeOrphanedNamespaces, runNamespaces } from './run-namespaces.ts';

/** Why this host's lab cannot run a proxy mode (on the host kernel, or in a guest when allowed), or undefined when it can. */
export async function labUnsupported(mode: string, kernel: KernelChoice = 'auto'): Promise<string | undefined> {
  return (await labModeSupport(mode, kernel)).why;
}

/** {@link labUnsupported}, and where the nodes of a lab in that mode would run when it can. */
async function labModeSupport(mode: string, kernel: KernelChoice = 'auto'): Promise<{ why?: string; nodesOn?: 'host' | 'guest' }> {
  if (!(proxyModes as readonly string[]).includes(mode)) return { why: `the lab has no proxy mode '${mode}'` };
  const problems = await dataplaneFor(mode as LabProxyMode).hostProblems();
  const hostReason = `proxy mode ${mode} cannot run on this host's kernel: ${problems.join('; ')}`;
  if (kernel === 'host' || mode === 'cilium') return problems.length > 0 ? { why: hostReason } : { nodesOn: chooseKernel(kernel, mode, problems) };
  if (kernel === 'auto' && problems.length === 0) return { nodesOn: 'host' };
  const missing = guestProblems();
  if (missing.length === 0) return { nodesOn: chooseKernel(kernel, mode, problems) };
  return { why: `${problems.length > 0 ? `${hostReason}; ` : ''}nor in a guest kernel: ${missing.join('; ')}` };
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

/** How the run pipeline reaches a lab's pods and faults: clients in a client pod's namespace, or the lab's external client namespace. */
function labRunTarget(spec: LabSpec, kubeconfig: string): RunTarget {
  const names = labNames(spec.name);
  return {
    cluster: connect(kubeconfig),
    startupScale: startupScale(spec),
    spawnClient(where, argv) {
      const netns = where === 'external' ? names.netns('client') : names.podNetns(where.pod.metadata?.uid ?? '');
      return labSpawn(spec, netns, [process.execPath, labKthEntry(spec), ...argv]);
    },
    faults: labFaults(spec),
    async loadBalancerNodes(namespace, service) {
      // The lab load balancer publishes its per-Service view (harness/lab/load-balancer/controller.ts).
      const status = JSON.parse(await readFile(labLayout(spec.name).config('load-balancer.status.json'), 'utf8')) as LoadBalancerStatus;
      return status.services.find((view) => view.service === `${namespace}/${service}`)?.nodes.map((node) => ({ node: node.name, receives: node.receives, detail: node.detail }));
    },
    async killProcess(namespace, pod) {
      const podName = pod.metadata?.name as string;
      const pid = await crashPod(spec, namespace, podName);
      return `${podName} (pid ${pid}${spec.guest ? ' in the guest' : ''}, SIGKILL)`;
    },
  };
}

async function labDataplane(spec: LabSpec): Promise<DataplaneInfo> {
  const guest = spec.guest;
  return {
    ...(await dataplaneFor(spec.proxyMode).describe(spec)),
    kernel: guest ? { where: 'guest', release: guest.kernelRelease, accel: guest.accel, package: guest.kernelPackage } : { where: 'host', release: release() },
  };
}

/** A lab in one proxy mode for one scenario run. */
export async function openLab(options: { proxyMode: string; nodes: number; cilium?: Partial<CiliumOptions>; ipvs?: Partial<IpvsOptions>; kernel?: KernelChoice; retain: boolean; log: (line: string) => void }): Promise<OpenLab> {
  const name = `r${randomBytes(3).toString('hex')}`;
  const lab = await labUp({ name, nodes: options.nodes, proxyMode: options.proxyMode, ...(options.cilium ? { cilium: options.cilium } : {}), ...(options.ipvs ? { ipvs: options.ipvs } : {}),
    ...(options.kernel ? { kernel: options.kernel } : {}), ownerPid: options.retain ? undefined : process.pid, log: options.log });
  return { name, target: labRunTarget(lab.spec, lab.kubeconfig), dataplane: await labDataplane(lab.spec), down: async () => void (await labDown(name)) };
}

/** The embedded lab as the run pipeline's provider: a fresh lab per proxy mode, removed after its runs. */
export function labProvider(options: { nodes: number; cilium?: Partial<CiliumOptions>; ipvs?: Partial<IpvsOptions>; kernel?: KernelChoice; retain: boolean }): ClusterProvider {
  const kernels = new Map<string, 'host' | 'guest'>();
  return {
    unsupported: async (mode) => {
      const { why, nodesOn } = await labModeSupport(mode, options.kernel);
      // Where `auto` puts the nodes decides which kernel's faults apply (a guest has netem where the host may not).
      if (nodesOn) kernels.set(mode, nodesOn);
      return why;
    },
    runUnsupported: (mode, run) => labChaosUnsupported(mode as LabProxyMode, kernels.get(mode) ?? options.kernel, run.chaos.map((c) => c.spec)),
    async open(proxyMode, log) {
      const lab = await openLab({ proxyMode, nodes: options.nodes, ...(proxyMode === 'cilium' && options.cilium ? { cilium: options.cilium } : {}), ...(proxyMode === 'ipvs' && options.ipvs ? { ipvs: options.ipvs } : {}),
        ...(options.kernel ? { kernel: options.kernel } : {}), retain: options.retain, log });
      return { ...lab, kept: `lab ${lab.name} kept: kth lab down --name ${lab.name}` };
    },
  };
}

/**
 * `--cluster <lab>`: runs on a lab that is already up (`kth lab up`, or kept by --retain) and stays
 * up after them, as a test file or a user's loop runs many scenarios on one lab. Each run gets a
 * namespace of its own (run-namespaces.ts), removed after it; the lab is checked against the
 * scenario before anything is made (kept-cluster.ts).
 */
export function keptLabProvider(spec: LabSpec, options: { retain: boolean }): ClusterProvider {
  return {
    unsupported: async (mode) => (mode === spec.proxyMode ? undefined : `lab ${spec.name} runs ${spec.proxyMode}, not ${mode}`),
    runUnsupported: (mode, run) => labChaosUnsupported(mode as LabProxyMode, spec.guest ? 'guest' : 'host', run.chaos.map((c) => c.spec)),
    async open(_proxyMode, log) {
      const base = labRunTarget(spec, labLayout(spec.name).kubeconfig);
      for (const namespace of await removeOrphanedNamespaces(base.cluster, isAlive)) log(`removed namespace ${namespace}, left by a run on this host that did not finish`);
      const namespaces = runNamespaces(base.cluster, { retain: options.retain, log });
      return {
        name: spec.name,
        target: { ...base, namespaceFor: namespaces.namespaceFor, release: namespaces.release },
        dataplane: await labDataplane(spec),
        kept: `lab ${spec.name} stays up (it was there before the run)${options.retain ? `; namespaces kept: ${namespaces.names().join(', ') || 'none'}` : ''}`,
        down: namespaces.removeAll,
      };
    },
  };
}
