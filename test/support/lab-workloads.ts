import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { V1Pod } from '@kubernetes/client-node';
import { apply, type Cluster, watchUntil } from '../../harness/kube/cluster.ts';
import { labNames } from '../../harness/lab/names.ts';

const exec = promisify(execFile);

/** A pod that only sleeps: the place in-cluster clients run from (its own netns, a pod IP). */
export async function startClientPod(cluster: Cluster, namespace: string, name: string, nodeName?: string): Promise<V1Pod> {
  await apply(cluster, [{
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      ...(nodeName ? { nodeName } : {}),
      terminationGracePeriodSeconds: 0,
      containers: [{ name: 'client', image: 'debian:bookworm', command: ['sleep', '3600'] }],
    },
  } as V1Pod]);
  return await waitForPodReady(cluster, namespace, name);
}

export async function waitForPodReady(cluster: Cluster, namespace: string, name: string, timeoutMs = 30_000): Promise<V1Pod> {
  const all = await watchUntil<V1Pod>(cluster, `/api/v1/namespaces/${namespace}/pods`, { fieldSelector: `metadata.name=${name}` }, (pods) => {
    const pod = pods.get(`${namespace}/${name}`);
    const ready = pod?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    return ready ? true : `phase ${pod?.status?.phase ?? 'none'}`;
  }, timeoutMs, `pod ${namespace}/${name} Ready`);
  return all.get(`${namespace}/${name}`) as V1Pod;
}

/** The network namespace the lab agent made for a pod. */
export function podNetns(lab: string, pod: V1Pod): string {
  return `${labNames(lab).podNetnsPrefix}${(pod.metadata?.uid ?? '').replaceAll('-', '').slice(0, 8)}`;
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
