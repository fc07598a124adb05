import type { V1Pod } from '@kubernetes/client-node';
import { abortableSleep } from './handlers.ts';
import { PodIpam } from './ipam.ts';
import { hostVethAlias } from './names.ts';
import { CniAttacher, type CniPluginConfig, type PodAttacher, VethAttacher } from './pod-attach.ts';
import { type PersistedPod, readPodStates, removePodState } from './pod-state.ts';
import { PodWorker, type PodWorkerDeps } from './pod-worker.ts';
import { procStartTime } from './process.ts';
import { join } from 'node:path';

/**
 * All pods of one node: one PodWorker per pod UID, fed by the pod watch. On start it reads what
 * an earlier agent left (pod states, address allocations) so running pods are adopted, not
 * started twice; after the first full list, whatever belongs to pods that no longer exist is
 * removed (processes, namespaces, veths, addresses), as the kubelet's housekeeping does.
 */
export type RuntimeDeps = Omit<PodWorkerDeps, 'attacher' | 'onFinished'> & {
  /** Attach pods through this CNI plugin instead of the agent's own veth and IPAM. */
  cni?: CniPluginConfig;
};

export class PodRuntime {
  private readonly workers = new Map<string, PodWorker>();
  /** UIDs whose worker finished recently: late watch events for them are ignored. */
  private readonly finished = new Set<string>();
  private saved = new Map<string, { dir: string; state: PersistedPod }>();
  private stopped = false;

  private constructor(
    private readonly deps: RuntimeDeps,
    readonly attacher: PodAttacher,
  ) {}

  static async create(deps: RuntimeDeps, podCidr: string): Promise<PodRuntime> {
    const attacher = deps.cni
      ? new CniAttacher(deps.net, deps.cni)
      : new VethAttacher(deps.net, await PodIpam.open(join(deps.stateDir, 'ipam.json'), podCidr), deps.podNetnsPrefix);
    const runtime = new PodRuntime(deps, attacher);
    for (const entry of await readPodStates(deps.stateDir)) runtime.saved.set(entry.state.uid, entry);
    return runtime;
  }

  get size(): number {
    return this.workers.size;
  }

  worker(uid: string): PodWorker | undefined {
    return this.workers.get(uid);
  }

  /** A pod was added or changed in the API. */
  upsert(pod: V1Pod): void {
    if (this.stopped) return;
    const uid = pod.metadata?.uid;
    if (!uid || this.finished.has(uid)) return;
    const existing = this.workers.get(uid);
    if (existing) {
      existing.update(pod);
      return;
    }
    const saved = this.saved.get(uid);
    const phase = pod.status?.phase;
    if (!saved && (phase === 'Succeeded' || phase === 'Failed') && !pod.metadata?.deletionTimestamp) return; // done before we knew it
    const worker = new PodWorker(pod, {
      ...this.deps,
      attacher: this.attacher,
      onFinished: (finishedUid) => {
        this.workers.delete(finishedUid);
        this.finished.add(finishedUid);
        if (this.finished.size > 10_000) this.finished.delete(this.finished.values().next().value as string);
      },
    });
    this.workers.set(uid, worker);
    if (saved) {
      this.saved.delete(uid);
      void worker.adopt(saved.state).catch((error: Error) => this.deps.log(`${worker.ref}: adopting failed: ${error.stack ?? error.message}`));
    } else worker.start();
  }

  /** A pod is gone from the API. */
  remove(pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    this.workers.get(uid)?.removed();
  }

  /**
   * After the first complete pod list: removes what belongs to pods that no longer exist
   * (deleted while no agent ran), and frees their addresses.
   */
  async collectOrphans(): Promise<void> {
    const orphans = [...this.saved.values()];
    this.saved.clear();
    for (const { dir, state } of orphans) {
      this.deps.log(`pod ${state.namespace}/${state.name} (${state.uid}) no longer exists: removing what is left of it`);
      const pids = state.containers
        .filter((c) => c.pid !== undefined && c.procStart !== undefined && procStartTime(c.pid) === c.procStart)
        .map((c) => c.pid as number);
      for (const pid of pids) signal(pid, 'SIGTERM');
      for (let i = 0; i < 20 && pids.some((pid) => procStartTime(pid) !== undefined); i += 1) await abortableSleep(100);
      for (const pid of pids) signal(-pid, 'SIGKILL');
      if (state.podNetns) {
        const target = { uid: state.uid, namespace: state.namespace, name: state.name, podNetns: state.podNetns, alias: hostVethAlias(state.namespace, state.name) };
        await this.attacher.detach(target).catch(() => {});
      }
      await removePodState(dir);
    }
    await this.attacher.collectOrphans(new Set(this.workers.keys()), this.deps.log);
  }

  /** The agent is stopping: stop every worker, leave every pod running. */
  async detach(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.workers.values()].map((worker) => worker.detach()));
  }
}

function signal(target: number, sig: NodeJS.Signals): void {
  try {
    process.kill(target, sig);
  } catch {
    // gone
  }
}
