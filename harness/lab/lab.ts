import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { badInput, environmentError, HarnessError } from '../core/errors.ts';
import { formatMs } from '../core/duration.ts';
import { onInterrupt, wasInterrupted } from '../core/interrupts.ts';
import { repoRoot, stateRoot } from '../core/paths.ts';
import { rootCapability } from '../setup/host-capabilities.ts';
import { dataplaneFor } from './dataplane/index.ts';
import { chooseKernel, prepareGuest, startupScale } from './guest/lab-guest.ts';
import { guestNics } from './guest/qemu.ts';
import { guestProblems } from '../setup/guest-capabilities.ts';
import { labCgroupProcs, labsWithCgroups } from './dataplane/node-cgroup.ts';
import { removeHostPlaceholders } from './agent/host-placeholders.ts';
import { requireBinary } from '../setup/binaries.ts';
import { KUBERNETES_VERSION } from '../setup/versions.ts';
import { labLayout, labsDir } from './layout.ts';
import { HOST_LINK_ALIAS_PREFIX, LAB_MARKER_ENV, labNames, NETNS_PREFIX, validateLabName } from './names.ts';
import { createGuestHostSide, createLabNetwork, destroyLabNetwork } from './network.ts';
import { claimSlot, releaseSlot } from './slots.ts';
import { publishProxyMode } from './proxy-config-map.ts';
import { deployClusterDns } from './cluster-dns.ts';
import { labNetwork } from './addressing.ts';
import { LEAN_NODE_FLAGS } from './components.ts';
import { hostLinks, listNetns } from './netns.ts';
import { findLabProcesses, isAlive, terminate } from './processes.ts';
import { type CiliumOptions, ciliumOptionsSchema, type GuestSpec, type IpvsOptions, ipvsOptionsSchema, type KernelChoice, kernelChoices, type LabProxyMode, type LabSpec, labSpecSchema, type LabStatus, labStatusSchema, proxyModes } from './spec.ts';

export interface LabUpOptions {
  name?: string;
  nodes?: number;
  proxyMode?: string;
  /** Cilium's options (cilium mode only). */
  cilium?: Partial<CiliumOptions>;
  /** IPVS's options (ipvs mode only). */
  ipvs?: Partial<IpvsOptions>;
  /** The nodes' kernel: the host's, a qemu guest's, or (auto) the host's when it can run the mode. */
  kernel?: KernelChoice;
  /** A cluster DNS (CoreDNS behind kube-dns), for workloads that reach Services by name. */
  dns?: boolean;
  /** The process that owns the lab; when it dies, `kth cleanup` removes the lab. */
  ownerPid?: number;
  /** Progress lines, for people. */
  log?: (line: string) => void;
  timeoutMs?: number;
}

export interface LabInfo {
  spec: LabSpec;
  status: LabStatus | undefined;
  kubeconfig: string;
  internalKubeconfig: string;
  stateDir: string;
}

/**
 * Creates a lab and returns once every node is Ready and every kube-proxy has synced. Nothing is
 * started when the host cannot run the requested mode; a failure halfway removes what was made.
 */
export async function labUp(options: LabUpOptions = {}): Promise<LabInfo> {
  const name = validateLabName(options.name ?? 'kth');
  const nodes = options.nodes ?? 3;
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 20) throw badInput(`--nodes ${nodes} is out of range`, { where: '--nodes', hint: 'use 1 to 20 nodes' });
  const proxyMode = (options.proxyMode ?? 'iptables') as LabProxyMode;
  if (!proxyModes.includes(proxyMode)) {
    throw badInput(`proxy mode '${options.proxyMode}' is not one the lab runs`, { where: '--proxy-mode', hint: `use one of ${proxyModes.join(', ')}` });
  }
  if (options.cilium && proxyMode !== 'cilium') throw badInput(`Cilium options were given for a ${proxyMode} lab`, { where: '--cilium-*', hint: 'use them with --proxy-mode cilium' });
  if (options.ipvs && proxyMode !== 'ipvs') throw badInput(`IPVS options were given for a ${proxyMode} lab`, { where: '--ipvs-scheduler', hint: 'use it with --proxy-mode ipvs' });
  const kernelChoice = options.kernel ?? 'auto';
  if (!kernelChoices.includes(kernelChoice)) throw badInput(`--kernel ${kernelChoice} is not a kernel choice`, { where: '--kernel', hint: `use one of ${kernelChoices.join(', ')}` });
  const dataplane = dataplaneFor(proxyMode);
  const root = rootCapability();
  if (!root.available) throw environmentError(root.detail, { hint: root.fix });
  const hostProblems = await dataplane.hostProblems();
  const kernel = chooseKernel(kernelChoice, proxyMode, hostProblems);
  if (kernel === 'host') checkHostSupports(dataplane.mode, hostProblems, kernelChoice);
  for (const binary of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', ...dataplane.binaries] as const) requireBinary(binary);
  if (options.dns) requireBinary('coredns');
  const log = options.log ?? (() => {});
  const guest = kernel === 'guest' ? await prepareGuestFor(nodes, log) : undefined;
  // The next start after a crash removes what the crashed run left (labs whose owner or supervisor died).
  for (const removed of await cleanupLabs()) log(`removed orphaned lab ${removed.lab} (${removed.processes} processes, ${removed.netns.length} namespaces)`);
  const layout = labLayout(name);
  const exists = badInput(`a lab named '${name}' already exists`, { where: '--name', hint: `remove it with 'kth lab down --name ${name}', or choose another --name` });
  if ((await listNetns()).some((ns) => ns.startsWith(labNames(name).netnsPrefix))) throw exists;
  // Creating the lab's directory is the claim on its name: of two `lab up`s, one wins.
  await mkdir(labsDir(), { recursive: true });
  await mkdir(layout.dir).catch((error: NodeJS.ErrnoException) => {
    throw error.code === 'EEXIST' ? exists : error;
  });
  await mkdir(layout.logs, { recursive: true });
  const slot = await claimSlot(name).catch(async (error: unknown) => {
    await rm(layout.dir, { recursive: true, force: true });
    throw error;
  });
  const spec: LabSpec = {
    name, nodes, proxyMode, slot, createdAt: new Date().toISOString(), repoRoot, kubernetesVersion: KUBERNETES_VERSION,
    ...(options.ownerPid ? { ownerPid: options.ownerPid } : {}),
    ...(proxyMode === 'cilium' ? { cilium: ciliumOptionsSchema.parse(options.cilium ?? {}) } : {}),
    ...(proxyMode === 'ipvs' ? { ipvs: ipvsOptionsSchema.parse(options.ipvs ?? {}) } : {}),
    ...(guest ? { guest } : {}),
    ...(options.dns ? { clusterDns: true } : {}),
  };
  await writeFile(layout.spec, JSON.stringify(spec, null, 2));

  const started = performance.now();
  const unregister = onInterrupt(async () => {
    await labDown(name);
  });
  try {
    if (guest) {
      log(`lab ${name}: ${nodes} nodes in a guest kernel (${guest.kernelPackage}, ${guest.accel === 'tcg' ? 'qemu emulation, ~10× slower' : 'KVM'}); control plane on the host`);
      await createGuestHostSide(name, slot, { lab: guestNics.lab.tap, control: guestNics.control.tap });
    } else {
      log(`lab ${name}: wiring ${nodes} node namespaces (${proxyMode})`);
      await createLabNetwork({ lab: name, nodes, slot });
    }
    log(`lab ${name}: starting control plane and nodes`);
    startSupervisor(spec);
    const bound = options.timeoutMs ?? dataplane.startupBoundMs * startupScale(spec);
    if (guest) log(`lab ${name}: start-up bound ${formatMs(bound)} (${startupScale(spec)}× the host's; KTH_STARTUP_SCALE sets the factor)`);
    const status = await followStatus(name, bound, log);
    await publishProxyMode(spec, layout.kubeconfig, layout.internalKubeconfig);
    if (spec.clusterDns) {
      log(`lab ${name}: cluster DNS (CoreDNS behind kube-dns ${labNetwork.clusterDnsIp})`);
      await deployClusterDns(layout.kubeconfig, 60_000 * startupScale(spec));
    }
    log(`lab ${name}: ready in ${formatMs(performance.now() - started)}`);
    return { spec, status, kubeconfig: layout.kubeconfig, internalKubeconfig: layout.internalKubeconfig, stateDir: layout.dir };
  } catch (error) {
    if (wasInterrupted()) throw new HarnessError('interrupted', `lab ${name}: interrupted while starting; removed what was made`);
    const kept = await keepLogs(name);
    log(`lab ${name}: start failed; removing what was made (component logs kept in ${kept})`);
    await labDown(name).catch(() => {});
    if (error instanceof HarnessError) throw new HarnessError(error.kind, error.message, { where: kept, hint: `read the component logs in ${kept}; to keep the whole failed lab for inspection, rerun with KTH_KEEP_FAILED_LAB=1`, cause: error.cause });
    throw error;
  } finally {
    unregister();
  }
}

function checkHostSupports(mode: LabProxyMode, problems: readonly string[], choice: KernelChoice): void {
  if (problems.length > 0) {
    throw environmentError(`proxy mode ${mode} cannot run on this host's kernel: ${problems.join('; ')}`, {
      where: choice === 'host' ? '--kernel host' : '--proxy-mode',
      hint: choice === 'host' ? 'drop --kernel host (or use --kernel guest) to run it in a guest kernel; kth doctor lists what each proxy mode needs' : 'kth doctor lists what each proxy mode needs and how to get it',
    });
  }
}

/** The guest's boot files and settings, with what is missing for a guest named as such. */
async function prepareGuestFor(nodes: number, log: (line: string) => void): Promise<GuestSpec> {
  const missing = guestProblems();
  if (missing.length > 0) {
    throw environmentError(`the lab guest cannot run on this host: ${missing.join('; ')}`, { where: '--kernel', hint: 'setup installs these (bash harness/setup/setup.sh); kth doctor lists them' });
  }
  return (await prepareGuest(nodes, log)).spec;
}

/** Copies a failed lab's logs out of its state directory (which `down` removes) and returns where. */
async function keepLogs(name: string): Promise<string> {
  const target = join(stateRoot(), 'failed', `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  await cp(labLayout(name).logs, target, { recursive: true }).catch(() => {});
  return target;
}

/** The supervisor runs detached inside the control-plane namespace, so the lab outlives `lab up`. */
function startSupervisor(spec: LabSpec): void {
  const layout = labLayout(spec.name);
  const log = openSync(layout.log('supervisor'), 'a');
  const child = spawn('ip', ['netns', 'exec', labNames(spec.name).netns('cp'), process.execPath, ...LEAN_NODE_FLAGS, `${repoRoot}/harness/bin/kth.mjs`, 'lab', 'supervise', '--name', spec.name], {
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, [LAB_MARKER_ENV]: spec.name },
    cwd: repoRoot,
  });
  closeSync(log);
  child.unref();
}

async function followStatus(name: string, timeoutMs: number, log: (line: string) => void): Promise<LabStatus> {
  const layout = labLayout(name);
  const deadline = performance.now() + timeoutMs;
  let lastStep = '';
  while (performance.now() < deadline) {
    if (wasInterrupted()) throw new HarnessError('interrupted', `lab ${name}: interrupted`);
    const status = await readStatus(name);
    if (status) {
      if (status.step !== lastStep) {
        log(`lab ${name}: ${status.step}`);
        lastStep = status.step;
      }
      if (status.phase === 'ready') return status;
      if (status.phase === 'failed') {
        throw environmentError(`lab ${name} failed while ${status.step}: ${status.error ?? 'no detail'}`, { where: layout.logs });
      }
      if (status.supervisorPid && !isAlive(status.supervisorPid)) {
        throw environmentError(`lab ${name}: the supervisor died while ${status.step}`, { where: layout.log('supervisor') });
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw environmentError(`lab ${name} was not ready after ${formatMs(timeoutMs)} (last step: ${lastStep || 'none'})`, { where: layout.logs, hint: `read the logs in ${layout.logs}` });
}

export async function readStatus(name: string): Promise<LabStatus | undefined> {
  try {
    return labStatusSchema.parse(JSON.parse(await readFile(labLayout(name).status, 'utf8')));
  } catch {
    return undefined;
  }
}

export async function readSpec(name: string): Promise<LabSpec | undefined> {
  try {
    return labSpecSchema.parse(JSON.parse(await readFile(labLayout(name).spec, 'utf8')));
  } catch {
    return undefined;
  }
}

export interface Removed {
  lab: string;
  processes: number;
  netns: string[];
  links: string[];
}

/**
 * Removes a lab completely: asks its supervisor to stop the components, then kills whatever still
 * carries the lab's marker (pods included), deletes its namespaces and host link, and its state.
 * Safe to call on a half-made or already-removed lab.
 */
export async function labDown(name: string): Promise<Removed> {
  validateLabName(name);
  if (process.env.KTH_KEEP_FAILED_LAB === '1' && (await readStatus(name))?.phase === 'failed') {
    return { lab: name, processes: 0, netns: [], links: [] };
  }
  const status = await readStatus(name);
  const spec = await readSpec(name);
  if (status?.supervisorPid && isAlive(status.supervisorPid)) await terminate([status.supervisorPid], 15_000);
  // Processes by the lab's marker, and anything else still in its node cgroups (cilium mode).
  const leftovers = [...new Set([...findLabProcesses(name).map((p) => p.pid), ...labCgroupProcs(name)])];
  await terminate(leftovers);
  const { netns, links } = await destroyLabNetwork(name);
  // What outlives processes and namespaces (node cgroups in cilium mode): every data plane's
  // cleanup, as a crash may have left no spec to say which one ran.
  for (const mode of proxyModes) await dataplaneFor(mode).cleanup(name);
  if (spec) await releaseSlot(name, spec.slot);
  await rm(labLayout(name).dir, { recursive: true, force: true });
  await removePlaceholdersIfIdle();
  return { lab: name, processes: leftovers.length, netns, links };
}

/**
 * Mount targets the node agents had to create on the host (agent/host-placeholders.ts) are shared
 * by every lab, so they go only with the last one.
 */
async function removePlaceholdersIfIdle(): Promise<void> {
  if ((await knownLabs()).length > 0) return;
  await removeHostPlaceholders();
}

/** Every lab this host has any trace of: state dirs, namespaces, host links, marked processes. */
export async function knownLabs(): Promise<string[]> {
  const names = new Set<string>();
  if (existsSync(labsDir())) for (const entry of await readdir(labsDir())) names.add(entry);
  for (const ns of await listNetns()) {
    const match = new RegExp(`^${NETNS_PREFIX}(.+)-(sw|cp|lb|client|n\\d+|p-[0-9a-f]+)$`).exec(ns);
    if (match) names.add(match[1] as string);
  }
  for (const link of await hostLinks()) if (link.alias?.startsWith(HOST_LINK_ALIAS_PREFIX)) names.add(link.alias.slice(HOST_LINK_ALIAS_PREFIX.length));
  for (const p of findLabProcesses()) names.add(p.lab);
  for (const lab of labsWithCgroups()) names.add(lab);
  return [...names].filter((n) => /^[a-z0-9-]+$/.test(n)).sort();
}

export interface LabSummary {
  name: string;
  state: 'ready' | 'starting' | 'failed' | 'stopping' | 'orphaned';
  why?: string;
  spec?: LabSpec;
  status?: LabStatus;
  processes: number;
}

/** Status of every lab; 'orphaned' when its owner or supervisor is gone (cleanup removes those). */
export async function listLabs(): Promise<LabSummary[]> {
  const result: LabSummary[] = [];
  for (const name of await knownLabs()) {
    const spec = await readSpec(name);
    const status = await readStatus(name);
    const processes = findLabProcesses(name).length;
    let why: string | undefined;
    if (!spec) why = 'no lab.json (a crash during up or down)';
    else if (spec.ownerPid && !isAlive(spec.ownerPid)) why = `its owner (pid ${spec.ownerPid}) has exited`;
    else if (status?.supervisorPid ? !isAlive(status.supervisorPid) : Date.now() - Date.parse(spec.createdAt) > 180_000) why = 'its supervisor is not running';
    result.push({ name, state: why ? 'orphaned' : (status?.phase ?? 'starting'), ...(why ? { why } : {}), ...(spec ? { spec } : {}), ...(status ? { status } : {}), processes });
  }
  return result;
}

/** Removes every orphaned lab (or all labs with `all`). */
export async function cleanupLabs(options: { all?: boolean } = {}): Promise<Removed[]> {
  const removed: Removed[] = [];
  for (const lab of await listLabs()) {
    if (options.all || lab.state === 'orphaned') removed.push(await labDown(lab.name));
  }
  // Also after a crash that left placeholders but no lab to remove.
  await removePlaceholdersIfIdle();
  return removed;
}

/** A started lab that removes itself: `await using lab = await startLab({...})`. */
export interface StartedLab extends LabInfo, AsyncDisposable {
  down(): Promise<Removed>;
}

export async function startLab(options: LabUpOptions): Promise<StartedLab> {
  const info = await labUp({ ownerPid: process.pid, ...options });
  const down = () => labDown(info.spec.name);
  return { ...info, down, [Symbol.asyncDispose]: async () => void (await down()) };
}
