import type { V1ContainerState, V1ContainerStatus, V1Pod, V1PodCondition, V1PodStatus } from '@kubernetes/client-node';
import { podMessageCap, truncateUtf8 } from './termination-message.ts';

/**
 * Pod status computed the way the kubelet computes it (pkg/kubelet/kubelet_pods.go getPhase,
 * generateAPIPodStatus and pkg/kubelet/status/generate.go), from plain data: the pod as the API
 * has it and what the agent knows about its containers. Pure, so it is unit-tested on data.
 */

export type RuntimeContainerState =
  | { kind: 'waiting'; reason: string; message?: string }
  | { kind: 'running'; startedAt: Date }
  | {
      kind: 'terminated';
      exitCode: number;
      signal?: number;
      reason: string;
      message?: string;
      startedAt?: Date;
      finishedAt: Date;
    };

export type TerminatedState = Extract<RuntimeContainerState, { kind: 'terminated' }>;

export interface RuntimeContainer {
  name: string;
  /** `kth-lab://<pid>` of the current (or last) process; undefined until one started. */
  containerId?: string;
  /** The previous instance's ID while the container waits to restart. */
  lastContainerId?: string;
  imageId?: string;
  /** undefined: nothing started yet (the default waiting state applies). */
  state?: RuntimeContainerState;
  lastTerminated?: TerminatedState;
  restartCount: number;
  /** Readiness: the readiness probe's result (true without a probe once running and started). */
  ready: boolean;
  /** Started: the startup probe passed (true without one once running). */
  started: boolean;
}

export interface RuntimePod {
  hostIp: string;
  podIp?: string;
  startTime?: Date;
  /** The sandbox (netns, veth, address) exists: PodReadyToStartContainers. */
  sandboxReady: boolean;
  initContainers: RuntimeContainer[];
  containers: RuntimeContainer[];
  /** The pod is done for good (deleted and stopped, or completed): no container will run again. */
  terminal: boolean;
  /** Pod-level failure (status.reason / status.message), e.g. a container the lab cannot run. */
  failure?: { reason: string; message: string };
}

/** The condition types the kubelet owns; others (PodScheduled, readiness gates…) are left alone. */
export const kubeletConditionTypes = ['PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready'] as const;

const isRestartableInit = (pod: V1Pod, name: string): boolean =>
  pod.spec?.initContainers?.find((c) => c.name === name)?.restartPolicy === 'Always';

/** The pod phase, exactly as the kubelet's getPhase derives it from container statuses. */
export function podPhase(pod: V1Pod, init: readonly V1ContainerStatus[], regular: readonly V1ContainerStatus[], podIsTerminal: boolean): string {
  const restartPolicy = pod.spec?.restartPolicy ?? 'Always';
  let pendingRegularInit = 0;
  let pendingRestartableInit = 0;
  let failedInitialization = 0;
  for (const container of pod.spec?.initContainers ?? []) {
    if (container.restartPolicy === 'Always') continue;
    const status = init.find((s) => s.name === container.name);
    if (!status) {
      pendingRegularInit += 1;
      continue;
    }
    if (status.state?.running) pendingRegularInit += 1;
    else if (status.state?.terminated) {
      if (status.state.terminated.exitCode !== 0) failedInitialization += 1;
    } else if (status.state?.waiting) {
      if (status.lastState?.terminated) {
        if (status.lastState.terminated.exitCode !== 0) failedInitialization += 1;
      } else pendingRegularInit += 1;
    } else pendingRegularInit += 1;
  }

  let unknown = 0;
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const container of pod.spec?.initContainers ?? []) {
    if (container.restartPolicy !== 'Always') continue;
    const status = init.find((s) => s.name === container.name);
    if (!status) {
      unknown += 1;
      continue;
    }
    if (status.state?.running) {
      if (!status.started) pendingRestartableInit += 1;
      running += 1;
    } else if (status.state?.terminated) {
      // terminated sidecars do not decide the phase
    } else if (status.state?.waiting) {
      if (!status.lastState?.terminated) {
        pendingRestartableInit += 1;
        waiting += 1;
      }
    } else {
      pendingRestartableInit += 1;
      unknown += 1;
    }
  }
  for (const container of pod.spec?.containers ?? []) {
    const status = regular.find((s) => s.name === container.name);
    if (!status) {
      unknown += 1;
      continue;
    }
    if (status.state?.running) running += 1;
    else if (status.state?.terminated) {
      stopped += 1;
      if (status.state.terminated.exitCode === 0) succeeded += 1;
    } else if (status.state?.waiting) {
      if (status.lastState?.terminated) stopped += 1;
      else waiting += 1;
    } else unknown += 1;
  }

  if (failedInitialization > 0 && restartPolicy === 'Never') return 'Failed';
  if (pendingRegularInit > 0 || pendingRestartableInit > 0) return 'Pending';
  if (waiting > 0) return 'Pending';
  if (running > 0 && unknown === 0) return 'Running';
  if (running === 0 && stopped > 0 && unknown === 0) {
    if (podIsTerminal) return stopped === succeeded ? 'Succeeded' : 'Failed';
    if (restartPolicy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (restartPolicy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

function toApiState(state: RuntimeContainerState | undefined, containerId: string | undefined, defaultWaiting: string, messageCap: number): V1ContainerState {
  if (!state) return { waiting: { reason: defaultWaiting } };
  switch (state.kind) {
    case 'waiting':
      return { waiting: { reason: state.reason, ...(state.message ? { message: state.message } : {}) } };
    case 'running':
      return { running: { startedAt: state.startedAt } };
    case 'terminated':
      return { terminated: terminatedToApi(state, containerId, messageCap) };
  }
}

function terminatedToApi(state: TerminatedState, containerId: string | undefined, messageCap: number): NonNullable<V1ContainerState['terminated']> {
  return {
    exitCode: state.exitCode,
    ...(state.signal ? { signal: state.signal } : {}),
    reason: state.reason,
    ...(state.message ? { message: truncateUtf8(state.message, messageCap) } : {}),
    ...(state.startedAt ? { startedAt: state.startedAt } : {}),
    finishedAt: state.finishedAt,
    ...(containerId ? { containerID: containerId } : {}),
  };
}

function containerStatus(spec: { name: string; image?: string }, runtime: RuntimeContainer | undefined, defaultWaiting: string, messageCap: number): V1ContainerStatus {
  const state = toApiState(runtime?.state, runtime?.containerId, defaultWaiting, messageCap);
  const running = runtime?.state?.kind === 'running';
  const status: V1ContainerStatus = {
    name: spec.name,
    image: spec.image ?? '',
    imageID: runtime?.imageId ?? '',
    ready: running && (runtime?.ready ?? false),
    started: running && (runtime?.started ?? false),
    restartCount: runtime?.restartCount ?? 0,
    state,
    lastState: runtime?.lastTerminated ? { terminated: terminatedToApi(runtime.lastTerminated, runtime.lastContainerId, messageCap) } : {},
  };
  if (runtime?.containerId) status.containerID = runtime.containerId;
  return status;
}

/**
 * The full status the kubelet would write. `previous` is the pod's current status in the API:
 * conditions keep their lastTransitionTime while their status does not change, and startTime
 * never moves once set.
 */
export function computePodStatus(pod: V1Pod, runtime: RuntimePod, now: Date): V1PodStatus {
  const previous = pod.status ?? {};
  const hasInit = (pod.spec?.initContainers ?? []).length > 0;
  const defaultWaiting = hasInit ? 'PodInitializing' : 'ContainerCreating';
  // Termination messages share 12 KiB per pod, split evenly (the kubelet's status manager does this).
  const messageCap = podMessageCap((pod.spec?.initContainers ?? []).length + (pod.spec?.containers ?? []).length);
  const initStatuses = (pod.spec?.initContainers ?? []).map((c) => containerStatus(c, runtime.initContainers.find((r) => r.name === c.name), defaultWaiting, messageCap));
  const statuses = (pod.spec?.containers ?? []).map((c) => containerStatus(c, runtime.containers.find((r) => r.name === c.name), defaultWaiting, messageCap));

  let phase = podPhase(pod, initStatuses, statuses, runtime.terminal);
  // A pod the agent cannot run and will not retry is Failed; a terminal phase never goes back.
  if (runtime.failure && runtime.terminal) phase = 'Failed';
  if (previous.phase === 'Succeeded' || previous.phase === 'Failed') phase = previous.phase;

  const conditions = podConditions(pod, runtime, initStatuses, statuses, phase, now);
  const status: V1PodStatus = {
    phase,
    conditions,
    hostIP: runtime.hostIp,
    hostIPs: [{ ip: runtime.hostIp }],
    initContainerStatuses: initStatuses,
    containerStatuses: statuses,
  };
  if (runtime.podIp) {
    status.podIP = runtime.podIp;
    status.podIPs = [{ ip: runtime.podIp }];
  }
  const startTime = previous.startTime ?? runtime.startTime;
  if (startTime) status.startTime = startTime;
  if (runtime.failure) {
    status.reason = runtime.failure.reason;
    status.message = runtime.failure.message;
  }
  if (pod.status?.qosClass) status.qosClass = pod.status.qosClass;
  return status;
}

function podConditions(
  pod: V1Pod,
  runtime: RuntimePod,
  init: V1ContainerStatus[],
  regular: V1ContainerStatus[],
  phase: string,
  now: Date,
): V1PodCondition[] {
  const previous = pod.status?.conditions ?? [];
  const make = (type: string, ok: boolean, reason?: string, message?: string): V1PodCondition => {
    const status = ok ? 'True' : 'False';
    const before = previous.find((c) => c.type === type);
    const lastTransitionTime = before && before.status === status && before.lastTransitionTime ? before.lastTransitionTime : now;
    return { type, status, lastTransitionTime, ...(reason ? { reason } : {}), ...(message ? { message } : {}) };
  };

  // PodReadyToStartContainers: the sandbox exists with its network (false again once torn down).
  const sandbox = make('PodReadyToStartContainers', runtime.sandboxReady);

  // Initialized: every regular init container exited 0 and every sidecar has started.
  const incompleteInit = (pod.spec?.initContainers ?? [])
    .filter((c) => {
      const s = init.find((x) => x.name === c.name);
      if (c.restartPolicy === 'Always') return !(s?.started || s?.state?.terminated || s?.lastState?.terminated);
      return !(s?.state?.terminated?.exitCode === 0);
    })
    .map((c) => c.name);
  // Once the pod has passed initialization the condition stays true (as the kubelet keeps it).
  const wasInitialized = previous.find((c) => c.type === 'Initialized')?.status === 'True';
  const initialized =
    incompleteInit.length === 0 || wasInitialized
      ? make('Initialized', true, phase === 'Succeeded' && (pod.spec?.initContainers ?? []).length > 0 ? 'PodCompleted' : undefined)
      : make('Initialized', false, 'ContainersNotInitialized', `containers with incomplete status: [${incompleteInit.join(' ')}]`);

  // ContainersReady / Ready.
  const unready = [
    ...(pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always' && !init.find((s) => s.name === c.name)?.ready).map((c) => c.name),
    ...(pod.spec?.containers ?? []).filter((c) => !regular.find((s) => s.name === c.name)?.ready).map((c) => c.name),
  ];
  let containersReady: V1PodCondition;
  if (phase === 'Succeeded') containersReady = make('ContainersReady', false, 'PodCompleted');
  else if (incompleteInit.length > 0 && !wasInitialized) {
    containersReady = make('ContainersReady', false, 'ContainersNotReady', `containers with unready status: [${(pod.spec?.containers ?? []).map((c) => c.name).join(' ')}]`);
  } else if (unready.length > 0) containersReady = make('ContainersReady', false, 'ContainersNotReady', `containers with unready status: [${unready.join(' ')}]`);
  else containersReady = make('ContainersReady', true);

  let ready: V1PodCondition;
  if (containersReady.status !== 'True') ready = make('Ready', false, containersReady.reason, containersReady.message);
  else {
    const gates = (pod.spec?.readinessGates ?? []).map((g) => g.conditionType);
    const missing = gates.filter((gate) => previous.find((c) => c.type === gate)?.status !== 'True');
    ready =
      missing.length === 0
        ? make('Ready', true)
        : make('Ready', false, 'ReadinessGatesNotReady', missing.map((g) => (previous.some((c) => c.type === g) ? `the status of pod readiness gate "${g}" is not "True", but False` : `corresponding condition of pod readiness gate "${g}" does not exist.`)).join(', '));
  }

  const owned = new Set<string>(kubeletConditionTypes);
  // Keep conditions others own (PodScheduled, DisruptionTarget, readiness gates) as they are.
  return [...previous.filter((c) => !owned.has(c.type)), sandbox, initialized, containersReady, ready];
}

/** Only the parts of a status the kubelet writes, for a strategic-merge patch of the status subresource. */
export function statusPatchBody(pod: V1Pod, status: V1PodStatus): { metadata: { uid: string }; status: V1PodStatus } {
  const owned = new Set<string>(kubeletConditionTypes);
  return {
    // The UID makes the patch fail instead of writing into a new pod that reuses the name.
    metadata: { uid: pod.metadata?.uid ?? '' },
    status: { ...status, conditions: (status.conditions ?? []).filter((c) => owned.has(c.type)) },
  };
}

/** Terminated state for a process that ended with `exitCode` (or a signal: 128 + signal number). */
export function terminatedFromExit(options: {
  exitCode: number | null;
  signal: number | null;
  startedAt?: Date;
  finishedAt: Date;
  message?: string;
}): TerminatedState {
  const exitCode = options.exitCode ?? (options.signal ? 128 + options.signal : 255);
  return {
    kind: 'terminated',
    // Like containerd: the signal shows only in the exit code (137 for SIGKILL, 143 for SIGTERM).
    exitCode,
    reason: exitCode === 0 ? 'Completed' : 'Error',
    ...(options.message ? { message: options.message } : {}),
    ...(options.startedAt ? { startedAt: options.startedAt } : {}),
    finishedAt: options.finishedAt,
  };
}
