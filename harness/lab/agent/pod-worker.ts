import { statSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { V1Container, V1Pod, V1PodStatus } from '@kubernetes/client-node';
import type { CrashLoopBackoff } from './backoff.ts';
import { buildContainerEnv, ContainerConfigError, type EnvLookups, expandVars } from './container-env.ts';
import { abortableSleep, type HandlerTarget, runLifecycleHandler } from './handlers.ts';
import { type ContainerCommand, type ImageContext, resolveContainerCommand } from './image.ts';
import { ensureMountTarget } from './host-placeholders.ts';
import { hostVethAlias, hostVethName, podDirName, podHostname, podNetnsName, podRef } from './names.ts';
import type { PodAttacher, PodAttachTarget } from './pod-attach.ts';
import { type ClusterDns, podResolvConf } from './pod-dns.ts';
import type { NodeNetContext } from './pod-network.ts';
import { type PersistedContainer, type PersistedPod, removePodState, toPersistedTerminated, fromPersistedTerminated, writePodState } from './pod-state.ts';
import { type ProbeKind, ProbeWorker } from './probe-worker.ts';
import { adoptContainer, type BindMount, type ContainerProcess, type ExitInfo, spawnContainer, StartError, waitForMounts } from './process.ts';
import { isProjected, writeProjectedVolume } from './projected-volume.ts';
import type { PodEvent, PodSink } from './sink.ts';
import { computePodStatus, kubeletConditionTypes, type RuntimeContainer, type RuntimePod, type TerminatedState, terminatedFromExit } from './status.ts';
import { stopContainer } from './termination.ts';
import { composeMessage, createMessageFile, messageDir, messageSpec, readTerminationMessage, removeMessageFile } from './termination-message.ts';

/**
 * Runs one pod, the way a kubelet's pod worker does: sandbox (network namespace, veth, address),
 * init containers in order, then the containers; probes; restarts with CrashLoopBackOff as the
 * restart policy says; status written to the API after every change; and on deletion preStop →
 * SIGTERM → grace → SIGKILL → network removed → final delete.
 *
 * All decisions are made in `reconcile`, which runs serialised (one at a time per pod) and is
 * re-run whenever something happens: a process exits, a probe result changes, a backoff ends,
 * the pod changes in the API.
 */
export interface PodWorkerDeps {
  nodeName: string;
  nodeIp: string;
  labName: string;
  stateDir: string;
  podNetnsPrefix: string;
  image: ImageContext;
  /** See AgentConfig.probeTimeoutScale. */
  probeTimeoutScale?: number;
  net: NodeNetContext;
  /** Joins pod sandboxes to the node: the agent's own veth + IPAM, or a CNI plugin. */
  attacher: PodAttacher;
  backoff: CrashLoopBackoff;
  sink: PodSink;
  /** PATH and HOME for pod processes. */
  baseEnv: Record<string, string>;
  /** --cluster-dns/--cluster-domain: what ClusterFirst pods resolve with (pod-dns.ts). */
  clusterDns?: ClusterDns;
  nodeAllocatable: { cpu: number; memory: number };
  log: (line: string) => void;
  /** Called once when the worker has nothing left to do (the pod is gone). */
  onFinished: (uid: string) => void;
}

type WorkerState = 'new' | 'blocked' | 'running' | 'completed' | 'terminating' | 'finished' | 'detached';

interface Slot {
  spec: V1Container;
  init: boolean;
  /** An init container with restartPolicy Always (a native sidecar). */
  sidecar: boolean;
  rt: RuntimeContainer;
  command?: ContainerCommand;
  process?: ContainerProcess;
  env?: Record<string, string>;
  probes: Map<ProbeKind, ProbeWorker>;
  everStarted: boolean;
  starting: boolean;
  timer?: NodeJS.Timeout;
  stopping?: Promise<void>;
  /** The current (or last) instance's termination-message file, and where its log output starts. */
  messageFile?: string;
  logOffset?: number;
}

const fieldPath = (slot: Slot) => `${slot.init ? 'spec.initContainers' : 'spec.containers'}{${slot.spec.name}}`;
const capitalized = (kind: string) => kind.charAt(0).toUpperCase() + kind.slice(1);

export class PodWorker {
  readonly uid: string;
  private pod: V1Pod;
  private state: WorkerState = 'new';
  private readonly dir: string;
  private readonly hostNetwork: boolean;
  private readonly podNetns: string | undefined;
  private podIp: string | undefined;
  private sandboxReady = false;
  private startTime: Date | undefined;
  private terminal = false;
  /** Every init container has done its part once; later init-container exits do not gate containers. */
  private initialized = false;
  private failure: { reason: string; message: string } | undefined;
  private removedFromApi = false;
  private readonly slots: Slot[];
  private reconciling = false;
  private again = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private sandboxAttempts = 0;
  private readonly escalate = new AbortController();
  private lastSent: { key: string; status: V1PodStatus } | undefined;
  private statusDirty = false;
  private statusFlight: Promise<void> | undefined;
  private termination: Promise<void> | undefined;
  private terminationStartedAt: number | undefined;
  private terminationGraceMs = 0;
  /** The pod's projected volumes, written once before its first container starts: name → directory. */
  private volumes: Promise<Map<string, string>> | undefined;
  private volumeRefresh: NodeJS.Timeout | undefined;
  private readonly unsupportedVolumesReported = new Set<string>();
  private failedMounts = 0;

  constructor(
    pod: V1Pod,
    private readonly deps: PodWorkerDeps,
  ) {
    this.pod = pod;
    this.uid = pod.metadata?.uid ?? '';
    this.hostNetwork = pod.spec?.hostNetwork === true;
    this.podNetns = this.hostNetwork ? deps.net.nodeNetns : podNetnsName(deps.podNetnsPrefix, this.uid);
    this.dir = join(deps.stateDir, 'pods', podDirName(pod.metadata?.namespace ?? '', pod.metadata?.name ?? '', this.uid));
    const slot = (spec: V1Container, init: boolean): Slot => ({
      spec,
      init,
      sidecar: init && spec.restartPolicy === 'Always',
      rt: { name: spec.name, restartCount: 0, ready: false, started: false },
      probes: new Map(),
      everStarted: false,
      starting: false,
    });
    this.slots = [...(pod.spec?.initContainers ?? []).map((c) => slot(c, true)), ...(pod.spec?.containers ?? []).map((c) => slot(c, false))];
  }

  get ref(): string {
    return podRef(this.pod);
  }

  get directory(): string {
    return this.dir;
  }

  /**
   * Where `kubectl exec` into the container runs: its running main process and its environment;
   * a string says why there is none, worded like the kubelet's answer.
   */
  execTarget(container: string): { containerPid: number; env: Record<string, string> } | string {
    const slot = this.slots.find((candidate) => candidate.spec.name === container);
    if (!slot) return `container ${container} is not valid for pod ${this.pod.metadata?.name ?? ''}`;
    if (!slot.process || slot.process.hasExited()) return `container not found ("${container}")`;
    return { containerPid: slot.process.pid, env: { ...(slot.env ?? {}) } };
  }

  /** The pod as the API last showed it. */
  update(pod: V1Pod): void {
    if (this.state === 'finished' || this.state === 'detached') return;
    this.pod = pod;
    // A second delete with a shorter grace period shortens a termination under way (never lengthens it).
    const grace = pod.metadata?.deletionGracePeriodSeconds;
    if (this.terminationStartedAt !== undefined && grace !== undefined && grace * 1000 < this.terminationGraceMs) {
      this.terminationGraceMs = grace * 1000;
      const left = Math.max(0, this.terminationStartedAt + this.terminationGraceMs - Date.now());
      const timer = setTimeout(() => this.escalate.abort(), left);
      timer.unref();
    }
    this.kick();
  }

  /** The pod is gone from the API (force-deleted, or our final delete landed). */
  removed(): void {
    this.removedFromApi = true;
    this.escalate.abort();
    this.kick();
  }

  /** Starts the worker for a new pod. */
  start(): void {
    this.kick();
  }

  /**
   * Takes over a pod an earlier agent ran: its network, and every container process that is
   * still the one it started. Containers whose process is gone count as exited (exit status
   * unknown, as the kubelet reports ContainerStatusUnknown) and restart as the policy says.
   */
  async adopt(saved: PersistedPod): Promise<void> {
    this.podIp = saved.podIp;
    this.startTime = new Date(saved.startTime);
    const apiStatuses = [...(this.pod.status?.initContainerStatuses ?? []), ...(this.pod.status?.containerStatuses ?? [])];
    const networkIntact = this.hostNetwork || (await this.deps.attacher.intact(this.attachTarget()));
    for (const slot of this.slots) {
      const persisted = saved.containers.find((c) => c.name === slot.spec.name && c.init === slot.init);
      if (!persisted) continue;
      slot.everStarted = persisted.pid !== undefined || persisted.terminated !== undefined;
      slot.rt.restartCount = persisted.restartCount;
      if (persisted.containerId) slot.rt.containerId = persisted.containerId;
      if (persisted.lastContainerId) slot.rt.lastContainerId = persisted.lastContainerId;
      if (persisted.lastTerminated) slot.rt.lastTerminated = fromPersistedTerminated(persisted.lastTerminated);
      if (persisted.messageFile) slot.messageFile = persisted.messageFile;
      if (persisted.logOffset !== undefined) slot.logOffset = persisted.logOffset;
      const resolution = resolveContainerCommand(slot.spec, this.deps.image);
      if (resolution.ok) {
        slot.command = resolution.command;
        slot.rt.imageId = resolution.command.imageId;
      }
      if (persisted.terminated) {
        slot.rt.state = fromPersistedTerminated(persisted.terminated);
        continue;
      }
      if (persisted.pid === undefined || !persisted.procStart || !persisted.startedAt) continue;
      const process = networkIntact ? adoptContainer(persisted.pid, persisted.procStart, new Date(persisted.startedAt)) : undefined;
      if (!process) {
        const lost = 'The container could not be located when the lab node agent restarted';
        slot.rt.state = {
          kind: 'terminated',
          exitCode: 137,
          reason: 'ContainerStatusUnknown',
          // What it wrote before it went is still in its message file.
          message: composeMessage(lost, this.writtenMessage(slot, 137)) ?? lost,
          startedAt: new Date(persisted.startedAt),
          finishedAt: new Date(),
        };
        continue;
      }
      const before = apiStatuses.find((s) => s.name === slot.spec.name);
      slot.process = process;
      slot.rt.state = { kind: 'running', startedAt: process.startedAt };
      // Keep readiness as the API shows it until the probes say otherwise: an agent restart must
      // not take every endpoint out of its Service (the kubelet's prober starts over; we do better).
      slot.rt.started = before?.started ?? !slot.spec.startupProbe;
      slot.rt.ready = before?.ready ?? false;
      try {
        slot.env = await this.containerEnv(slot);
      } catch {
        slot.env = { ...this.deps.baseEnv };
      }
      void process.exited.then((exit) => this.onExit(slot, process, exit));
      this.startProbes(slot, process, true);
      this.deps.log(`${this.ref}: adopted container ${slot.spec.name} (pid ${process.pid})`);
    }
    this.initialized = this.slots.some((s) => !s.init && s.everStarted);
    if (saved.completed) {
      this.state = 'completed';
      this.terminal = true;
    } else if (networkIntact) {
      this.sandboxReady = true;
      this.state = 'running';
    } else {
      // The sandbox is gone: make a new one (same address) and restart the containers in it.
      this.emit({ type: 'Normal', reason: 'SandboxChanged', message: 'Pod sandbox changed, it will be killed and re-created.' });
      for (const slot of this.slots) slot.process?.killAll();
      this.initialized = false;
      this.state = 'new';
    }
    this.kick();
  }

  /** The agent is stopping: stop watching, leave the processes running (as a kubelet restart does). */
  async detach(): Promise<void> {
    if (this.state === 'finished') return;
    const persist = this.state !== 'new' && this.state !== 'blocked';
    this.state = 'detached';
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.volumeRefresh) clearTimeout(this.volumeRefresh);
    for (const slot of this.slots) {
      if (slot.timer) clearTimeout(slot.timer);
      for (const probe of slot.probes.values()) probe.stop();
      slot.process?.detach();
    }
    if (persist) await this.persist(true).catch(() => {});
  }

  // ---- reconcile ---------------------------------------------------------------------------

  private kick(): void {
    if (this.reconciling) {
      this.again = true;
      return;
    }
    this.reconciling = true;
    void (async () => {
      try {
        do {
          this.again = false;
          await this.reconcile();
        } while (this.again && this.state !== 'detached' && this.state !== 'finished');
      } catch (error) {
        this.deps.log(`${this.ref}: ${(error as Error).stack ?? String(error)}`);
      } finally {
        this.reconciling = false;
      }
    })();
  }

  private async reconcile(): Promise<void> {
    if (this.state === 'finished' || this.state === 'detached') return;
    const deleting = this.removedFromApi || this.pod.metadata?.deletionTimestamp !== undefined;
    if (deleting && !this.termination) {
      this.termination = this.terminate().catch((error: Error) => this.deps.log(`${this.ref}: termination failed: ${error.stack ?? error.message}`));
      return;
    }
    if (this.state === 'terminating' || this.state === 'completed' || this.state === 'blocked') {
      void this.syncStatus();
      return;
    }
    if (this.state === 'new') {
      if (!this.validate()) return;
      if (!(await this.createSandbox())) return;
    }
    await this.runContainers();
    void this.syncStatus();
  }

  /** Checks every container can be run here; a pod that cannot is reported and not started. */
  private validate(): boolean {
    let ok = true;
    for (const slot of this.slots) {
      const resolution = resolveContainerCommand(slot.spec, this.deps.image);
      if (resolution.ok) {
        slot.command = resolution.command;
        slot.rt.imageId = resolution.command.imageId;
        continue;
      }
      ok = false;
      slot.rt.state = { kind: 'waiting', reason: resolution.reason, message: resolution.message };
      this.emit({ type: 'Warning', reason: 'Failed', message: `Error: ${resolution.message}`, fieldPath: fieldPath(slot) });
    }
    if (ok) return true;
    const message = this.slots.map((s) => (s.rt.state?.kind === 'waiting' ? s.rt.state.message : undefined)).filter(Boolean).join('; ');
    this.failure = { reason: 'UnsupportedContainer', message };
    // Pods that would not be restarted fail; pods of controllers (restartPolicy Always) stay
    // Pending with the reason on the container, as the kubelet keeps them for config errors —
    // failing them would make their ReplicaSet replace them in a tight loop.
    if ((this.pod.spec?.restartPolicy ?? 'Always') !== 'Always') {
      this.terminal = true;
      this.state = 'completed';
    } else this.state = 'blocked';
    this.deps.log(`${this.ref}: cannot run: ${message}`);
    void this.syncStatus();
    return false;
  }

  private attachTarget(): PodAttachTarget {
    const namespace = this.pod.metadata?.namespace ?? '';
    const name = this.pod.metadata?.name ?? '';
    return { uid: this.uid, namespace, name, podNetns: this.podNetns as string, alias: hostVethAlias(namespace, name) };
  }

  private async createSandbox(): Promise<boolean> {
    try {
      if (this.hostNetwork) this.podIp = this.deps.nodeIp;
      else {
        this.podIp = await this.deps.attacher.attach(this.attachTarget());
      }
    } catch (error) {
      this.sandboxAttempts += 1;
      const delay = Math.min(1000 * 2 ** (this.sandboxAttempts - 1), 30_000);
      this.emit({ type: 'Warning', reason: 'FailedCreatePodSandBox', message: `Failed to create pod sandbox: ${(error as Error).message}` });
      this.deps.log(`${this.ref}: sandbox failed (retry in ${delay}ms): ${(error as Error).message}`);
      this.retryTimer = setTimeout(() => this.kick(), delay);
      this.retryTimer.unref();
      return false;
    }
    this.sandboxReady = true;
    this.startTime ??= new Date();
    this.state = 'running';
    await mkdir(this.dir, { recursive: true });
    await this.persist();
    this.deps.log(`${this.ref}: sandbox ready, ip ${this.podIp}${this.podNetns ? ` in ${this.podNetns}` : ''}`);
    void this.syncStatus();
    return true;
  }

  private get restartPolicy(): string {
    return this.pod.spec?.restartPolicy ?? 'Always';
  }

  private running(slot: Slot): boolean {
    return slot.process !== undefined && !slot.process.hasExited();
  }

  private async runContainers(): Promise<void> {
    // Init containers, in order: each regular one must exit 0 before the next starts; a sidecar
    // (restartPolicy Always) must have started, and keeps running beside the containers.
    for (const slot of this.slots.filter((s) => s.init)) {
      if (this.state !== 'running') return;
      if (this.initialized) {
        // Past initialization only sidecars matter here, restarted on their own schedule.
        if (slot.sidecar && !this.running(slot) && !slot.starting) await this.startOrBackOff(slot);
        continue;
      }
      if (slot.sidecar) {
        if (this.running(slot)) {
          if (!slot.rt.started) return;
          continue;
        }
        await this.startOrBackOff(slot);
        if (!this.running(slot) || !slot.rt.started) return;
        continue;
      }
      if (this.running(slot) || slot.starting) return;
      const state = slot.rt.state;
      if (state?.kind === 'terminated' && state.exitCode === 0) continue;
      if (!slot.everStarted) {
        await this.startContainer(slot);
        return;
      }
      if (this.restartPolicy === 'Never') {
        this.terminal = true;
        await this.complete();
        return;
      }
      await this.startOrBackOff(slot);
      return;
    }

    this.initialized = true;
    for (const slot of this.slots.filter((s) => !s.init)) {
      if (this.state !== 'running') return;
      if (this.running(slot) || slot.starting) continue;
      if (!slot.everStarted) {
        await this.startContainer(slot);
        continue;
      }
      if (this.shouldRestart(slot)) await this.startOrBackOff(slot);
    }

    const regular = this.slots.filter((s) => !s.init);
    const done = regular.every((s) => s.everStarted && !this.running(s) && !s.starting && !this.shouldRestart(s));
    if (this.restartPolicy !== 'Always' && done) {
      this.terminal = true;
      await this.complete();
    }
  }

  private shouldRestart(slot: Slot): boolean {
    if (slot.sidecar) return true;
    const last = slot.rt.state?.kind === 'terminated' ? slot.rt.state : slot.rt.lastTerminated;
    switch (this.restartPolicy) {
      case 'Never':
        return false;
      case 'OnFailure':
        return slot.rt.state?.kind === 'waiting' || (last !== undefined && last.exitCode !== 0);
      default:
        return true;
    }
  }

  /** Restarts now, or after the CrashLoopBackOff delay (showing the container as waiting). */
  private async startOrBackOff(slot: Slot): Promise<void> {
    if (slot.timer || slot.starting) return;
    if (!slot.everStarted) {
      await this.startContainer(slot);
      return;
    }
    const key = `${this.uid}/${slot.spec.name}`;
    const finished = slot.rt.state?.kind === 'terminated' ? slot.rt.state : slot.rt.lastTerminated;
    const now = Date.now();
    const delay = this.deps.backoff.delayBeforeRestart(key, finished?.finishedAt.getTime() ?? now, now);
    if (delay <= 0) {
      this.deps.backoff.restarted(key, now);
      await this.startContainer(slot);
      return;
    }
    const seconds = Math.round(this.deps.backoff.currentDelay(key, now) / 1000);
    if (slot.rt.state?.kind === 'terminated') slot.rt.lastTerminated = slot.rt.state;
    if (slot.rt.containerId) slot.rt.lastContainerId = slot.rt.containerId;
    const podName = `${this.pod.metadata?.name}_${this.pod.metadata?.namespace}(${this.uid})`;
    slot.rt.state = { kind: 'waiting', reason: 'CrashLoopBackOff', message: `back-off ${seconds}s restarting failed container=${slot.spec.name} pod=${podName}` };
    this.emit({ type: 'Warning', reason: 'BackOff', message: `Back-off restarting failed container ${slot.spec.name} in pod ${podName}`, fieldPath: fieldPath(slot) });
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      this.kick();
    }, delay);
    slot.timer.unref();
  }

  private async containerEnv(slot: Slot): Promise<Record<string, string>> {
    const masterService = await this.deps.sink.lookups.masterService?.();
    return buildContainerEnv(slot.spec, {
      pod: this.pod,
      podIp: this.podIp ?? '',
      hostIp: this.deps.nodeIp,
      nodeName: this.deps.nodeName,
      labName: this.deps.labName,
      imageEnv: slot.command?.imageEnv ?? {},
      baseEnv: this.deps.baseEnv,
      nodeAllocatable: this.deps.nodeAllocatable,
      lookups: this.deps.sink.lookups as EnvLookups,
      ...(masterService ? { masterService } : {}),
    });
  }

  private async startContainer(slot: Slot): Promise<void> {
    const command = slot.command;
    if (!command || this.state !== 'running') return;
    slot.starting = true;
    try {
      let env: Record<string, string>;
      let volumeMounts: BindMount[];
      try {
        env = await this.containerEnv(slot);
        volumeMounts = await this.volumeMounts(slot).catch((error: unknown) => {
          // A new namespace's kube-root-ca.crt is published a moment after the namespace: retry
          // soon, then less often, as the kubelet's volume manager backs off (500 ms doubling).
          const retryMs = Math.min(500 * 2 ** this.failedMounts, 30_000);
          this.failedMounts += 1;
          throw new ContainerConfigError(`MountVolume.SetUp failed: ${(error as Error).message}`, 'ContainerCreating', retryMs);
        });
        this.failedMounts = 0;
      } catch (error) {
        if (!(error instanceof ContainerConfigError)) throw error;
        slot.rt.state = { kind: 'waiting', reason: error.reason, message: error.message };
        this.emit({ type: 'Warning', reason: error.reason === 'ContainerCreating' ? 'FailedMount' : 'Failed', message: `Error: ${error.message}`, fieldPath: fieldPath(slot) });
        // The kubelet retries on its next sync (a volume sooner); so do we.
        slot.timer = setTimeout(() => {
          slot.timer = undefined;
          this.kick();
        }, error.retryMs);
        slot.timer.unref();
        return;
      }
      if (this.state !== 'running') return;
      const argv = command.argv.map((arg) => expandVars(arg, env));
      const cwd = slot.spec.workingDir ?? command.defaultWorkingDir ?? join(this.dir, 'cwd');
      if (!slot.spec.workingDir && !command.defaultWorkingDir) await mkdir(cwd, { recursive: true });
      const previous = slot.rt.state?.kind === 'terminated' ? slot.rt.state : slot.rt.lastTerminated;
      const previousId = slot.rt.containerId;
      const restart = slot.everStarted;
      const logPath = this.logPath(slot);
      let process: ContainerProcess;
      let messageMount: BindMount | undefined;
      let mounts: BindMount[] = [];
      let logOffset = 0;
      try {
        messageMount = await this.prepareMessageMount(slot, restart ? slot.rt.restartCount + 1 : slot.rt.restartCount);
        if (this.state !== 'running') {
          await removeMessageFile(messageMount?.source);
          return;
        }
        logOffset = fileSize(logPath);
        const dnsMount = await this.resolvConfMount();
        const imageMounts = await this.imageFileMounts(command);
        mounts = [...imageMounts, ...volumeMounts, ...(dnsMount ? [dnsMount] : []), ...(messageMount ? [messageMount] : [])];
        process = spawnContainer({ podNetns: this.podNetns, argv, env, cwd, logPath, mounts, hostname: podHostname(this.pod, this.deps.nodeName) });
      } catch (error) {
        if (!(error instanceof StartError)) throw error;
        await removeMessageFile(messageMount?.source);
        // Like a runtime that cannot exec the entrypoint: the container "ran" and failed with 128.
        if (restart) {
          slot.rt.restartCount += 1;
          if (previous) slot.rt.lastTerminated = previous;
        }
        slot.everStarted = true;
        const now = new Date();
        slot.rt.state = { kind: 'terminated', exitCode: 128, reason: 'StartError', message: error.message, startedAt: now, finishedAt: now };
        this.emit({ type: 'Warning', reason: 'Failed', message: `Error: ${error.message}`, fieldPath: fieldPath(slot) });
        await this.persist();
        this.kick();
        return;
      }
      if (restart) {
        slot.rt.restartCount += 1;
        if (previous) slot.rt.lastTerminated = previous;
        if (previousId) slot.rt.lastContainerId = previousId;
      }
      slot.everStarted = true;
      slot.env = env;
      slot.process = process;
      // The previous instance's message was read when it ended: its file has served.
      if (slot.messageFile && slot.messageFile !== messageMount?.source) void removeMessageFile(slot.messageFile).catch(() => {});
      slot.messageFile = messageMount?.source;
      slot.logOffset = logOffset;
      slot.rt.containerId = `kth-lab://${process.pid}`;
      slot.rt.state = { kind: 'running', startedAt: process.startedAt };
      slot.rt.ready = false;
      slot.rt.started = false;
      this.emit({ type: 'Normal', reason: 'Started', message: `Started container ${slot.spec.name}`, fieldPath: fieldPath(slot) });
      this.deps.log(`${this.ref}: started ${slot.spec.name} (pid ${process.pid}): ${argv.join(' ')}`);
      void process.exited.then((exit) => this.onExit(slot, process, exit));
      await this.persist();
      // Hooks and probes exec into the container's mount namespace: not before its mounts are there.
      const lastMount = mounts.at(-1);
      if (lastMount) await waitForMounts(process, lastMount.target);

      const postStart = slot.spec.lifecycle?.postStart;
      if (postStart) {
        const outcome = await runLifecycleHandler(postStart, this.target(slot), this.graceMs(), this.escalate.signal);
        if (!outcome.ok && this.running(slot) && slot.process === process) {
          this.emit({ type: 'Warning', reason: 'FailedPostStartHook', message: `PostStartHook failed: ${outcome.output}`, fieldPath: fieldPath(slot) });
          void this.killContainer(slot, this.graceMs(), `Container ${slot.spec.name} failed its postStart hook, will be killed`);
          return;
        }
      }
      if (slot.process !== process || process.hasExited()) return;
      if (!slot.spec.startupProbe) slot.rt.started = true;
      if (!slot.spec.readinessProbe && slot.rt.started) slot.rt.ready = true;
      this.startProbes(slot, process, false);
      void this.syncStatus();
    } finally {
      slot.starting = false;
    }
  }

  private target(slot: Slot): HandlerTarget {
    const target: HandlerTarget = { podIp: this.podIp ?? '', podNetns: this.podNetns, env: slot.env ?? {}, containerPorts: slot.spec.ports ?? [] };
    // Exec hooks and probes see what the container sees (its message file), as in a real runtime.
    if (slot.messageFile && slot.process && !slot.process.hasExited()) target.containerPid = slot.process.pid;
    return target;
  }

  private logPath(slot: Slot): string {
    return join(this.dir, `${slot.spec.name}.log`);
  }

  /** The image's own files at their paths (an upstream image's program), over placeholders the lab records. */
  private async imageFileMounts(command: ContainerCommand): Promise<BindMount[]> {
    const mounts: BindMount[] = [];
    for (const file of command.imageFiles ?? []) {
      // Like a runtime that cannot set up the container's filesystem: the start fails with the reason.
      await ensureMountTarget(file.target, this.deps.labName, 'file', 'image file').catch((error: Error) => {
        throw new StartError(error.message);
      });
      mounts.push({ source: file.source, target: file.target, readOnly: true });
    }
    return mounts;
  }

  /** The pod's resolv.conf over the host's /etc/resolv.conf, when its dnsPolicy asks for one of its own. */
  private async resolvConfMount(): Promise<BindMount | undefined> {
    const content = podResolvConf(this.pod, this.deps.clusterDns);
    if (content === undefined) return undefined;
    const source = join(this.dir, 'resolv.conf');
    await writeFile(source, content);
    return { source, target: '/etc/resolv.conf', readOnly: true };
  }

  /** The instance's own message file, and a mount target on the host for it to cover. */
  private async prepareMessageMount(slot: Slot, instance: number): Promise<BindMount | undefined> {
    const { path } = messageSpec(slot.spec);
    if (!path) return undefined;
    try {
      await ensureMountTarget(path, this.deps.labName);
      return { source: await createMessageFile(this.dir, slot.spec.name, instance), target: path };
    } catch (error) {
      throw new StartError(`cannot mount the termination message file on ${path}: ${(error as Error).message}`);
    }
  }

  private volumesDir(): string {
    return join(this.dir, 'volumes');
  }

  /**
   * The container's volumeMounts of projected volumes (kube-api-access-* above all), each a
   * read-only bind mount of the volume's directory (or a subPath in it) at its mountPath. Other
   * kinds of volume the lab does not provide: their mounts are left out, reported once per volume.
   */
  private async volumeMounts(slot: Slot): Promise<BindMount[]> {
    const written = await this.writeVolumes();
    const mounts: BindMount[] = [];
    for (const mount of slot.spec.volumeMounts ?? []) {
      const dir = written.get(mount.name);
      if (!dir) {
        if (!this.unsupportedVolumesReported.has(mount.name)) {
          this.unsupportedVolumesReported.add(mount.name);
          this.emit({ type: 'Warning', reason: 'VolumeNotProvided', message: `volume ${mount.name} is not mounted at ${mount.mountPath}: the lab provides projected volumes only`, fieldPath: fieldPath(slot) });
        }
        continue;
      }
      const source = mount.subPath ? join(dir, mount.subPath) : dir;
      const kind = mount.subPath && !statSync(source, { throwIfNoEntry: false })?.isDirectory() ? 'file' : 'dir';
      try {
        await ensureMountTarget(mount.mountPath, this.deps.labName, kind, `volumeMount ${mount.name} mountPath`);
      } catch (error) {
        throw new ContainerConfigError((error as Error).message);
      }
      // Projected volumes are read-only whatever the mount says, as the kubelet makes them.
      mounts.push({ source, target: mount.mountPath, readOnly: true });
    }
    return mounts;
  }

  /** Writes the pod's projected volumes once (again after a failure), and keeps their tokens fresh. */
  private writeVolumes(): Promise<Map<string, string>> {
    this.volumes ??= (async () => {
      const written = new Map<string, string>();
      let refreshAt: Date | undefined;
      for (const volume of (this.pod.spec?.volumes ?? []).filter(isProjected)) {
        const result = await writeProjectedVolume(volume, this.pod, join(this.volumesDir(), volume.name), this.deps.sink.lookups);
        written.set(volume.name, result.dir);
        if (result.refreshAt && (!refreshAt || result.refreshAt < refreshAt)) refreshAt = result.refreshAt;
      }
      if (refreshAt) this.scheduleVolumeRefresh(refreshAt);
      return written;
    })();
    return this.volumes.catch((error: unknown) => {
      this.volumes = undefined;
      throw error;
    });
  }

  private scheduleVolumeRefresh(at: Date): void {
    if (this.volumeRefresh) clearTimeout(this.volumeRefresh);
    this.volumeRefresh = setTimeout(() => {
      this.volumeRefresh = undefined;
      if (this.state === 'terminating' || this.state === 'finished' || this.state === 'detached') return;
      // Rewriting the files in place is what the containers see: their mounts are of the directory.
      this.volumes = undefined;
      this.writeVolumes().catch((error: unknown) => {
        this.deps.log(`${this.ref}: refreshing projected volumes failed, retrying in 10 s: ${(error as Error).message}`);
        this.scheduleVolumeRefresh(new Date(Date.now() + 10_000));
      });
    }, Math.max(at.getTime() - Date.now(), 1000));
    this.volumeRefresh.unref();
  }

  /** What the ended instance left as its termination message ('' when nothing, or no file). */
  private writtenMessage(slot: Slot, exitCode: number): string {
    if (!slot.messageFile) return '';
    const { fallbackToLogs } = messageSpec(slot.spec);
    return readTerminationMessage({ file: slot.messageFile, fallbackToLogs, logPath: this.logPath(slot), logOffset: slot.logOffset ?? 0 }, exitCode);
  }

  private graceMs(): number {
    return (this.pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000;
  }

  private startProbes(slot: Slot, process: ContainerProcess, adopted: boolean): void {
    const kinds: [ProbeKind, V1Container['readinessProbe']][] = [
      ['startup', slot.spec.startupProbe],
      ['readiness', slot.spec.readinessProbe],
      ['liveness', slot.spec.livenessProbe],
    ];
    for (const [kind, probe] of kinds) {
      if (!probe) continue;
      const scale = this.deps.probeTimeoutScale ?? 1;
      const worker = new ProbeWorker({
        kind,
        probe: scale === 1 ? probe : { ...probe, timeoutSeconds: (probe.timeoutSeconds ?? 1) * scale },
        target: this.target(slot),
        // An adopted container has been up for a while: its initial delay is long over.
        containerStartedAt: adopted ? new Date(0) : process.startedAt,
        isStarted: () => slot.rt.started,
        onResult: (k, ok, outcome) => this.onProbeResult(slot, process, k, ok, outcome.output),
        onFailedAttempt: (k, outcome) => {
          if (this.state === 'terminating' && k !== 'readiness') return;
          this.emit({ type: 'Warning', reason: 'Unhealthy', message: `${capitalized(k)} probe failed: ${outcome.output}`.slice(0, 1024), fieldPath: fieldPath(slot) });
        },
      });
      slot.probes.set(kind, worker);
      worker.start();
    }
  }

  private onProbeResult(slot: Slot, process: ContainerProcess, kind: ProbeKind, ok: boolean, output: string): void {
    if (slot.process !== process || process.hasExited()) return;
    if (kind === 'readiness') {
      if (slot.rt.ready !== ok) {
        slot.rt.ready = ok;
        void this.syncStatus();
      }
      return;
    }
    if (kind === 'startup' && ok) {
      if (!slot.rt.started) {
        slot.rt.started = true;
        if (!slot.spec.readinessProbe) slot.rt.ready = true;
        slot.probes.get('readiness')?.trigger();
        this.kick(); // a sidecar that started lets the next init container go
        void this.syncStatus();
      }
      return;
    }
    if (ok || this.state === 'terminating') return;
    const probe = kind === 'liveness' ? slot.spec.livenessProbe : slot.spec.startupProbe;
    const grace = probe?.terminationGracePeriodSeconds !== undefined ? probe.terminationGracePeriodSeconds * 1000 : this.graceMs();
    this.deps.log(`${this.ref}: ${slot.spec.name} failed its ${kind} probe: ${output}`);
    void this.killContainer(slot, grace, `Container ${slot.spec.name} failed ${kind} probe, will be restarted`);
  }

  /** Stops one container (a failed liveness/startup probe or postStart hook); it restarts by policy. */
  private async killContainer(slot: Slot, graceMs: number, message: string): Promise<void> {
    const process = slot.process;
    if (!process || process.hasExited() || slot.stopping) return;
    this.emit({ type: 'Normal', reason: 'Killing', message, fieldPath: fieldPath(slot) });
    slot.rt.ready = false;
    void this.syncStatus();
    slot.stopping = this.stopProcess(slot, process, graceMs).then(() => undefined);
    await slot.stopping;
    slot.stopping = undefined;
  }

  /** preStop → SIGTERM → grace → SIGKILL for one container, as both liveness kills and pod stops do it. */
  private stopProcess(slot: Slot, process: ContainerProcess, graceMs: number): ReturnType<typeof stopContainer> {
    return stopContainer({
      process,
      gracePeriodMs: graceMs,
      ...(slot.spec.lifecycle?.preStop ? { preStop: slot.spec.lifecycle.preStop } : {}),
      target: this.target(slot),
      escalate: this.escalate.signal,
      onPreStopFailed: (output) => this.emit({ type: 'Warning', reason: 'FailedPreStopHook', message: `PreStopHook failed: ${output}`, fieldPath: fieldPath(slot) }),
    });
  }

  private onExit(slot: Slot, process: ContainerProcess, exit: ExitInfo): void {
    if (slot.process !== process) return;
    for (const probe of slot.probes.values()) probe.stop();
    slot.probes.clear();
    if (this.state === 'detached') return;
    let terminated: TerminatedState = exit.observed
      ? terminatedFromExit({ exitCode: exit.exitCode, signal: exit.signal, startedAt: process.startedAt, finishedAt: exit.finishedAt })
      : { kind: 'terminated', exitCode: 137, reason: 'ContainerStatusUnknown', message: 'The container exited while the lab node agent was restarting; its exit status is unknown', startedAt: process.startedAt, finishedAt: exit.finishedAt };
    // Read now, in the same turn as the exit: the next status (the final one, when the pod is being
    // deleted) must carry it.
    const message = composeMessage(terminated.message, this.writtenMessage(slot, terminated.exitCode));
    if (message) terminated = { ...terminated, message };
    slot.rt.state = terminated;
    slot.rt.ready = false;
    slot.rt.started = false;
    this.deps.log(`${this.ref}: container ${slot.spec.name} (pid ${process.pid}) exited with ${terminated.exitCode}`);
    void this.persist();
    this.kick();
    void this.syncStatus();
  }

  /** The pod finished by itself (Succeeded or Failed): stop what runs, free the network. */
  private async complete(): Promise<void> {
    this.state = 'completed';
    await Promise.all(this.slots.filter((s) => this.running(s)).map((s) => this.stopSlot(s, this.graceMs())));
    await this.teardownSandbox();
    await this.persist();
    this.deps.log(`${this.ref}: completed`);
    await this.syncStatus();
  }

  private async stopSlot(slot: Slot, graceMs: number): Promise<void> {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = undefined;
    const process = slot.process;
    if (!process || process.hasExited()) return;
    if (slot.stopping) {
      // A liveness kill is under way; the deletion may shorten it (force delete escalates).
      await slot.stopping;
      return;
    }
    this.emit({ type: 'Normal', reason: 'Killing', message: `Stopping container ${slot.spec.name}`, fieldPath: fieldPath(slot) });
    slot.stopping = this.stopProcess(slot, process, graceMs).then((result) => {
      this.deps.log(
        `${this.ref}: stopped ${slot.spec.name} (pid ${process.pid}): preStop ${result.preStopMs}ms, ${result.killed ? 'SIGKILL' : 'exited after SIGTERM'}`,
      );
    });
    await slot.stopping;
    await process.exited;
  }

  /**
   * Deletion, as the kubelet does it: every container stopped in parallel (preStop, SIGTERM,
   * grace, SIGKILL), sidecars after the rest, then the network removed, the final status written
   * and the pod deleted with grace period 0.
   */
  private async terminate(): Promise<void> {
    const wasState = this.state;
    this.state = 'terminating';
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.volumeRefresh) clearTimeout(this.volumeRefresh);
    const deletionGrace = this.pod.metadata?.deletionGracePeriodSeconds;
    const graceMs = this.removedFromApi ? 0 : (deletionGrace ?? this.pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000;
    if (this.removedFromApi) this.escalate.abort();
    this.terminationStartedAt = Date.now();
    this.terminationGraceMs = graceMs;
    const deadline = Date.now() + graceMs;
    this.deps.log(`${this.ref}: terminating (grace ${graceMs / 1000}s${this.removedFromApi ? ', removed from the API' : ''})`);
    for (const slot of this.slots) {
      if (slot.timer) clearTimeout(slot.timer);
      slot.timer = undefined;
    }
    // Wait for a container start in flight, so nothing starts behind our back.
    for (let i = 0; i < 100 && this.slots.some((s) => s.starting); i += 1) await abortableSleep(20);
    void this.syncStatus();
    const nonSidecars = this.slots.filter((s) => !s.sidecar);
    await Promise.all(nonSidecars.map((slot) => this.stopSlot(slot, graceMs)));
    const sidecars = this.slots.filter((s) => s.sidecar).reverse();
    for (const slot of sidecars) await this.stopSlot(slot, graceMs === 0 ? 0 : Math.max(deadline - Date.now(), 0));
    for (const slot of this.slots) {
      for (const probe of slot.probes.values()) probe.stop();
      slot.probes.clear();
    }
    if (wasState !== 'completed' || this.sandboxReady) await this.teardownSandbox();
    this.terminal = true;
    if (!this.removedFromApi) {
      await this.syncStatus();
      try {
        await this.deps.sink.finalDelete(this.pod);
      } catch (error) {
        this.deps.log(`${this.ref}: final delete failed: ${(error as Error).message}`);
      }
    }
    await removePodState(this.dir).catch(() => {});
    await rm(messageDir(this.dir), { recursive: true, force: true }).catch(() => {});
    await rm(this.volumesDir(), { recursive: true, force: true }).catch(() => {});
    this.deps.backoff.forgetPrefix(`${this.uid}/`);
    this.state = 'finished';
    this.deps.log(`${this.ref}: terminated`);
    this.deps.onFinished(this.uid);
  }

  private async teardownSandbox(): Promise<void> {
    this.sandboxReady = false;
    if (!this.hostNetwork) {
      await this.deps.attacher.detach(this.attachTarget()).catch((error: Error) =>
        this.deps.log(`${this.ref}: removing the pod network failed: ${error.message}`),
      );
    }
  }

  // ---- status ------------------------------------------------------------------------------

  runtimeView(): RuntimePod {
    const view: RuntimePod = {
      hostIp: this.deps.nodeIp,
      sandboxReady: this.sandboxReady,
      initContainers: this.slots.filter((s) => s.init).map((s) => ({ ...s.rt })),
      containers: this.slots.filter((s) => !s.init).map((s) => ({ ...s.rt })),
      terminal: this.terminal,
    };
    if (this.podIp) view.podIp = this.podIp;
    if (this.startTime) view.startTime = this.startTime;
    if (this.failure) view.failure = this.failure;
    return view;
  }

  /** Coalesces status writes: at most one in flight; changes meanwhile go in the next one. */
  syncStatus(): Promise<void> {
    this.statusDirty = true;
    this.statusFlight ??= this.flushStatus().finally(() => {
      this.statusFlight = undefined;
    });
    return this.statusFlight;
  }

  private async flushStatus(): Promise<void> {
    let failures = 0;
    while (this.statusDirty && this.state !== 'detached' && !this.removedFromApi && failures < 10) {
      this.statusDirty = false;
      // Conditions keep their transition times against what we last wrote, not a stale informer copy.
      const owned = new Set<string>(kubeletConditionTypes);
      const apiStatus = this.pod.status ?? {};
      const previous: V1PodStatus = this.lastSent
        ? {
            ...apiStatus,
            phase: this.lastSent.status.phase ?? apiStatus.phase,
            startTime: this.lastSent.status.startTime ?? apiStatus.startTime,
            conditions: [...(apiStatus.conditions ?? []).filter((c) => !owned.has(c.type)), ...(this.lastSent.status.conditions ?? []).filter((c) => owned.has(c.type))],
          }
        : apiStatus;
      const status = computePodStatus({ ...this.pod, status: previous }, this.runtimeView(), new Date());
      const key = JSON.stringify(status);
      if (key === this.lastSent?.key) continue;
      try {
        const result = await this.deps.sink.patchStatus(this.pod, status);
        if (result.result === 'gone') {
          this.removedFromApi = true;
          this.escalate.abort();
          this.kick();
          return;
        }
        this.lastSent = { key, status };
        failures = 0;
      } catch (error) {
        failures += 1;
        this.statusDirty = true;
        this.deps.log(`${this.ref}: status update failed (attempt ${failures}): ${(error as Error).message}`);
        await abortableSleep(Math.min(200 * 2 ** failures, 5000));
      }
    }
    if (this.statusDirty && failures >= 10 && this.state !== 'detached' && this.state !== 'finished') {
      // The API server has been unreachable for a while: try again later, not never.
      const timer = setTimeout(() => void this.syncStatus(), 10_000);
      timer.unref();
    }
  }

  private emit(event: PodEvent): void {
    this.deps.sink.event(this.pod, event);
  }

  private persisting: Promise<void> = Promise.resolve();

  /** Saves what a restarted agent needs to adopt this pod; writes are serialised. */
  private persist(force = false): Promise<void> {
    if (!force && (this.state === 'detached' || this.state === 'finished')) return this.persisting;
    const write = () => this.writeState().catch((error: Error) => this.deps.log(`${this.ref}: saving pod state failed: ${error.message}`));
    this.persisting = this.persisting.then(write, write);
    return this.persisting;
  }

  private async writeState(): Promise<void> {
    if (!this.podIp || !this.startTime || this.state === 'finished') return;
    const containers: PersistedContainer[] = this.slots.map((slot) => {
      const persisted: PersistedContainer = { name: slot.spec.name, init: slot.init, restartCount: slot.rt.restartCount };
      if (slot.rt.containerId) persisted.containerId = slot.rt.containerId;
      if (slot.rt.lastContainerId) persisted.lastContainerId = slot.rt.lastContainerId;
      if (slot.rt.lastTerminated) persisted.lastTerminated = toPersistedTerminated(slot.rt.lastTerminated);
      if (slot.process && !slot.process.hasExited()) {
        persisted.pid = slot.process.pid;
        persisted.procStart = slot.process.procStart;
        persisted.startedAt = slot.process.startedAt.toISOString();
        if (slot.messageFile) {
          persisted.messageFile = slot.messageFile;
          persisted.logOffset = slot.logOffset ?? 0;
        }
      } else if (slot.rt.state?.kind === 'terminated') persisted.terminated = toPersistedTerminated(slot.rt.state);
      else if (slot.rt.lastTerminated) persisted.terminated = toPersistedTerminated(slot.rt.lastTerminated);
      return persisted;
    });
    await writePodState(this.dir, {
      uid: this.uid,
      namespace: this.pod.metadata?.namespace ?? '',
      name: this.pod.metadata?.name ?? '',
      podNetns: this.hostNetwork ? null : (this.podNetns ?? null),
      hostVeth: this.hostNetwork || this.deps.attacher.kind !== 'veth' ? null : hostVethName(this.uid),
      podIp: this.podIp,
      startTime: this.startTime.toISOString(),
      completed: this.state === 'completed',
      containers,
    });
  }
}

/** A log's size now (0 when there is none yet): the next instance's output starts there. */
function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
