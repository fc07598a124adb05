import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { Log, type V1Pod } from '@kubernetes/client-node';
import type { Cluster } from '../../kube/cluster.ts';
import type { ClientProcess } from '../execute.ts';
import { decodeRelayFrames, eventsPath } from './relay-frames.ts';

/**
 * `kth <argv>` as a pod of a cluster reached only through its API: a `kth load relay` pod on the
 * node of the run's client pod, its output read back from the pod log (follow) and decoded into a
 * process-like object the engine uses as it uses a local one — stdout, stderr, the events file
 * written on this host, and the exit code. kill() deletes the pod; the relay turns the SIGTERM
 * into the load's Ctrl-C, so the partial result still comes back.
 */
export interface RelayPodOptions {
  cluster: Cluster;
  /** The run's client pod: the relay pod goes to its node, in its namespace, with its run label. */
  anchor: V1Pod;
  image: string;
  argv: readonly string[];
  log?: (line: string) => void;
  /** Longest wait for the pod to start (image pull included). */
  startTimeoutMs?: number;
  /** Told how long the pod took from creation to running (how far ahead later loads must start). */
  onStarted?: (ms: number) => void;
}

let sequence = 0;

/** The relay pod for `kth load <rest>`: the image's entrypoint is `kth load`, so args start at `relay`. */
export function relayPod(options: { name: string; anchor: V1Pod; image: string; argv: readonly string[] }): V1Pod {
  const [command, ...rest] = options.argv;
  if (command !== 'load') throw new Error(`a relay pod runs kth load …, not kth ${command}`);
  const labels = { ...(options.anchor.metadata?.labels ?? {}), app: 'kth-load' };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: options.name, namespace: options.anchor.metadata?.namespace, labels },
    spec: {
      ...(options.anchor.spec?.nodeName ? { nodeName: options.anchor.spec.nodeName } : {}),
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 30,
      containers: [{ name: 'load', image: options.image, args: ['relay', '--', ...rest] }],
    },
  };
}

/** A pod's first container never started: the runtime's waiting reason says it never will, or time ran out. */
export class PodStartError extends Error {
  constructor(message: string, readonly reason: string, readonly detail: string) {
    super(message);
    this.name = 'PodStartError';
  }
}

/** Waits until the pod's first container runs or has run; fails at once on a waiting reason it cannot leave (a pull error). */
export async function waitContainerStarted(cluster: Cluster, namespace: string, name: string, timeoutMs: number, signal?: AbortSignal): Promise<V1Pod> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pod = await cluster.core.readNamespacedPod({ name, namespace });
    const status = pod.status?.containerStatuses?.[0];
    if (status?.state?.running || status?.state?.terminated) return pod;
    const waiting = status?.state?.waiting;
    const reason = waiting?.reason ?? '';
    if (['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'CreateContainerError', 'CreateContainerConfigError'].includes(reason)) {
      throw new PodStartError(`pod ${namespace}/${name} cannot start: ${reason}: ${waiting?.message ?? ''}`, reason, waiting?.message ?? '');
    }
    if (signal?.aborted) throw new Error(`interrupted before pod ${namespace}/${name} started`);
    if (Date.now() > deadline) throw new PodStartError(`pod ${namespace}/${name} did not start within ${Math.round(timeoutMs / 1000)} s (${reason || pod.status?.phase || 'pending'})`, reason || 'Pending', '');
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

export function spawnRelayPod(options: RelayPodOptions): ClientProcess {
  const { cluster, anchor } = options;
  const namespace = anchor.metadata?.namespace as string;
  const name = `kth-load-${process.pid.toString(36)}-${(sequence++).toString(36)}`;
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const emitter = new EventEmitter();
  const stopped = new AbortController();
  const remove = (grace: number) => cluster.core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: grace }).catch(() => undefined);

  const run = async (): Promise<number> => {
    const created = performance.now();
    await cluster.core.createNamespacedPod({ namespace, body: relayPod({ name, anchor, image: options.image, argv: options.argv }) });
    const pod = await waitContainerStarted(cluster, namespace, name, options.startTimeoutMs ?? 120_000, stopped.signal);
    options.onStarted?.(performance.now() - created);
    const logStream = new PassThrough();
    const decoded = decodeRelayFrames(logStream, { stdout, stderr, eventsFile: eventsPath(options.argv) });
    await new Log(cluster.kubeconfig).log(namespace, name, 'load', logStream, { follow: true });
    const exit = await decoded;
    if (exit !== undefined) return exit ?? 1;
    // No exit frame: the log ended early (the pod was killed, or its log was cut). Say what the pod says.
    const final = await cluster.core.readNamespacedPod({ name, namespace }).catch(() => pod);
    const terminated = final.status?.containerStatuses?.[0]?.state?.terminated;
    stderr.write(`the load pod ${namespace}/${name} ended without reporting its exit (${terminated ? `exit ${terminated.exitCode}${terminated.reason ? `, ${terminated.reason}` : ''}` : 'still running'}): its log is incomplete\n`);
    return terminated?.exitCode || 1;
  };

  void run()
    .catch((error: Error) => {
      stderr.write(`${error.message}\n`);
      return 1;
    })
    .then(async (code) => {
      await remove(0);
      stdout.end();
      stderr.end();
      emitter.emit('close', code);
    });

  return {
    stdout,
    stderr,
    kill() {
      stopped.abort();
      // The relay inside turns SIGTERM into the load's Ctrl-C and reports what it measured.
      void remove(30);
      return true;
    },
    once(event, listener) {
      emitter.once(event, listener);
      return this;
    },
  };
}
