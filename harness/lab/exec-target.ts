import { spawnSync } from 'node:child_process';
import { constants } from 'node:os';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { badInput } from '../core/errors.ts';
import { inCiliumNode } from './dataplane/cilium.ts';
import { guestSpawn } from './guest/client.ts';
import { guestAddress, labEnvironment, labRunner } from './guest/lab-guest.ts';
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
  const spec = await readSpec(lab);
  // The control plane is always on the host; everything else is where the lab's nodes are.
  const existing = [...new Set([...(await listNetns()), ...(spec?.guest ? await listNetns(labRunner(spec)) : [])])];
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
async function execArgv(lab: string, target: string, command: readonly string[]): Promise<string[]> {
  const netns = await resolveExecTarget(lab, target);
  const node = /-n(\d+)$/.exec(netns);
  if (node && (await readSpec(lab))?.proxyMode === 'cilium') return inCiliumNode(lab, Number(node[1]), command);
  return ['ip', 'netns', 'exec', netns, ...command];
}

/**
 * Runs `command` at `target` with this process's stdio, on the host or in the lab's guest (through
 * its daemon, stdin included); resolves with the exit status a shell would report.
 */
export async function execInLab(lab: string, target: string, command: readonly string[]): Promise<number> {
  const argv = await execArgv(lab, target, command);
  const spec = await readSpec(lab);
  if (!spec?.guest || target === 'cp') return spawnSync(argv[0] as string, argv.slice(1), { stdio: 'inherit' }).status ?? 1;
  const child = guestSpawn(guestAddress(spec, 10_000), { argv, env: labEnvironment(), stdin: true });
  process.stdin.pipe(child.stdin);
  child.stdout.pipe(process.stdout);
  child.stderr.pipe(process.stderr);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('close', (c: number | null, s: NodeJS.Signals | null) => resolve([c, s])));
  process.stdin.unpipe(child.stdin);
  process.stdin.destroy();
  return code ?? 128 + (signal ? (constants.signals[signal] ?? 9) : 9);
}
