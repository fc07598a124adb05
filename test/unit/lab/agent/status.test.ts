import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { computePodStatus, podPhase, type RuntimeContainer, type RuntimePod, statusPatchBody, terminatedFromExit } from '../../../../harness/lab/agent/status.ts';

const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-01T00:00:05Z');
const t2 = new Date('2026-01-01T00:00:09Z');

function pod(options: { containers?: V1Container[]; init?: V1Container[]; restartPolicy?: string; status?: V1Pod['status']; gates?: string[] } = {}): V1Pod {
  return {
    metadata: { name: 'web-1', namespace: 'ns', uid: '0123abcd-0000-0000-0000-000000000000' },
    spec: {
      containers: options.containers ?? [{ name: 'app', image: 'kube-traffic-harness/http-server:1' }],
      ...(options.init ? { initContainers: options.init } : {}),
      restartPolicy: options.restartPolicy ?? 'Always',
      ...(options.gates ? { readinessGates: options.gates.map((conditionType) => ({ conditionType })) } : {}),
    },
    status: options.status ?? { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: t0 }] },
  };
}

const running = (name: string, extra: Partial<RuntimeContainer> = {}): RuntimeContainer => ({
  name,
  containerId: 'kth-lab://100',
  imageId: 'kth-lab://x',
  state: { kind: 'running', startedAt: t0 },
  restartCount: 0,
  ready: true,
  started: true,
  ...extra,
});

const exited = (name: string, exitCode: number, extra: Partial<RuntimeContainer> = {}): RuntimeContainer => ({
  name,
  containerId: 'kth-lab://100',
  state: terminatedFromExit({ exitCode, signal: null, startedAt: t0, finishedAt: t1 }),
  restartCount: 0,
  ready: false,
  started: false,
  ...extra,
});

const runtime = (containers: RuntimeContainer[], extra: Partial<RuntimePod> = {}): RuntimePod => ({
  hostIp: '198.18.0.11',
  podIp: '198.18.129.2',
  startTime: t0,
  sandboxReady: true,
  initContainers: [],
  containers,
  terminal: false,
  ...extra,
});

const condition = (status: ReturnType<typeof computePodStatus>, type: string) => status.conditions?.find((c) => c.type === type);

describe('computePodStatus: a pod starting up', () => {
  it('GIVEN a sandbox but no container started yet WHEN computed THEN Pending, IPs set, container waiting ContainerCreating, not Ready', () => {
    const status = computePodStatus(pod(), runtime([]), t1);
    expect(status.phase).toBe('Pending');
    expect(status.podIP).toBe('198.18.129.2');
    expect(status.podIPs).toEqual([{ ip: '198.18.129.2' }]);
    expect(status.hostIP).toBe('198.18.0.11');
    expect(status.hostIPs).toEqual([{ ip: '198.18.0.11' }]);
    expect(status.startTime).toEqual(t0);
    expect(status.containerStatuses?.[0]).toMatchObject({ name: 'app', ready: false, started: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } });
    expect(condition(status, 'PodReadyToStartContainers')?.status).toBe('True');
    expect(condition(status, 'Initialized')?.status).toBe('True');
    expect(condition(status, 'Ready')).toMatchObject({ status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [app]' });
  });

  it('GIVEN the scheduler wrote PodScheduled WHEN computed THEN that condition is kept as it is, and the patch body leaves it out', () => {
    const p = pod();
    const status = computePodStatus(p, runtime([running('app')]), t1);
    expect(condition(status, 'PodScheduled')).toEqual({ type: 'PodScheduled', status: 'True', lastTransitionTime: t0 });
    const body = statusPatchBody(p, status);
    expect(body.metadata.uid).toBe('0123abcd-0000-0000-0000-000000000000');
    expect(body.status.conditions?.map((c) => c.type)).toEqual(['PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready']);
  });

  it('GIVEN a running container that is ready WHEN computed THEN Running and Ready with containerID, imageID, running state', () => {
    const status = computePodStatus(pod(), runtime([running('app')]), t1);
    expect(status.phase).toBe('Running');
    expect(condition(status, 'ContainersReady')?.status).toBe('True');
    expect(condition(status, 'Ready')?.status).toBe('True');
    expect(status.containerStatuses?.[0]).toMatchObject({ ready: true, started: true, containerID: 'kth-lab://100', imageID: 'kth-lab://x', state: { running: { startedAt: t0 } } });
  });

  it('GIVEN Ready was already True since t0 WHEN recomputed at t2 THEN lastTransitionTime stays t0; GIVEN it flips THEN it is t2', () => {
    const before = computePodStatus(pod(), runtime([running('app')]), t0);
    const p = pod({ status: before });
    expect(condition(computePodStatus(p, runtime([running('app')]), t2), 'Ready')?.lastTransitionTime).toEqual(t0);
    expect(condition(computePodStatus(p, runtime([running('app', { ready: false })]), t2), 'Ready')?.lastTransitionTime).toEqual(t2);
  });

  it('GIVEN startTime already in the API WHEN the agent has another THEN the API one stays (startTime never moves)', () => {
    const p = pod({ status: { phase: 'Running', startTime: t0 } });
    expect(computePodStatus(p, runtime([running('app')], { startTime: t2 }), t2).startTime).toEqual(t0);
  });
});

describe('computePodStatus: readiness gates', () => {
  it('GIVEN a gate whose condition is missing WHEN containers are ready THEN ContainersReady True but Ready False with ReadinessGatesNotReady', () => {
    const status = computePodStatus(pod({ gates: ['example.com/lb'] }), runtime([running('app')]), t1);
    expect(condition(status, 'ContainersReady')?.status).toBe('True');
    expect(condition(status, 'Ready')).toMatchObject({ status: 'False', reason: 'ReadinessGatesNotReady' });
  });
  it('GIVEN the gate condition is True THEN Ready True', () => {
    const p = pod({ gates: ['example.com/lb'], status: { conditions: [{ type: 'example.com/lb', status: 'True' }] } });
    expect(condition(computePodStatus(p, runtime([running('app')]), t1), 'Ready')?.status).toBe('True');
  });
});

describe('computePodStatus: init containers', () => {
  const init = [{ name: 'setup', image: 'busybox', command: ['true'] }];
  it('GIVEN an init container running WHEN computed THEN Pending, Initialized False, regular container waiting PodInitializing', () => {
    const status = computePodStatus(pod({ init }), runtime([], { initContainers: [running('setup', { ready: false })] }), t1);
    expect(status.phase).toBe('Pending');
    expect(condition(status, 'Initialized')).toMatchObject({ status: 'False', reason: 'ContainersNotInitialized', message: 'containers with incomplete status: [setup]' });
    expect(status.containerStatuses?.[0]?.state).toEqual({ waiting: { reason: 'PodInitializing' } });
  });
  it('GIVEN the init container exited 0 and the app runs THEN Running and Initialized True', () => {
    const status = computePodStatus(pod({ init }), runtime([running('app')], { initContainers: [exited('setup', 0)] }), t1);
    expect(status.phase).toBe('Running');
    expect(condition(status, 'Initialized')?.status).toBe('True');
    expect(status.initContainerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
  });
  it('GIVEN restartPolicy Never and the init container failed THEN Failed', () => {
    const status = computePodStatus(pod({ init, restartPolicy: 'Never' }), runtime([], { initContainers: [exited('setup', 1)] }), t1);
    expect(status.phase).toBe('Failed');
  });
  it('GIVEN restartPolicy Always and the init container failed (restarting) THEN Pending', () => {
    const status = computePodStatus(pod({ init }), runtime([], { initContainers: [exited('setup', 1)] }), t1);
    expect(status.phase).toBe('Pending');
  });
  it('GIVEN a sidecar (restartPolicy Always init container) not yet started THEN Pending; started and app running THEN Running', () => {
    const sidecar = [{ name: 'proxy', image: 'x', command: ['sleep', '1000'], restartPolicy: 'Always' }];
    const notStarted = computePodStatus(pod({ init: sidecar }), runtime([], { initContainers: [running('proxy', { started: false, ready: false })] }), t1);
    expect(notStarted.phase).toBe('Pending');
    const up = computePodStatus(pod({ init: sidecar }), runtime([running('app')], { initContainers: [running('proxy')] }), t1);
    expect(up.phase).toBe('Running');
    expect(condition(up, 'Ready')?.status).toBe('True');
  });
});

describe('computePodStatus: exits and restarts', () => {
  it('GIVEN restartPolicy Always and a container killed -9 waiting in CrashLoopBackOff THEN still Running, lastState terminated 137', () => {
    const crashed: RuntimeContainer = {
      name: 'app',
      containerId: 'kth-lab://101',
      lastContainerId: 'kth-lab://100',
      state: { kind: 'waiting', reason: 'CrashLoopBackOff', message: 'back-off 10s restarting failed container=app pod=web-1_ns(uid)' },
      lastTerminated: terminatedFromExit({ exitCode: null, signal: 9, startedAt: t0, finishedAt: t1 }),
      restartCount: 1,
      ready: false,
      started: false,
    };
    const status = computePodStatus(pod(), runtime([crashed]), t2);
    expect(status.phase).toBe('Running');
    expect(status.containerStatuses?.[0]).toMatchObject({
      restartCount: 1,
      ready: false,
      state: { waiting: { reason: 'CrashLoopBackOff' } },
      lastState: { terminated: { exitCode: 137, reason: 'Error', containerID: 'kth-lab://100' } },
    });
  });
  it('GIVEN restartPolicy Never and the container exited 0 THEN Succeeded, ContainersReady False PodCompleted', () => {
    const status = computePodStatus(pod({ restartPolicy: 'Never' }), runtime([exited('app', 0)]), t1);
    expect(status.phase).toBe('Succeeded');
    expect(condition(status, 'ContainersReady')).toMatchObject({ status: 'False', reason: 'PodCompleted' });
  });
  it('GIVEN restartPolicy Never and exit 3 THEN Failed; OnFailure and exit 3 THEN Running (restarting)', () => {
    expect(computePodStatus(pod({ restartPolicy: 'Never' }), runtime([exited('app', 3)]), t1).phase).toBe('Failed');
    expect(computePodStatus(pod({ restartPolicy: 'OnFailure' }), runtime([exited('app', 3)]), t1).phase).toBe('Running');
  });
  it('GIVEN restartPolicy Always, deleted and every container stopped (terminal) THEN Succeeded when all exited 0, Failed otherwise', () => {
    expect(computePodStatus(pod(), runtime([exited('app', 0)], { terminal: true, sandboxReady: false }), t1).phase).toBe('Succeeded');
    const failed = computePodStatus(pod(), runtime([exited('app', 143)], { terminal: true, sandboxReady: false }), t1);
    expect(failed.phase).toBe('Failed');
    expect(condition(failed, 'PodReadyToStartContainers')?.status).toBe('False');
  });
  it('GIVEN the API already shows a terminal phase WHEN a later computation would say Running THEN the phase stays terminal', () => {
    expect(computePodStatus(pod({ status: { phase: 'Failed' } }), runtime([running('app')]), t1).phase).toBe('Failed');
  });
  it('GIVEN a container that cannot run (terminal failure) THEN Failed with status.reason and message', () => {
    const blocked: RuntimeContainer = { name: 'app', state: { kind: 'waiting', reason: 'CreateContainerError', message: 'set command' }, restartCount: 0, ready: false, started: false };
    const status = computePodStatus(pod({ restartPolicy: 'Never' }), runtime([blocked], { terminal: true, sandboxReady: false, failure: { reason: 'UnsupportedContainer', message: 'set command' } }), t1);
    expect(status).toMatchObject({ phase: 'Failed', reason: 'UnsupportedContainer', message: 'set command' });
    expect(status.containerStatuses?.[0]?.state).toEqual({ waiting: { reason: 'CreateContainerError', message: 'set command' } });
  });
});

describe('terminatedFromExit', () => {
  it('GIVEN SIGKILL THEN exit code 137 reason Error; SIGTERM THEN 143; exit 0 THEN Completed', () => {
    expect(terminatedFromExit({ exitCode: null, signal: 9, finishedAt: t1 })).toMatchObject({ exitCode: 137, reason: 'Error' });
    expect(terminatedFromExit({ exitCode: null, signal: 15, finishedAt: t1 })).toMatchObject({ exitCode: 143, reason: 'Error' });
    expect(terminatedFromExit({ exitCode: 0, signal: null, finishedAt: t1 })).toMatchObject({ exitCode: 0, reason: 'Completed' });
  });
});

describe('podPhase matches the kubelet on edge cases', () => {
  it('GIVEN no status for a container THEN Pending (unknown)', () => {
    expect(podPhase(pod(), [], [], false)).toBe('Pending');
  });
});
