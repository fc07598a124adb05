import { release } from 'node:os';
import { environmentError } from '../../core/errors.ts';
import { onInterrupt } from '../../core/interrupts.ts';
import { useDockerEngine } from '../../docker/engine.ts';
import { ensureHarnessNetwork, outsideNetwork } from '../../docker/network.ts';
import { ensureOutsidePath, kindLoadBalancerNodes } from '../../kind/load-balancer.ts';
import { reachApi } from '../../existing/connect.ts';
import { connect } from '../../kube/cluster.ts';
import { clusterFacts } from '../../existing/facts.ts';
import { containerIp, createKindCluster, deleteKindCluster, kindClusterName, type KindClusterRecord, kubeconfigPathOf, markRetained, removeOrphanedKindClusters } from '../../kind/cluster.ts';
import { hostNeeds, kindConfig } from '../../kind/config.ts';
import { loadHarnessImages } from '../../kind/harness-images.ts';
import { kindNodeImage, kindRelease } from '../../kind/node-image-choice.ts';
import { dataplaneFor } from '../../lab/dataplane/index.ts';
import { isAlive } from '../../lab/processes.ts';
import type { LabProxyMode } from '../../lab/spec.ts';
import { ManagedByLabel, managedByValue } from '../../../manifests/names.ts';
import { imageRef } from '../../workloads/image/names.ts';
import type { RunTarget } from '../execute.ts';
import { existingChaosUnsupported, existingProvider } from './existing.ts';
import type { ClusterProvider, OpenCluster, RunSpecs } from './provider.ts';
import { spawnRelayContainer } from './relay-container.ts';
import { removeOrphanedNamespaces } from './run-namespaces.ts';

export interface KindProviderOptions {
  /** Nodes that run pods (the scenario's `nodes`). */
  nodes: number;
  retain: boolean;
  /** `--kind-config`: merged over the generated config. */
  userConfig?: Record<string, unknown>;
  /** `--node-image`: a published kindest/node image (or any) instead of the one the harness builds. */
  nodeImage?: string;
  /** Whether any run uses the Go sample servers (their images are loaded too). */
  goServers: boolean;
}

function once(work: () => Promise<void>): () => Promise<void> {
  let started: Promise<void> | undefined;
  return () => (started ??= work());
}

/** Why kind cannot run a proxy mode here, before any cluster is made (nodes share the host's kernel). */
export async function kindUnsupported(mode: string): Promise<string | undefined> {
  if (mode === 'cilium') return 'cilium on kind needs Cilium images installed into the cluster, which the kind provider does not build yet: run cilium on the lab (--provider lab)';
  if (!['iptables', 'nftables', 'ipvs'].includes(mode)) return `kind has no proxy mode '${mode}'`;
  const problems = await dataplaneFor(mode as LabProxyMode).hostProblems();
  if (problems.length > 0) return `kind nodes share this host's kernel, and proxy mode ${mode} cannot run on it: ${problems.join('; ')} (the lab runs it in a guest kernel: --provider lab)`;
  return undefined;
}

/** What a kind cluster takes: the chaos any cluster takes through its API (node drains too: the cluster is the run's own). */
export function kindRunUnsupported(run: RunSpecs): string | undefined {
  return existingChaosUnsupported(run.chaos.map((c) => c.spec), true);
}

/**
 * A kind cluster that is up, made ready for runs and opened exactly as an existing cluster (its API,
 * relay pods, a namespace per run), but for external clients: containers on the outside network
 * behind the kind load balancer, as machines outside a cluster would be.
 */
async function runOnKindCluster(options: { name: string; kubeconfigPath: string; apiServer: string; proxyMode: string; images: readonly string[]; retain: boolean; log: (line: string) => void }): Promise<{ target: RunTarget; dataplane: OpenCluster['dataplane']; down: () => Promise<void> }> {
  const { name, proxyMode, log } = options;
  await loadHarnessImages.load(name, options.images, log);
  const target = { cluster: connect(options.kubeconfigPath), kubeconfigPath: options.kubeconfigPath, context: `kind-${name}`, server: options.apiServer };
  const version = await reachApi(target);
  const facts = await clusterFacts(target.cluster, { context: target.context, server: target.server, version });
  if (facts.proxyMode.mode !== proxyMode) {
    throw environmentError(`kind cluster ${name} runs ${facts.proxyMode.mode} (${facts.proxyMode.source}), not the ${proxyMode} asked for`, { where: '--kind-config', hint: 'leave networking.kubeProxyMode to the scenario\'s --proxy-mode' });
  }
  const inner = await existingProvider({ target, facts, allowClusterChaos: true, retain: options.retain }).open(proxyMode, log);
  // Everything as on an existing cluster (the prototype keeps its live getters), but external clients.
  const runTarget: RunTarget = Object.create(inner.target, {
    spawnClient: {
      value: (where: Parameters<RunTarget['spawnClient']>[0], argv: readonly string[]) =>
        where === 'external'
          ? spawnRelayContainer({ image: imageRef('load-driver'), network: outsideNetwork.name, argv, labels: { [ManagedByLabel]: managedByValue } })
          : inner.target.spawnClient(where, argv),
    },
    loadBalancerNodes: { value: (namespace: string, service: string) => kindLoadBalancerNodes(name, namespace, service) },
  }) as RunTarget;
  const dataplane = { implementation: 'kube-proxy', version: facts.kubernetesVersion, options: { mode: proxyMode, detectedFrom: facts.proxyMode.source }, kernel: { where: 'host' as const, release: release() } };
  return { target: runTarget, dataplane, down: inner.down };
}

/**
 * `--provider kind`: a kind cluster per proxy mode on the harness's own Docker engine and network,
 * made for the run (node image built here when none is given, the harness images loaded into the
 * nodes) and deleted after it. Once it is up it is used exactly as an existing cluster is: through
 * its API, clients as relay pods — except external clients, which run as containers on the outside
 * network behind the kind load balancer (kind/load-balancer.ts), as machines outside a cluster would.
 */
export function kindProvider(options: KindProviderOptions): ClusterProvider {
  return {
    unsupported: kindUnsupported,
    runUnsupported: (_mode, run) => kindRunUnsupported(run),
    async open(proxyMode, log): Promise<OpenCluster> {
      const engine = await useDockerEngine({ purpose: 'the kind provider', log, privileged: true });
      let name: string | undefined;
      // Until the cluster is handed over, Ctrl-C stops kind and waits for the removal below.
      const creating = new AbortController();
      let opened!: () => void;
      const settled = new Promise<void>((resolve) => (opened = resolve));
      const unregister = onInterrupt(async () => {
        creating.abort();
        await settled;
      });
      try {
        const removed = await removeOrphanedKindClusters(log);
        if (removed.length > 0) log(`removed kind clusters a crashed run left: ${removed.join(', ')}`);
        const node = await kindNodeImage({ log, ...(options.nodeImage ? { override: options.nodeImage } : {}) });
        const images = await loadHarnessImages.prepare({ goServers: options.goServers, log });
        await ensureHarnessNetwork();
        await ensureOutsidePath();
        name = kindClusterName(proxyMode);
        log(`creating kind cluster ${name} (${options.nodes} node(s), kube-proxy ${proxyMode}, image ${node.ref})`);
        const config = kindConfig({ proxyMode, nodes: options.nodes, needs: hostNeeds(), ...(options.userConfig ? { user: options.userConfig } : {}) });
        const clusterName = name;
        const kind = await createKindCluster({ name, proxyMode, nodes: options.nodes, image: node.ref, config, retained: options.retain, log, signal: creating.signal });
        log(`kind cluster ${name} Ready in ${(kind.createMs / 1000).toFixed(1)} s`);
        const { target: runTarget, dataplane } = await runOnKindCluster({ name: clusterName, kubeconfigPath: kind.kubeconfigPath, apiServer: kind.apiServer, proxyMode, images, retain: options.retain, log });
        return {
          name: `kind cluster ${clusterName}`,
          target: runTarget,
          dataplane,
          kind: { kindVersion: node.kindVersion, nodeImage: node.ref, name: clusterName, nodes: options.nodes, createMs: Math.round(kind.createMs) },
          kept: `kind cluster ${clusterName} kept: kth kind down --name ${clusterName} (kubeconfig ${kind.kubeconfigPath})`,
          // Once, however many ask: the run's own end and Ctrl-C's cleanup can both call it.
          down: once(async () => {
            if (options.retain) {
              await markRetained(clusterName);
              return;
            }
            await deleteKindCluster(clusterName, log);
            await engine.release();
          }),
        };
      } catch (error) {
        // A cluster that never came up is no use kept, even with --retain (kind removes its own failures too).
        if (name) await deleteKindCluster(name, log).catch(() => undefined);
        await engine.release();
        throw error;
      } finally {
        unregister();
        opened();
      }
    },
  };
}

/**
 * `--cluster <kind cluster>`: runs on a kind cluster the harness made and kept (`kth kind up`,
 * --retain), which stays up after them: images loaded where missing, a namespace per run removed
 * after it, one left by a crashed run removed first. The cluster is checked against the scenario
 * before anything is made (kept-cluster.ts).
 */
export function keptKindProvider(record: KindClusterRecord, options: { retain: boolean; goServers: boolean }): ClusterProvider {
  return {
    unsupported: async (mode) => (mode === record.proxyMode ? undefined : `kind cluster ${record.name} runs ${record.proxyMode}, not ${mode}`),
    runUnsupported: (_mode, run) => kindRunUnsupported(run),
    async open(proxyMode, log): Promise<OpenCluster> {
      const engine = await useDockerEngine({ purpose: 'the kind provider', log, privileged: true });
      try {
        const images = await loadHarnessImages.prepare({ goServers: options.goServers, log });
        const kubeconfigPath = kubeconfigPathOf(record.name);
        const apiServer = `https://${await containerIp(`${record.name}-control-plane`)}:6443`;
        const on = await runOnKindCluster({ name: record.name, kubeconfigPath, apiServer, proxyMode, images, retain: options.retain, log });
        for (const namespace of await removeOrphanedNamespaces(on.target.cluster, isAlive)) log(`removed namespace ${namespace}, left by a run on this host that did not finish`);
        const kindVersion = await kindRelease();
        return {
          name: `kind cluster ${record.name}`,
          target: on.target,
          dataplane: on.dataplane,
          kind: { kindVersion, nodeImage: record.image, name: record.name, nodes: record.nodes, kept: true },
          kept: `kind cluster ${record.name} stays up (it was there before the run)`,
          down: once(async () => {
            await on.down();
            await engine.release();
          }),
        };
      } catch (error) {
        await engine.release();
        throw error;
      }
    },
  };
}
