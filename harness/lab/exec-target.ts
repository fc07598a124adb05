import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { badInput } from '../core/errors.ts';
import { inCiliumNode } from './dataplane/cilium.ts';
import { readSpec } from './lab.ts';
import { labLayout } from './layout.ts';
import { labNames } from './names.ts';
import { listNetns } from './netns.ts';

/**
 * Maps what a person calls a place in the lab to its network namespace: `n2` or `<lab>-node-2`,
 * `client`, `lb`, `cp`, or a pod as `<namespace>/<name>` (looked up through the API server).
 */
export async function resolveExecTarget(lab: string, target: string): Promise<string> {
  const names = labNames(lab);
  const existing = await listNetns();
  const direct = /^n\d+$|^client$|^lb$|^cp$/.test(target) ? names.netns(target as 'client') : undefined;
  const node = /^.+-node-(\d+)$/.exec(target);
  let netns = direct ?? (node ? names.nodeNetns(Number(node[1])) : undefined);
  if (!netns && target.includes('/')) {
    const [namespace, name] = target.split('/') as [string, string];
    const kc = new KubeConfig();
    kc.loadFromFile(labLayout(lab).kubeconfig);
    const pod = await kc.makeApiClient(CoreV1Api).readNamespacedPod({ name, namespace });
    netns = names.podNetns(pod.metadata?.uid ?? '');
  }
  if (!netns || !existing.includes(netns)) {
    throw badInput(`'${target}' is not a place in lab ${lab}`, {
      where: 'kth lab exec',
      hint: `use n1…nK, <lab>-node-K, client, lb, cp, or <namespace>/<pod>; namespaces of this lab: ${existing.filter((n) => n.startsWith(names.netnsPrefix)).join(', ') || 'none'}`,
    });
  }
  return netns;
}

/**
 * The argv that runs `command` at `target`: inside its network namespace, and for a node of a
 * cilium lab inside the node's sandbox too (where `cilium-dbg` reaches its agent and bpftool sees
 * the node's bpffs).
 */
export async function execArgv(lab: string, target: string, command: readonly string[]): Promise<string[]> {
  const netns = await resolveExecTarget(lab, target);
  const node = /-n(\d+)$/.exec(netns);
  if (node && (await readSpec(lab))?.proxyMode === 'cilium') return inCiliumNode(lab, Number(node[1]), command);
  return ['ip', 'netns', 'exec', netns, ...command];
}
