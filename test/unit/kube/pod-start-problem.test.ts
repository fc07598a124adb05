import type { V1Pod } from '@kubernetes/client-node';
import { podStartProblem } from '../../../harness/kube/cluster.ts';

const pod = (name: string, waiting?: { reason: string; message?: string }): V1Pod => ({
  metadata: { name },
  status: { containerStatuses: [{ name: 'c', image: 'i', imageID: '', ready: false, restartCount: 0, state: waiting ? { waiting } : { running: {} } }] },
});

describe('podStartProblem: pods that waiting will never start', () => {
  it('GIVEN a pod whose container cannot be created THEN its name, reason and message', () => {
    expect(podStartProblem([pod('a'), pod('b', { reason: 'CreateContainerError', message: 'the Go sample server is not built' })])).toBe('pod b: CreateContainerError: the Go sample server is not built');
  });

  it('GIVEN pods that are starting, pulling or backing off THEN no problem yet: those can recover', () => {
    expect(podStartProblem([pod('a', { reason: 'ContainerCreating' }), pod('b', { reason: 'CrashLoopBackOff' }), pod('c', { reason: 'ErrImagePull' }), pod('d')])).toBeUndefined();
    expect(podStartProblem([])).toBeUndefined();
  });
});
