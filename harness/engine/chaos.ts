import type { V1Pod } from '@kubernetes/client-node';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Cluster } from '../kube/cluster.ts';
import { podsOf } from '../kube/cluster.ts';
import { drainNode, setUnschedulable } from './drain.ts';
import type { ChaosSpec, NodeRef } from './types.ts';

/** A network fault as a provider applies it to one interface. */
export interface NetworkFault {
  /** Percent of packets dropped (100 = a partition). */
  lossPercent?: number;
  delayMs?: number;
  jitterMs?: number;
}

/**
 * What only a provider can do to nodes and their processes (the lab today). Each returns what it
 * did, for the timeline; `unsupported` says why this provider cannot do an action, before a run starts.
 */
export interface NodeFaults {
  unsupported(action: ChaosSpec): string | undefined;
  pauseKubeProxy(node: number, paused: boolean): Promise<string>;
  restartKubeProxy(node: number): Promise<string>;
  /** Cuts (down) or restores a node's network and stops or resumes its agent. */
  nodeDown(node: number, down: boolean): Promise<string>;
  /** Applies a network fault to a node's or a pod's interface; undefined removes it. */
  network(where: { node: number } | { pod: V1Pod }, fault: NetworkFault | undefined): Promise<string>;
}

/** Where chaos lands: the scenario's Deployment, the cluster's nodes, and the provider's faults. */
export interface ChaosTarget {
  cluster: Cluster;
  namespace: string;
  deployment: string;
  selector: string;
  /** Node names in index order (node 1 first). */
  nodes: readonly string[];
  /** SIGKILLs the main process of a pod's container (a crash the kubelet restarts); provider-specific. */
  killProcess(pod: V1Pod): Promise<string>;
  /** Sets pods' readiness through the sample servers' control endpoint, from inside the cluster. */
  setReadiness(pods: readonly V1Pod[], ready: boolean): Promise<void>;
  faults?: NodeFaults;
  /** When the run ends: long actions (a drain blocked by a PDB) give up then. */
  deadline: number;
}

/** What an action did, and how to undo it (a paused kube-proxy resumed, a cut network restored). */
export interface ChaosOutcome {
  detail: string;
  undo?: () => Promise<string>;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Running pods, oldest first (a deterministic victim: the pod most likely holding connections). */
async function victims(target: ChaosTarget, count: number): Promise<V1Pod[]> {
  const pods = (await podsOf(target.cluster, target.namespace, target.selector)).filter((pod) => pod.status?.phase === 'Running' && !pod.metadata?.deletionTimestamp);
  pods.sort((a, b) => String(a.metadata?.creationTimestamp).localeCompare(String(b.metadata?.creationTimestamp)) || String(a.metadata?.name).localeCompare(String(b.metadata?.name)));
  return pods.slice(0, count);
}

/** Node indices an action aims at (1-based). */
function nodeIndices(target: ChaosTarget, ref: NodeRef | undefined): number[] {
  if (ref === 'all') return target.nodes.map((_, i) => i + 1);
  const index = ref ?? 1;
  if (index > target.nodes.length) throw new Error(`node ${index} does not exist (the cluster has ${target.nodes.length})`);
  return [index];
}

function nodeName(target: ChaosTarget, index: number): string {
  const name = target.nodes[index - 1];
  if (!name) throw new Error(`node ${index} does not exist (the cluster has ${target.nodes.length})`);
  return name;
}

function faultsFor(target: ChaosTarget, action: ChaosSpec): NodeFaults {
  const why = target.faults ? target.faults.unsupported(action) : 'this provider cannot inject node or network faults';
  if (why || !target.faults) throw new Error(why ?? 'no fault injector');
  return target.faults;
}

/** Performs one chaos action; returns what was done (for the timeline) and how to undo it. */
export async function performChaos(target: ChaosTarget, action: ChaosSpec): Promise<ChaosOutcome> {
  const { cluster, namespace, deployment } = target;
  switch (action.action) {
    case 'scale': {
      await cluster.apps.patchNamespacedDeploymentScale({ name: deployment, namespace, body: { spec: { replicas: action.replicas } } }, mergePatch);
      return { detail: `scaled ${deployment} to ${action.replicas} replicas` };
    }
    case 'rollout-restart': {
      // What `kubectl rollout restart` does: a new template annotation, so a new ReplicaSet rolls out.
      const body = { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } } } };
      await cluster.apps.patchNamespacedDeployment({ name: deployment, namespace, body }, mergePatch);
      return { detail: `rollout restart of ${deployment}` };
    }
    case 'rollout': {
      // A new version: the server container's env changes (merged by name, as `kubectl set env`).
      const current = await cluster.apps.readNamespacedDeployment({ name: deployment, namespace });
      const containers = (current.spec?.template.spec?.containers ?? []).map((container) => {
        const env = (container.env ?? []).filter((entry) => !(entry.name in action.env));
        return { ...container, env: [...env, ...Object.entries(action.env).map(([name, value]) => ({ name, value }))] };
      });
      await cluster.apps.patchNamespacedDeployment({ name: deployment, namespace, body: { spec: { template: { spec: { containers } } } } }, mergePatch);
      return { detail: `rollout of ${deployment} with ${Object.entries(action.env).map(([k, v]) => `${k}=${v}`).join(', ')}` };
    }
    case 'delete-pod': {
      const pods = await victims(target, action.count ?? 1);
      for (const pod of pods) {
        await cluster.core.deleteNamespacedPod({ name: pod.metadata!.name!, namespace, ...(action.force ? { gracePeriodSeconds: 0 } : {}) });
      }
      return { detail: `deleted ${pods.map((pod) => pod.metadata?.name).join(', ')}${action.force ? ' (grace 0)' : ''}` };
    }
    case 'kill-process': {
      const pods = await victims(target, action.count ?? 1);
      const done: string[] = [];
      for (const pod of pods) done.push(await target.killProcess(pod));
      return { detail: `killed ${done.join(', ')}` };
    }
    case 'readiness-flip': {
      // Set, not toggled: a repeated or late undo can never turn a pod the wrong way.
      const pods = await victims(target, action.count ?? 1);
      await target.setReadiness(pods, false);
      const names = pods.map((pod) => pod.metadata?.name).join(', ');
      return { detail: `${names} failing readiness`, undo: async () => (await target.setReadiness(pods, true), `${names} ready again`) };
    }
    case 'kube-proxy-pause': {
      const faults = faultsFor(target, action);
      const nodes = nodeIndices(target, action.node);
      const done = await Promise.all(nodes.map((node) => faults.pauseKubeProxy(node, true)));
      return { detail: done.join('; '), undo: async () => (await Promise.all(nodes.map((node) => faults.pauseKubeProxy(node, false)))).join('; ') };
    }
    case 'kube-proxy-restart': {
      const faults = faultsFor(target, action);
      return { detail: (await Promise.all(nodeIndices(target, action.node).map((node) => faults.restartKubeProxy(node)))).join('; ') };
    }
    case 'node-drain': {
      const name = nodeName(target, action.node);
      const drained = await drainNode(cluster, name, target.deadline, namespace);
      return { detail: drained, undo: async () => (await setUnschedulable(cluster, name, false), `uncordoned ${name}`) };
    }
    case 'node-uncordon': {
      const name = nodeName(target, action.node);
      await setUnschedulable(cluster, name, false);
      return { detail: `uncordoned ${name}` };
    }
    case 'node-down': {
      const faults = faultsFor(target, action);
      const detail = await faults.nodeDown(action.node, true);
      return { detail, undo: () => faults.nodeDown(action.node, false) };
    }
    case 'node-up': {
      const faults = faultsFor(target, action);
      return { detail: await faults.nodeDown(action.node, false) };
    }
    case 'network': {
      const faults = faultsFor(target, action);
      const fault: NetworkFault = {
        ...(action.partition ? { lossPercent: 100 } : action.loss !== undefined ? { lossPercent: action.loss } : {}),
        ...(action.delay !== undefined ? { delayMs: Number(action.delay) } : {}),
        ...(action.jitter !== undefined ? { jitterMs: Number(action.jitter) } : {}),
      };
      const where: ({ node: number } | { pod: V1Pod })[] = action.target === 'node' ? [{ node: action.node ?? 1 }] : (await victims(target, action.count ?? 1)).map((pod) => ({ pod }));
      const done = await Promise.all(where.map((w) => faults.network(w, fault)));
      return { detail: done.join('; '), undo: async () => (await Promise.all(where.map((w) => faults.network(w, undefined).catch((error: Error) => `not restored: ${error.message}`)))).join('; ') };
    }
  }
}

/** The action that undoes an earlier one's lasting effect (node-up after node-down), by node. */
export function undoneBy(action: ChaosSpec): { undoes: ChaosSpec['action']; node: number } | undefined {
  if (action.action === 'node-up') return { undoes: 'node-down', node: action.node };
  if (action.action === 'node-uncordon') return { undoes: 'node-drain', node: action.node };
  return undefined;
}
