import { loadArgv } from '../../../harness/engine/load-args.ts';
import type { V1Deployment, V1PodDisruptionBudget } from '@kubernetes/client-node';
import type { WorkloadSpec } from '../../../harness/engine/types.ts';
import { workloadObjects, workloadParams } from '../../../harness/engine/workload.ts';
import { renderSampleService } from '../../../manifests/sample-service.ts';

describe('what the engine asks of kth load and of the sample service', () => {
  it('GIVEN a persistent HTTP load at a constant arrival rate THEN kth load gets the scaled duration, the model, the rate and the expected pods', () => {
    const argv = loadArgv({ spec: { name: 'few', protocol: 'http', model: 'persistent', connections: 2, executor: 'constant-arrival-rate', rate: 50, duration: '60s' }, startMs: 0, durationMs: 12_000, target: 'http://198.18.16.10:80/', expectPods: ['a', 'b'], eventsFile: '/tmp/e.ndjson' });
    expect(argv.slice(0, 5)).toEqual(['http', '--target', 'http://198.18.16.10:80/', '--duration', '12.000s']);
    expect(argv).toEqual(expect.arrayContaining(['--connections', '2', '--model', 'persistent', '--rate', '50', '--expect-pods', 'a,b', '--events', '/tmp/e.ndjson', '--json']));
    expect(argv).not.toContain('--concurrency');
  });

  it('GIVEN a closed-model gRPC load with a pooled-style setting THEN vus become --concurrency and settings keep their unscaled values', () => {
    const argv = loadArgv({ spec: { name: 'g', protocol: 'grpc', call: 'unary', connections: 4, executor: 'constant-vus', vus: 8, duration: '30s', keepalive: '10s' }, startMs: 0, durationMs: 6000, target: '198.18.16.11:9090', expectPods: [], eventsFile: '/tmp/g.ndjson' });
    expect(argv).toEqual(expect.arrayContaining(['grpc', '--channels', '4', '--call', 'unary', '--concurrency', '8', '--keepalive', '10.000s']));
    expect(argv).not.toContain('--expect-pods');
  });

  it('GIVEN a gRPC load with a client THEN kth load gets --client; without one, kth load picks', () => {
    const base = { name: 'g', protocol: 'grpc', call: 'unary', connections: 4, executor: 'constant-vus', vus: 8, duration: '30s' } as const;
    const run = { startMs: 0, durationMs: 6000, target: '198.18.16.11:9090', expectPods: [], eventsFile: '/tmp/g.ndjson' };
    expect(loadArgv({ ...run, spec: { ...base, client: 'h2' } })).toEqual(expect.arrayContaining(['--call', 'unary', '--client', 'h2']));
    expect(loadArgv({ ...run, spec: base })).not.toContain('--client');
  });

  it('GIVEN node addresses THEN only external loads get --node-addresses (an in-cluster client sees no masquerading node)', () => {
    const run = { startMs: 0, durationMs: 6000, target: 'http://198.18.32.1:80/', expectPods: [], eventsFile: '/tmp/e.ndjson', nodeAddresses: { 'lab-node-1': '198.18.0.11', 'lab-node-2': '198.18.0.12' } };
    const spec = { name: 'x', protocol: 'http', model: 'short-lived', connections: 2, executor: 'constant-arrival-rate', rate: 10, duration: '10s' } as const;
    expect(loadArgv({ ...run, spec: { ...spec, from: 'external' } })).toEqual(expect.arrayContaining(['--node-addresses', 'lab-node-1=198.18.0.11,lab-node-2=198.18.0.12']));
    expect(loadArgv({ ...run, spec })).not.toContain('--node-addresses');
  });

  it('GIVEN placement, rolling-update bounds, a toleration and a PDB THEN the Deployment and a PodDisruptionBudget say so', () => {
    const workload: WorkloadSpec = { server: 'http', replicas: 3, nodes: [1, 3], maxSurge: 3, maxUnavailable: 0, notReadyToleration: '5s', pdb: { maxUnavailable: 1 } };
    const names = { name: 'web', namespace: 'kth-x', runId: 'r1' };
    const [deployment, , pdb] = workloadObjects(workload, names, ['lab-node-1', 'lab-node-2', 'lab-node-3']) as [V1Deployment, unknown, V1PodDisruptionBudget];
    const pod = deployment.spec!.template.spec!;
    expect(deployment.spec!.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 3, maxUnavailable: 0 } });
    expect(pod.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms[0]!.matchExpressions).toEqual([{ key: 'kubernetes.io/hostname', operator: 'In', values: ['lab-node-1', 'lab-node-3'] }]);
    expect(pod.tolerations).toEqual([
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 },
    ]);
    expect(pdb).toMatchObject({ kind: 'PodDisruptionBudget', spec: { maxUnavailable: 1, selector: { matchLabels: deployment.spec!.selector.matchLabels } } });
    expect(workloadObjects({ server: 'http', replicas: 1 }, names)).toHaveLength(2);
  });

  it('GIVEN an HTTP workload with a response delay THEN the server gets it as KTH_RESPONSE_DELAY', () => {
    const container = renderSampleService(workloadParams({ server: 'http', replicas: 3, responseDelay: '80ms' }, { name: 'web', namespace: 'kth-default', runId: 'r1' })).deployment.spec!.template.spec!.containers[0]!;
    expect(Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]))).toMatchObject({ KTH_RESPONSE_DELAY: '80' });
  });

  it('GIVEN a workload with runtime go THEN the Deployment runs the -go image under the same container name and env', () => {
    const params = workloadParams({ server: 'grpc', runtime: 'go', replicas: 2, maxConnectionAge: '2s' }, { name: 'echo', namespace: 'kth-default', runId: 'r1' });
    const container = renderSampleService(params).deployment.spec!.template.spec!.containers[0]!;
    expect(container.name).toBe('grpc-server');
    expect(container.image).toMatch(/^kube-traffic-harness\/grpc-server-go:/);
    expect(Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]))).toMatchObject({ KTH_MAX_CONNECTION_AGE: '2000' });
    const node = renderSampleService(workloadParams({ server: 'grpc', replicas: 2 }, { name: 'echo', namespace: 'kth-default', runId: 'r1' }));
    expect(node.deployment.spec!.template.spec!.containers[0]!.image).toMatch(/^kube-traffic-harness\/grpc-server:/);
  });

  it('GIVEN a workload with preStop, grace and server settings THEN the rendered Deployment carries them', () => {
    const params = workloadParams({ server: 'http', replicas: 3, preStopSleep: '5s', terminationGracePeriod: '20s', keepAliveTimeout: '30s', maxRequestsPerConnection: 100, maxConnectionAge: '10s' }, { name: 'web', namespace: 'kth-default', runId: 'r1' });
    const { deployment, service } = renderSampleService(params);
    const pod = deployment.spec!.template.spec!;
    expect(pod.terminationGracePeriodSeconds).toBe(20);
    expect(JSON.stringify(pod.containers[0]!.lifecycle?.preStop)).toMatch(/5/);
    const env = Object.fromEntries((pod.containers[0]!.env ?? []).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ KTH_MAX_REQUESTS_PER_CONNECTION: '100' });
    expect(Object.keys(env)).toEqual(expect.arrayContaining(['KTH_KEEPALIVE_TIMEOUT', 'KTH_MAX_CONNECTION_AGE']));
    expect(service.spec?.type).toBe('ClusterIP');
  });

  it('GIVEN a k6 load THEN kth load k6 gets one VU per connection, the model and the script', () => {
    const argv = loadArgv({ spec: { name: 'k', driver: 'k6', script: 'http-shares.ts', protocol: 'http', model: 'short-lived', connections: 6, executor: 'constant-arrival-rate', rate: 40, duration: '10s' }, startMs: 0, durationMs: 2500, target: 'http://198.18.16.10:80/', expectPods: ['a'], eventsFile: '/tmp/k.ndjson' });
    expect(argv.slice(0, 5)).toEqual(['k6', '--target', 'http://198.18.16.10:80/', '--duration', '2.500s']);
    expect(argv).toEqual(expect.arrayContaining(['--model', 'short-lived', '--vus', '6', '--script', 'http-shares.ts', '--rate', '40', '--expect-pods', 'a', '--json']));
  });

  it('GIVEN a k6 gRPC load THEN kth load k6 gets --protocol grpc, the host:port target and a VU per channel', () => {
    const argv = loadArgv({ spec: { name: 'g', driver: 'k6', script: 'grpc-shares.ts', protocol: 'grpc', connections: 3, executor: 'constant-arrival-rate', rate: 30, duration: '10s' }, startMs: 0, durationMs: 4000, target: '198.18.16.10:9090', expectPods: [], eventsFile: '/tmp/g.ndjson' });
    expect(argv.slice(0, 3)).toEqual(['k6', '--target', '198.18.16.10:9090']);
    expect(argv).toEqual(expect.arrayContaining(['--protocol', 'grpc', '--vus', '3', '--script', 'grpc-shares.ts', '--rate', '30', '--json']));
    expect(argv).not.toContain('--call');
    expect(argv).not.toContain('--channels');
  });
});
