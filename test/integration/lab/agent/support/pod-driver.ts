/**
 * Runs the agent's pod runtime inside a node network namespace with a stand-in for the API
 * server, so integration tests exercise real pods (namespaces, veths, processes, probes from the
 * node, termination) without a control plane. Started by pod-driver-client.ts as
 *   ip netns exec <node> node --import tsx pod-driver.ts
 * Commands arrive as JSON lines on stdin; everything the runtime tells the "API" (status
 * patches, events, the final delete) goes out as JSON lines on stdout.
 */
import { createInterface } from 'node:readline';
import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';
import { CrashLoopBackoff } from '../../../../../harness/lab/agent/backoff.ts';
import { resolveNetnsMountControl } from '../../../../../harness/lab/agent/host-mount-ns.ts';
import { PodRuntime } from '../../../../../harness/lab/agent/runtime.ts';
import type { PodEvent, PodSink } from '../../../../../harness/lab/agent/sink.ts';
import { kubeletConditionTypes } from '../../../../../harness/lab/agent/status.ts';

export interface DriverConfig {
  nodeName: string;
  nodeIp: string;
  labName: string;
  stateDir: string;
  podCidr: string;
  podNetnsPrefix: string;
  repoRoot: string;
  backoffBaseMs: number;
  configMaps?: Record<string, Record<string, string>>;
}

export type DriverCommand = { op: 'apply'; pod: V1Pod } | { op: 'delete'; uid: string; grace: number } | { op: 'detach' };

export type DriverRecord =
  | { type: 'ready'; mounts: string }
  | { type: 'status'; uid: string; at: number; status: V1PodStatus }
  | { type: 'event'; uid: string; at: number; event: PodEvent }
  | { type: 'finalDelete'; uid: string; at: number }
  | { type: 'forceDeleted'; uid: string; at: number }
  | { type: 'log'; at: number; line: string }
  | { type: 'detached' };

const config = JSON.parse(process.env.KTH_DRIVER_CONFIG ?? '{}') as DriverConfig;
const out = (record: DriverRecord) => process.stdout.write(`${JSON.stringify(record)}\n`);
const pods = new Map<string, V1Pod>();
let version = 1;
let runtime: PodRuntime;

const owned = new Set<string>(kubeletConditionTypes);
const echo = (pod: V1Pod) => setImmediate(() => runtime.upsert(structuredClone(pod)));

const sink: PodSink = {
  async patchStatus(pod, status) {
    const current = pods.get(pod.metadata?.uid ?? '');
    if (!current) return { result: 'gone' };
    const wire = JSON.parse(JSON.stringify(status)) as V1PodStatus;
    current.status = {
      ...wire,
      conditions: [...(current.status?.conditions ?? []).filter((c) => !owned.has(c.type)), ...(wire.conditions ?? []).filter((c) => owned.has(c.type))],
    };
    current.metadata = { ...current.metadata, resourceVersion: String((version += 1)) };
    out({ type: 'status', uid: current.metadata.uid ?? '', at: Date.now(), status: current.status });
    echo(current);
    return { result: 'ok' };
  },
  async finalDelete(pod) {
    const uid = pod.metadata?.uid ?? '';
    const current = pods.get(uid);
    if (!current) return;
    pods.delete(uid);
    out({ type: 'finalDelete', uid, at: Date.now() });
    setImmediate(() => runtime.remove(current));
  },
  event(pod, event) {
    out({ type: 'event', uid: pod.metadata?.uid ?? '', at: Date.now(), event });
  },
  lookups: {
    configMap: async (_namespace, name) => config.configMaps?.[name],
    secret: async () => undefined,
  },
};

async function main() {
  const mounts = resolveNetnsMountControl();
  runtime = await PodRuntime.create(
    {
      nodeName: config.nodeName,
      nodeIp: config.nodeIp,
      labName: config.labName,
      stateDir: config.stateDir,
      podNetnsPrefix: config.podNetnsPrefix,
      image: { repoRoot: config.repoRoot, nodeExecPath: process.execPath, harnessVersion: 'test' },
      net: { netnsCommandPrefix: mounts.prefix },
      backoff: new CrashLoopBackoff({ baseMs: config.backoffBaseMs, maxMs: 60_000 }),
      sink,
      baseEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' },
      nodeAllocatable: { cpu: 4, memory: 8 * 2 ** 30 },
      log: (line) => out({ type: 'log', at: Date.now(), line }),
    },
    config.podCidr,
  );
  out({ type: 'ready', mounts: mounts.describe });
  let synced = false;
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    const command = JSON.parse(line) as DriverCommand;
    if (command.op === 'apply') {
      const pod = command.pod;
      pod.metadata = { ...pod.metadata, resourceVersion: String((version += 1)) };
      pods.set(pod.metadata.uid ?? '', pod);
      runtime.upsert(structuredClone(pod));
      if (!synced) {
        // The first apply plays the informer's initial list: what is not here is an orphan.
        synced = true;
        await runtime.collectOrphans();
      }
    } else if (command.op === 'delete') {
      const pod = pods.get(command.uid);
      if (!pod) continue;
      if (command.grace === 0) {
        // The API server removes a pod deleted with grace 0 at once; the agent sees a DELETE.
        pods.delete(command.uid);
        out({ type: 'forceDeleted', uid: command.uid, at: Date.now() });
        runtime.remove(pod);
      } else {
        pod.metadata = {
          ...pod.metadata,
          deletionTimestamp: new Date(Date.now() + command.grace * 1000),
          deletionGracePeriodSeconds: command.grace,
          resourceVersion: String((version += 1)),
        };
        runtime.upsert(structuredClone(pod));
      }
    } else if (command.op === 'detach') {
      await runtime.detach();
      mounts.close();
      out({ type: 'detached' });
      process.exit(0);
    }
  }
}

main().catch((error: Error) => {
  out({ type: 'log', at: Date.now(), line: `driver failed: ${error.stack ?? error.message}` });
  process.exit(1);
});
