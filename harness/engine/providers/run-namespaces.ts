import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Cluster } from '../../kube/cluster.ts';
import { ManagedByLabel, managedByValue } from '../../../manifests/names.ts';
import { namespaceFor } from '../execute.ts';

/**
 * Runs on a cluster that outlives them (an existing cluster, a lab or kind cluster kept for many
 * runs): each run gets a namespace of its own, labelled with this host and process so a later start
 * removes what a crashed one left, and deleted when the run ends unless --retain.
 */
export const ownerHostLabel = 'kube-traffic-harness/host';
export const ownerPidLabel = 'kube-traffic-harness/pid';

/** A run's namespace on a shared cluster: the lab's name for it (`kth-<variant>`) with a suffix of its own, ≤ 63. */
export const sharedClusterNamespace = (variant: string, suffix: string): string => `${namespaceFor(variant).slice(0, 62 - suffix.length).replace(/-+$/, '')}-${suffix}`;

/** A label value for this host (RFC 1123-ish, ≤ 63). */
export const hostLabelValue = (host = hostname()): string => host.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').slice(0, 63).replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '') || 'host';

export interface RunNamespaces {
  namespaceFor(variant: string): { name: string; labels: Record<string, string> };
  /** One run is over: its namespace goes (kept with --retain). */
  release(namespace: string): Promise<void>;
  /** The provider is done: whatever a run did not release goes too. */
  removeAll(): Promise<void>;
  /** The namespaces still there, for the --retain line. */
  names(): string[];
}

export function runNamespaces(cluster: Cluster, options: { retain: boolean; log: (line: string) => void }): RunNamespaces {
  const namespaces = new Set<string>();
  return {
    namespaceFor(variant) {
      const name = sharedClusterNamespace(variant, randomBytes(3).toString('hex'));
      namespaces.add(name);
      return { name, labels: { [ownerHostLabel]: hostLabelValue(), [ownerPidLabel]: String(process.pid) } };
    },
    async release(namespace) {
      if (options.retain) {
        options.log(`namespace ${namespace} kept (--retain): kubectl delete namespace ${namespace}`);
        return;
      }
      await cluster.core.deleteNamespace({ name: namespace }).catch(() => undefined);
      namespaces.delete(namespace);
      options.log(`namespace ${namespace} deleted`);
    },
    async removeAll() {
      if (options.retain) return;
      await Promise.all([...namespaces].map((name) => cluster.core.deleteNamespace({ name }).catch(() => undefined)));
      namespaces.clear();
    },
    names: () => [...namespaces],
  };
}

/** Namespaces an earlier harness process on this host left behind (it crashed or was killed): deleted now. */
export async function removeOrphanedNamespaces(cluster: Cluster, isAlive: (pid: number) => boolean): Promise<string[]> {
  const list = await cluster.core.listNamespace({ labelSelector: `${ManagedByLabel}=${managedByValue},${ownerHostLabel}=${hostLabelValue()}` });
  const orphans = list.items.filter((ns) => {
    const pid = Number(ns.metadata?.labels?.[ownerPidLabel]);
    return Number.isInteger(pid) && pid > 0 && pid !== process.pid && !isAlive(pid) && !ns.metadata?.deletionTimestamp;
  });
  await Promise.all(orphans.map((ns) => cluster.core.deleteNamespace({ name: ns.metadata?.name as string })));
  return orphans.map((ns) => ns.metadata?.name as string);
}
