import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { V1Pod } from '@kubernetes/client-node';
import { apply, type Cluster, waitForPodReady } from '../../harness/kube/cluster.ts';
import { clientPod } from '../../manifests/client-pod.ts';
import { labNames } from '../../harness/lab/names.ts';
import { labKthEntry, labRunner } from '../../harness/lab/guest/lab-guest.ts';
import type { LabSpec } from '../../harness/lab/spec.ts';

const exec = promisify(execFile);

/** A sleeping client pod, Ready: the place in-cluster clients run from. */
export async function startClientPod(cluster: Cluster, namespace: string, name: string, nodeName?: string): Promise<V1Pod> {
  await apply(cluster, [clientPod({ name, namespace, ...(nodeName ? { nodeName } : {}) })]);
  return await waitForPodReady(cluster, namespace, name);
}

/** The network namespace the lab agent made for a pod. */
export function podNetns(lab: string, pod: V1Pod): string {
  return labNames(lab).podNetns(pod.metadata?.uid ?? '');
}

/** Runs `kth load …` inside a namespace and returns its --json run. */
export async function loadFrom<T = LoadRun>(netns: string, args: readonly string[], timeoutMs = 120_000): Promise<T> {
  const { stdout } = await exec('ip', ['netns', 'exec', netns, process.execPath, 'harness/bin/kth.mjs', 'load', ...args, '--json'], { timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 });
  return JSON.parse(stdout) as T;
}

export interface LoadRun {
  pods: { name: string; node: string; ip: string; requests: number; connections: number; share: number; errors: number }[];
  totals: { requests: number; attributed: number; errors: number; serverCounted: number | null };
  errors: { total: number; byKind: Record<string, number> };
  metrics: { jainIndex: number | null; maxMinRatio: number | null; chiSquareP: number | null; chiSquareUnit?: string };
}

export async function inNetns(netns: string, argv: readonly string[]): Promise<string> {
  const { stdout } = await exec('ip', ['netns', 'exec', netns, ...argv], { maxBuffer: 32 * 1024 * 1024 });
  return stdout;
}

/** Runs `argv` inside one of a lab's namespaces, on the kernel its nodes live on (the host's or its guest's). */
export async function inLabNetns(spec: LabSpec, netns: string, argv: readonly string[], timeoutMs = 120_000): Promise<string> {
  const result = await labRunner(spec)(['ip', 'netns', 'exec', netns, ...argv], { timeoutMs, purpose: `run ${argv[0]} in ${netns}` });
  return result.stdout;
}

/** `kth load … --json` inside one of a lab's namespaces, wherever its nodes' kernel is. */
export async function loadInLab<T = LoadRun>(spec: LabSpec, netns: string, args: readonly string[], timeoutMs = 120_000): Promise<T> {
  return JSON.parse(await inLabNetns(spec, netns, [process.execPath, labKthEntry(spec), 'load', ...args, '--json'], timeoutMs)) as T;
}
