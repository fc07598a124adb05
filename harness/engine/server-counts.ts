import type { V1ContainerStateTerminated, V1Pod } from '@kubernetes/client-node';
import { resumableWatch } from '../kube/resumable-watch.ts';
import type { Cluster } from '../kube/cluster.ts';
import { type FinalCounters, parseFinalCounters } from '../workloads/final-counters.ts';

/**
 * The servers' own counts over a run whose pods change (rollouts, scale-in, deletions, restarts).
 * Each container instance's count comes from where it can be had: the final counters it left in
 * its termination message (read from the pod's status, on any cluster) when it has ended, or a
 * scrape at the end while it still runs. An instance SIGKILLed before it could write leaves a gap
 * that is named, never guessed.
 */

/** One run of a container: its id (a new one per restart) and how it ended, if it has. */
interface Instance {
  ended: boolean;
  exitCode?: number;
  counters?: FinalCounters;
}

export interface PodHistory {
  /** Instances by container id, as the pod's status showed them. */
  instances: Map<string, Instance>;
  /** Instances that had ended before the watch began: not the run's. */
  before: Set<string>;
  /** The instance running in the last status seen. */
  running?: string;
  /** The pod object is gone from the API. */
  deleted: boolean;
  /** Being deleted (the containers are stopping). */
  terminating: boolean;
}

export interface ServerPodWatch {
  readonly pods: ReadonlyMap<string, PodHistory>;
  /** Resolves once no pod is still stopping, or after `timeoutMs`. */
  settled(timeoutMs: number): Promise<void>;
  stop(): void;
}

function record(history: PodHistory, id: string, terminated: V1ContainerStateTerminated, initial: boolean): void {
  const known = history.instances.get(id);
  if (known?.ended) return;
  const counters = parseFinalCounters(terminated.message);
  history.instances.set(id, { ended: true, exitCode: terminated.exitCode, ...(counters ? { counters } : {}) });
  if (initial) history.before.add(id);
}

/** Folds one pod status into its history. */
export function observePod(history: PodHistory, pod: V1Pod, initial: boolean, deleted = false): void {
  history.terminating = Boolean(pod.metadata?.deletionTimestamp);
  history.deleted ||= deleted;
  history.running = undefined;
  for (const status of pod.status?.containerStatuses ?? []) {
    // The previous instance, as the status shows it after a restart.
    const last = status.lastState?.terminated;
    if (last?.containerID) record(history, last.containerID, last, initial);
    const id = status.containerID;
    if (!id) continue;
    if (status.state?.terminated) record(history, id, status.state.terminated, initial);
    else if (status.state?.running) {
      if (!history.instances.has(id)) history.instances.set(id, { ended: false });
      history.running = id;
    }
  }
}

export function emptyHistory(): PodHistory {
  return { instances: new Map(), before: new Set(), deleted: false, terminating: false };
}

/** Follows the run's server pods from now on (the current ones arrive first), resuming a watch the server ends. */
export async function watchServerPods(cluster: Cluster, namespace: string, selector: string): Promise<ServerPodWatch> {
  const pods = new Map<string, PodHistory>();
  const wakers = new Set<() => void>();
  const historyOf = (name: string) => pods.get(name) ?? pods.set(name, emptyHistory()).get(name)!;
  // The pods as the run begins: what had already ended by then belongs to before the run.
  const list = await cluster.core.listNamespacedPod({ namespace, labelSelector: selector });
  for (const pod of list.items) observePod(historyOf(pod.metadata?.name ?? ''), pod, true);
  // A watch resumed from now (its version too old) re-reads statuses it has seen: folding them again changes nothing.
  const stop = await resumableWatch<V1Pod>(cluster, `/api/v1/namespaces/${namespace}/pods`, { labelSelector: selector }, (type, pod) => {
    observePod(historyOf(pod.metadata?.name ?? ''), pod, false, type === 'DELETED');
    for (const wake of wakers) wake();
  }, list.metadata?.resourceVersion);
  const stopping = () => [...pods.values()].some((history) => history.terminating && !history.deleted && history.running !== undefined);
  return {
    pods,
    async settled(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (stopping() && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(1000, Math.max(0, deadline - Date.now())));
          wakers.add(() => {
            clearTimeout(timer);
            resolve();
          });
        });
        wakers.clear();
      }
    },
    stop,
  };
}

/** One pod's scrape at the end: its counters, or why it could not be read. */
export type EndScrape = { pod: string; requests: number } | { pod: string; error: string };

/**
 * Each pod's own count over the run: every instance's final count (termination message) or its
 * scrape at the end, minus the count the pod had when the run began. Pods whose count cannot be
 * known are in `missing` with the reason.
 */
export function serverCountsOverRun(
  pods: ReadonlyMap<string, PodHistory>,
  atStart: ReadonlyMap<string, number>,
  atEnd: readonly EndScrape[],
): { counts: Map<string, number>; missing: Map<string, string> } {
  const scraped = new Map(atEnd.map((scrape) => [scrape.pod, scrape]));
  const counts = new Map<string, number>();
  const missing = new Map<string, string>();
  for (const [pod, history] of pods) {
    let total = 0;
    const gaps: string[] = [];
    for (const [id, instance] of history.instances) {
      if (history.before.has(id)) continue;
      if (instance.ended) {
        if (instance.counters) total += instance.counters.requests;
        else gaps.push(`its server ended (exit ${instance.exitCode ?? '?'}) without leaving its final counters${instance.exitCode === 137 ? ': SIGKILLed' : ''}`);
      } else if (id === history.running && !history.deleted) {
        const scrape = scraped.get(pod);
        if (!scrape) gaps.push(history.terminating ? 'still stopping when the run ended' : 'not scraped at the end');
        else if ('error' in scrape) gaps.push(`unreachable at the end: ${scrape.error}`);
        else total += scrape.requests;
      } else gaps.push('gone before its final status was seen (deleted at once, or its node went away)');
    }
    if (gaps.length > 0) missing.set(pod, gaps.join('; '));
    else counts.set(pod, total - (atStart.get(pod) ?? 0));
  }
  return { counts, missing };
}
