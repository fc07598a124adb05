import { HarnessError } from '../../../harness/core/errors.ts';
import { renderSampleService, sampleServiceObjects, type SampleServiceParams } from '../../../manifests/sample-service.ts';
import { renderYaml } from '../../../manifests/yaml.ts';
import { parse } from 'yaml';

const base: SampleServiceParams = { name: 'echo', namespace: 'kth-run1', runId: 'run1', server: 'http' };

function failure(params: unknown): HarnessError {
  try {
    renderSampleService(params as SampleServiceParams);
  } catch (error) {
    if (error instanceof HarnessError) return error;
    throw error;
  }
  throw new Error('expected a HarnessError');
}

describe('sample service manifests', () => {
  it('GIVEN defaults WHEN rendered THEN a Deployment and a ClusterIP Service select the same pods and carry the run labels', () => {
    const { deployment, service } = renderSampleService(base);
    const runLabels = { 'kube-traffic-harness.io/run-id': 'run1', 'app.kubernetes.io/managed-by': 'kube-traffic-harness' };
    expect(deployment.metadata?.labels).toMatchObject(runLabels);
    expect(deployment.spec?.template.metadata?.labels).toMatchObject(runLabels);
    expect(service.metadata?.labels).toMatchObject(runLabels);
    expect(deployment.spec?.replicas).toBe(3);
    expect(deployment.spec?.selector.matchLabels).toEqual(service.spec?.selector);
    expect(deployment.spec?.template.metadata?.labels).toMatchObject(service.spec?.selector ?? {});
    expect(service.spec).toMatchObject({ type: 'ClusterIP', sessionAffinity: 'None', ports: [{ name: 'http', port: 80, targetPort: 'http' }] });
    const container = deployment.spec?.template.spec?.containers[0];
    expect(container?.image).toMatch(/^kube-traffic-harness\/http-server:/);
    expect(container?.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 8080 });
    expect(container?.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 8080 });
    expect(deployment.spec?.template.spec?.terminationGracePeriodSeconds).toBe(30);
  });

  it('GIVEN any server WHEN rendered THEN pod identity comes from the downward API under the names the server reads', () => {
    const env = renderSampleService(base).deployment.spec?.template.spec?.containers[0]?.env ?? [];
    const fieldOf = (name: string) => env.find((e) => e.name === name)?.valueFrom?.fieldRef?.fieldPath;
    expect(fieldOf('POD_NAME')).toBe('metadata.name');
    expect(fieldOf('POD_NAMESPACE')).toBe('metadata.namespace');
    expect(fieldOf('POD_IP')).toBe('status.podIP');
    expect(fieldOf('NODE_NAME')).toBe('spec.nodeName');
    expect(env.find((e) => e.name === 'KTH_HOST')?.value).toBe('0.0.0.0');
  });

  it('GIVEN a gRPC server with settings WHEN rendered THEN ports, grpc readiness and env vars follow', () => {
    const { deployment, service } = renderSampleService({
      ...base,
      server: 'grpc',
      settings: { maxConnectionAgeMs: '30s', maxConnectionAgeGraceMs: 5000 },
    });
    const container = deployment.spec?.template.spec?.containers[0];
    expect(container?.image).toMatch(/^kube-traffic-harness\/grpc-server:/);
    expect(container?.ports?.map((p) => [p.name, p.containerPort])).toEqual([
      ['grpc', 9090],
      ['metrics', 9091],
    ]);
    expect(container?.readinessProbe?.grpc).toEqual({ port: 9090 });
    expect(container?.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 9091 });
    const env = Object.fromEntries((container?.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ KTH_PORT: '9090', KTH_METRICS_PORT: '9091', KTH_MAX_CONNECTION_AGE: '30s', KTH_MAX_CONNECTION_AGE_GRACE: '5000' });
    expect(service.spec?.ports).toEqual([{ name: 'grpc', port: 9090, targetPort: 'grpc', protocol: 'TCP' }]);
  });

  it.each([
    ['sleep', { sleep: { seconds: 7 } }],
    ['exec', { exec: { command: ['sleep', '7'] } }],
  ] as const)('GIVEN a %s preStop WHEN rendered THEN the hook waits 7s', (method, preStop) => {
    const container = renderSampleService({ ...base, preStop: { seconds: 7, method }, terminationGracePeriodSeconds: 12 }).deployment.spec?.template.spec;
    expect(container?.containers[0]?.lifecycle?.preStop).toEqual(preStop);
    expect(container?.terminationGracePeriodSeconds).toBe(12);
  });

  it('GIVEN topology spread WHEN rendered THEN it spreads this Deployment\'s pods over hosts', () => {
    const spec = renderSampleService({ ...base, topologySpread: { whenUnsatisfiable: 'DoNotSchedule' } }).deployment.spec;
    expect(spec?.template.spec?.topologySpreadConstraints).toEqual([
      { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: spec?.selector.matchLabels } },
    ]);
  });

  it.each([
    [{ type: 'NodePort', externalTrafficPolicy: 'Local' }, { type: 'NodePort', externalTrafficPolicy: 'Local' }],
    [{ type: 'LoadBalancer', externalTrafficPolicy: 'Cluster' }, { type: 'LoadBalancer', externalTrafficPolicy: 'Cluster' }],
    [{ type: 'Headless' }, { type: 'ClusterIP', clusterIP: 'None' }],
    [{ internalTrafficPolicy: 'Local' }, { type: 'ClusterIP', internalTrafficPolicy: 'Local' }],
    [{ sessionAffinity: 'ClientIP', sessionAffinityTimeoutSeconds: 60 }, { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } }],
  ] as const)('GIVEN service %p WHEN rendered THEN the spec has %p', (service, expected) => {
    expect(renderSampleService({ ...base, service }).service.spec).toMatchObject(expected);
  });

  it('GIVEN a fixed node port on a NodePort Service WHEN rendered THEN the port carries it', () => {
    const spec = renderSampleService({ ...base, ports: { nodePort: 30080 }, service: { type: 'NodePort' } }).service.spec;
    expect(spec?.ports?.[0]?.nodePort).toBe(30080);
  });

  it('GIVEN bad parameters WHEN rendered THEN one bad-input error lists every problem with its path', () => {
    const error = failure({
      ...base,
      name: 'Echo_1',
      replicas: -1,
      ports: { nodePort: 8080 },
      service: { externalTrafficPolicy: 'Local' },
      settings: { keepAliveTimeoutMs: -1, pod: 'x' },
    });
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain('name: must be an RFC 1035 label');
    expect(error.message).toContain('replicas: must be ≥ 0');
    expect(error.message).toContain('ports.nodePort: must be ≥ 30000');
    expect(error.message).toContain('service.externalTrafficPolicy: applies to NodePort and LoadBalancer Services, not ClusterIP');
    expect(error.message).toContain('settings.keepAliveTimeoutMs: keep-alive timeout: -1 is negative');
    expect(error.message).toContain('settings.pod: is set by the manifest itself');
    expect(error.where?.split(', ')).toEqual(
      expect.arrayContaining(['name', 'replicas', 'ports.nodePort', 'service.externalTrafficPolicy', 'settings.keepAliveTimeoutMs', 'settings.pod']),
    );
  });

  it.each([
    [{ replicas: 1.5 }, 'replicas'],
    [{ runId: 'has space' }, 'runId'],
    [{ namespace: 'x'.repeat(64) }, 'namespace'],
    [{ labels: { 'kube-traffic-harness.io/run-id': 'other' } }, 'labels.kube-traffic-harness.io/run-id'],
    [{ service: { sessionAffinityTimeoutSeconds: 5 } }, 'service.sessionAffinityTimeoutSeconds'],
    [{ unknown: true }, '(params)'],
  ])('GIVEN %p WHEN rendered THEN the error names %p', (bad, path) => {
    expect(failure({ ...base, ...bad }).message).toContain(`${path}:`);
  });

  it('GIVEN rendered objects WHEN edited THEN the other objects are unaffected (no shared references)', () => {
    const { deployment, service } = renderSampleService(base);
    (deployment.metadata!.labels as Record<string, string>).extra = 'x';
    expect(service.metadata?.labels).not.toHaveProperty('extra');
    expect(deployment.spec?.template.metadata?.labels).not.toHaveProperty('extra');
  });

  it('GIVEN the objects WHEN written as YAML THEN they read back as the same Deployment then Service', () => {
    const objects = sampleServiceObjects(base);
    const documents = renderYaml(objects).split('---\n').map((text) => parse(text));
    expect(documents.map((d) => d.kind)).toEqual(['Deployment', 'Service']);
    expect(documents).toEqual(JSON.parse(JSON.stringify(objects)));
  });
});

describe('where a sample server counts for itself', () => {
  it('GIVEN pods rendered from the manifests (default and custom ports) THEN the metrics URL uses the pod IP and the port the pod spec names', async () => {
    const { renderSampleService, serverMetricsUrl } = await import('../../../manifests/sample-service.ts');
    const podOf = (params: Parameters<typeof renderSampleService>[0]) => ({ metadata: { name: 'p' }, spec: renderSampleService(params).deployment.spec!.template.spec!, status: { podIP: '198.18.128.9' } });
    expect(serverMetricsUrl(podOf({ name: 'web', namespace: 'n', runId: 'r', server: 'http' }))).toBe('http://198.18.128.9:8080/metrics');
    expect(serverMetricsUrl(podOf({ name: 'echo', namespace: 'n', runId: 'r', server: 'grpc' }))).toBe('http://198.18.128.9:9091/metrics');
    expect(serverMetricsUrl(podOf({ name: 'echo', namespace: 'n', runId: 'r', server: 'grpc', ports: { metrics: 9500 } }))).toBe('http://198.18.128.9:9500/metrics');
    expect(() => serverMetricsUrl({ metadata: { name: 'x' }, spec: { containers: [{ name: 'c' }] } })).toThrow(/no 'metrics' or 'http' container port/);
  });
});
