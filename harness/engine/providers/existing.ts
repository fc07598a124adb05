import { spawn } from 'node:child_process';
import { repoRoot } from '../../core/paths.ts';
import { type ClusterFacts } from '../../existing/facts.ts';
import type { ExistingTarget } from '../../existing/connect.ts';
import { prefixedImageRef } from '../../workloads/image/names.ts';
import { type ClientProcess, type RunTarget } from '../execute.ts';
import type { ChaosSpec } from '../types.ts';
import type { ClusterProvider, OpenCluster } from './provider.ts';
import { spawnRelayPod } from './relay-pod.ts';
import { runNamespaces } from './run-namespaces.ts';

/**
 * Load pods start ahead of their shared start time by three times the slowest start seen so far
 * (scheduling, an image pull, the runtime; the run's settle pods, one per client node, are the first
 * measured), and never by less than this.
 */
export const MIN_CLIENT_LEAD_MS = 5000;

/** Chaos an existing cluster takes: what stays inside the run's namespace, and node drains when allowed. */
export function existingChaosUnsupported(chaos: readonly ChaosSpec[], allowClusterChaos: boolean): string | undefined {
  for (const action of chaos) {
    switch (action.action) {
      case 'scale':
      case 'rollout-restart':
      case 'rollout':
      case 'delete-pod':
      case 'readiness-flip':
        continue;
      case 'node-drain':
      case 'node-uncordon':
        if (allowClusterChaos) continue;
        return `chaos action ${action.action} changes a node others use: pass --allow-cluster-chaos to allow it (it is undone at the end of the run)`;
      case 'kill-process':
        return 'chaos action kill-process needs exec into the pod, which this provider does not use: use delete-pod (graceful) instead';
      default:
        return `chaos action ${action.action} needs control of the nodes' processes or network, which only the lab has`;
    }
  }
  return undefined;
}

export interface ExistingProviderOptions {
  target: ExistingTarget;
  facts: ClusterFacts;
  /** Registry prefix of the harness images (`--image-prefix`); none: the images' own names. */
  imagePrefix?: string;
  allowClusterChaos: boolean;
  retain: boolean;
}

/**
 * `--provider existing`: any cluster a kubeconfig reaches, used through its API alone. Each run
 * gets a namespace of its own, labelled with this host and process (so a later start removes what
 * a crashed one left), deleted after the run unless --retain. In-cluster clients are `kth load relay`
 * pods whose results come back through their logs; external clients run on this machine.
 */
export function existingProvider(options: ExistingProviderOptions): ClusterProvider {
  const { target, facts } = options;
  return {
    async unsupported(proxyMode) {
      return proxyMode === facts.proxyMode.mode ? undefined : `the cluster runs ${facts.proxyMode.mode} (${facts.proxyMode.source}), not ${proxyMode}`;
    },
    runUnsupported: (_mode, run) => existingChaosUnsupported(run.chaos.map((c) => c.spec), options.allowClusterChaos),
    async open(proxyMode, log): Promise<OpenCluster> {
      const namespaces = runNamespaces(target.cluster, { retain: options.retain, log });
      const cluster = target.cluster;
      let slowestStartMs = 0;
      const runTarget: RunTarget = {
        cluster,
        // Load pods are scheduled (and their image pulled) before their shared start time.
        get clientLeadMs() {
          return Math.max(MIN_CLIENT_LEAD_MS, Math.ceil(3 * slowestStartMs));
        },
        ...(options.imagePrefix ? { imagePrefix: options.imagePrefix } : {}),
        namespaceFor: namespaces.namespaceFor,
        release: namespaces.release,
        spawnClient(where, argv): ClientProcess {
          // Outside the cluster is this machine: where a user's own external clients would be.
          if (where === 'external') return spawn(process.execPath, [`${repoRoot}/harness/bin/kth.mjs`, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
          return spawnRelayPod({ cluster, anchor: where.pod, image: prefixedImageRef('load-driver', options.imagePrefix), argv, onStarted: (ms) => (slowestStartMs = Math.max(slowestStartMs, ms)) });
        },
        async killProcess() {
          throw new Error('kill-process is not available on an existing cluster');
        },
      };
      return {
        name: `context ${target.context}`,
        target: runTarget,
        dataplane: { implementation: proxyMode === 'cilium' ? 'cilium' : 'kube-proxy', version: proxyMode === 'cilium' ? 'unknown' : facts.kubernetesVersion, options: { mode: proxyMode, detectedFrom: facts.proxyMode.source } },
        kept: `namespaces kept on context ${target.context}: ${namespaces.names().join(', ') || 'none'}`,
        down: namespaces.removeAll,
      };
    },
  };
}
