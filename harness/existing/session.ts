import { randomBytes } from 'node:crypto';
import { badInput, environmentError } from '../core/errors.ts';
import { ensureNamespace } from '../kube/cluster.ts';
import { isAlive } from '../lab/processes.ts';
import { ManagedByLabel, managedByValue } from '../../manifests/names.ts';
import { prefixedImageRef } from '../workloads/image/names.ts';
import type { ProxyMode } from '../engine/types.ts';
import { hostLabelValue, ownerHostLabel, ownerPidLabel, removeOrphanedNamespaces } from '../engine/providers/run-namespaces.ts';
import { checkPermissions, type ExistingTarget, loadTarget, reachApi } from './connect.ts';
import { type ClusterFacts, clusterFacts } from './facts.ts';
import { PodStartError, waitContainerStarted } from '../engine/providers/relay-pod.ts';

/**
 * Everything checked before a run touches a cluster it does not own, in the order that fails
 * fastest: the kubeconfig and context (exit 2), the API answering, what the cluster is, the
 * permissions, leftovers of this host's crashed runs, and — last, because it creates a pod — that
 * the harness image can be pulled there.
 */
export interface ExistingSession {
  target: ExistingTarget;
  facts: ClusterFacts;
  /** The proxy modes to run: the one the cluster runs. */
  proxyModes: ProxyMode[];
}

const knownModes: readonly string[] = ['iptables', 'nftables', 'ipvs', 'cilium'];

/**
 * The runs' proxy mode on this cluster. `detected` (or none given) takes the cluster's; a mode the
 * cluster does not run is refused; when the cluster does not say, the user states it.
 */
export function existingProxyModes(facts: ClusterFacts, requested: readonly string[] | 'detected' | undefined, scenarioModes: readonly string[]): ProxyMode[] {
  const detected = facts.proxyMode.mode;
  if (!knownModes.includes(detected)) {
    if (Array.isArray(requested) && requested.length === 1) {
      facts.proxyMode = { mode: requested[0] as string, source: `stated by --proxy-mode (the cluster does not say: ${facts.proxyMode.source})` };
      return [...requested] as ProxyMode[];
    }
    throw badInput(`the cluster's proxy mode is unknown (${facts.proxyMode.source})`, { where: '--proxy-mode', hint: 'state it: --proxy-mode iptables (or nftables, ipvs, cilium)' });
  }
  if (requested === 'detected') return [detected as ProxyMode];
  const wanted = requested ?? scenarioModes;
  if (!wanted.includes(detected)) {
    throw badInput(`the scenario runs in ${wanted.join(', ')}, but the cluster runs ${detected} (${facts.proxyMode.source})`, {
      where: requested ? '--proxy-mode' : 'scenario proxyModes',
      hint: `run it in the cluster's mode with --proxy-mode detected (the report records ${detected}), or use a cluster in ${wanted.join(' or ')}`,
    });
  }
  return [detected as ProxyMode];
}

/** Starts a pod of the load image and waits until it ran (or the runtime says it cannot pull it). */
async function checkImage(target: ExistingTarget, image: string, timeoutMs: number): Promise<void> {
  const namespace = `kth-preflight-${randomBytes(3).toString('hex')}`;
  const { cluster } = target;
  await ensureNamespace(cluster, namespace, { [ManagedByLabel]: managedByValue, [ownerHostLabel]: hostLabelValue(), [ownerPidLabel]: String(process.pid) });
  try {
    await cluster.core.createNamespacedPod({ namespace, body: { metadata: { name: 'image-check' }, spec: { restartPolicy: 'Never', containers: [{ name: 'load', image, args: ['--help'] }] } } });
    await waitContainerStarted(cluster, namespace, 'image-check', timeoutMs).catch((error: unknown) => {
      if (!(error instanceof PodStartError)) throw error;
      throw environmentError(`the cluster cannot start the harness image ${image}: ${error.reason}${error.detail ? `: ${error.detail}` : ` (not started within ${timeoutMs / 1000} s)`}`, {
        where: '--image-prefix',
        hint: 'build and push the images (kth existing images --prefix <registry/path> --push), then pass --image-prefix <registry/path> where the cluster pulls them',
      });
    });
  } finally {
    await cluster.core.deleteNamespace({ name: namespace }).catch(() => undefined);
  }
}

export async function openExistingSession(options: {
  kubeconfig?: string;
  context?: string;
  proxyModes: readonly string[] | 'detected' | undefined;
  scenarioModes: readonly string[];
  imagePrefix?: string;
  needs: { drain: boolean; pdb: boolean };
  log: (line: string) => void;
}): Promise<ExistingSession> {
  const target = loadTarget(options);
  const version = await reachApi(target);
  await checkPermissions(target, 'kth-permission-check', options.needs);
  const facts = await clusterFacts(target.cluster, { context: target.context, server: target.server, version });
  const proxyModes = existingProxyModes(facts, options.proxyModes, options.scenarioModes);
  options.log(`cluster: context ${target.context}, Kubernetes ${version}, ${facts.nodes} node(s), proxy mode ${facts.proxyMode.mode} (${facts.proxyMode.source})`);
  for (const name of await removeOrphanedNamespaces(target.cluster, isAlive)) options.log(`removed namespace ${name}, left by a run on this host that did not finish`);
  const image = prefixedImageRef('load-driver', options.imagePrefix);
  await checkImage(target, image, 120_000);
  options.log(`cluster: the harness image ${image} starts there`);
  return { target, facts, proxyModes };
}
