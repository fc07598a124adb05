import type { V1Container, V1Deployment, V1EnvVar, V1Lifecycle, V1Pod, V1Probe, V1Service, V1ServicePort } from '@kubernetes/client-node';
import { z } from 'zod';
import { badInput } from '../harness/core/errors.ts';
import { grpcServerOptionsSchema, grpcSettings } from '../harness/workloads/grpc/options.ts';
import { httpServerOptionsSchema, httpSettings } from '../harness/workloads/http/options.ts';
import { DownwardEnv } from '../harness/workloads/identity.ts';
import { defaultImageTag, prefixedImageRef } from '../harness/workloads/image/names.ts';
import { defaultServerRuntime, type ServerRuntime, serverRuntimes } from '../harness/workloads/runtime.ts';
import {
  ComponentLabel,
  dns1035Label,
  dns1123Label,
  labelValue,
  ManagedByLabel,
  managedByValue,
  maxLabelLength,
  NameLabel,
  RunIdLabel,
} from './names.ts';

export type SampleServer = 'http' | 'grpc';
export type ServiceKind = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'Headless';

export interface ProbeParams {
  /** @default 1 (readiness), 5 (liveness) */
  periodSeconds?: number;
  /** @default 1 (readiness), 3 (liveness) */
  failureThreshold?: number;
  /** @default 0 */
  initialDelaySeconds?: number;
  /** @default 1 */
  timeoutSeconds?: number;
}

/** Everything a scenario can vary about a sample Deployment + Service. */
export interface SampleServiceParams {
  /** Name of the Deployment and the Service: an RFC 1035 label (see names.ts `stableName`). */
  name: string;
  namespace: string;
  /** The run that owns the objects (label `kube-traffic-harness.io/run-id`). */
  runId: string;
  server: SampleServer;
  /** Which implementation of the server: Node.js or Go (same contract). @default defaultServerRuntime */
  runtime?: ServerRuntime;
  /** @default kube-traffic-harness/<server>-server[-go]:<imageTag> */
  image?: string;
  /** @default the harness version */
  imageTag?: string;
  /** Registry (and path) in front of the default image name: a cluster that pulls the harness images from the user's registry. */
  imagePrefix?: string;
  /** @default 'IfNotPresent' (images are loaded into nodes, never pulled) */
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  /** @default 3 */
  replicas?: number;
  ports?: {
    /** Port the server listens on in the pod. @default 8080 (http), 9090 (grpc) */
    container?: number;
    /** Port the Service exposes. @default 80 (http), 9090 (grpc) */
    service?: number;
    /** gRPC server's HTTP side port (/metrics, /healthz). @default 9091 */
    metrics?: number;
    /** Fixed node port (NodePort/LoadBalancer only); the API server picks one when absent. */
    nodePort?: number;
  };
  /** A preStop hook that sleeps: the `sleep` lifecycle action, or `exec: sleep N` for clusters without it. */
  preStop?: { seconds: number; method?: 'sleep' | 'exec' };
  /** @default 30 */
  terminationGracePeriodSeconds?: number;
  /** false: no probe. @default readiness on /readyz (http) or grpc.health.v1 (grpc) */
  readinessProbe?: ProbeParams | false;
  /** false: no probe. @default liveness on /healthz */
  livenessProbe?: ProbeParams | false;
  /** Spread pods over a topology key. @default none */
  topologySpread?: { topologyKey?: string; maxSkew?: number; whenUnsatisfiable?: 'DoNotSchedule' | 'ScheduleAnyway' };
  service?: {
    /** Headless renders a ClusterIP Service with clusterIP: None. @default 'ClusterIP' */
    type?: ServiceKind;
    /** NodePort/LoadBalancer only. */
    externalTrafficPolicy?: 'Cluster' | 'Local';
    internalTrafficPolicy?: 'Cluster' | 'Local';
    /** @default 'None' */
    sessionAffinity?: 'None' | 'ClientIP';
    /** ClientIP affinity only. @default 10800 (Kubernetes' default) */
    sessionAffinityTimeoutSeconds?: number;
  };
  rollingUpdate?: { maxSurge?: number | string; maxUnavailable?: number | string };
  /**
   * Seconds pods stay bound to a NotReady or unreachable node before eviction: the two NoExecute
   * tolerations the API server otherwise adds with 300 s (DefaultTolerationSeconds).
   */
  notReadyTolerationSeconds?: number;
  /** Only these nodes (by name) may run the pods: a required node affinity on kubernetes.io/hostname. */
  nodeNames?: string[];
  /**
   * Server settings by their key in the server's setting table (`keepAliveTimeoutMs: '30s'`,
   * `maxConnectionAgeMs: 5000`), validated here and passed as the env vars the server reads.
   */
  settings?: Record<string, string | number | boolean>;
  /** Extra labels on every object (the run labels cannot be overridden). */
  labels?: Record<string, string>;
}

export interface SampleServiceObjects {
  deployment: V1Deployment;
  service: V1Service;
}

const int = (min: number, max: number, what = 'a whole number') =>
  z.number({ error: `must be ${what} from ${min} to ${max}` }).int({ error: `must be ${what} from ${min} to ${max}` }).min(min, { error: `must be ≥ ${min}` }).max(max, { error: `must be ≤ ${max}` });
const port = int(1, 65_535, 'a port');
const probe = z.union([z.literal(false), z.strictObject({
  periodSeconds: int(1, 3600).optional(),
  failureThreshold: int(1, 1000).optional(),
  initialDelaySeconds: int(0, 3600).optional(),
  timeoutSeconds: int(1, 3600).optional(),
})]);
const intOrPercent = z.union([int(0, 10_000), z.string().regex(/^\d{1,3}%$/, { error: "must be a count or a percentage like '25%'" })]);

const paramsSchema = z
  .strictObject({
    name: z.string().max(maxLabelLength, { error: `must be at most ${maxLabelLength} characters` }).regex(dns1035Label, {
      error: 'must be an RFC 1035 label: lower-case letters, digits and dashes, starting with a letter (use stableName())',
    }),
    namespace: z.string().max(maxLabelLength, { error: `must be at most ${maxLabelLength} characters` }).regex(dns1123Label, {
      error: 'must be an RFC 1123 label: lower-case letters, digits and dashes',
    }),
    runId: z.string().min(1, { error: 'must not be empty' }).max(maxLabelLength, { error: `must be at most ${maxLabelLength} characters` }).regex(labelValue, {
      error: 'must be a label value: letters, digits, -, _ and ., starting and ending with a letter or digit',
    }),
    server: z.enum(['http', 'grpc'], { error: "must be 'http' or 'grpc'" }),
    runtime: z.enum(serverRuntimes, { error: `must be one of: ${serverRuntimes.join(', ')}` }).optional(),
    image: z.string().min(1, { error: 'must not be empty' }).optional(),
    imageTag: z.string().regex(/^[\w][\w.-]{0,127}$/, { error: 'must be a Docker tag: letters, digits, _, . and -' }).optional(),
    imagePrefix: z.string().regex(/^[a-z0-9][a-z0-9.:_/-]*$/i, { error: 'must be a registry and path, e.g. ghcr.io/me' }).optional(),
    imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).optional(),
    replicas: int(0, 1000).optional(),
    ports: z
      .strictObject({ container: port.optional(), service: port.optional(), metrics: port.optional(), nodePort: int(30_000, 32_767, 'a node port').optional() })
      .optional(),
    preStop: z.strictObject({ seconds: int(0, 3600), method: z.enum(['sleep', 'exec']).optional() }).optional(),
    terminationGracePeriodSeconds: int(0, 86_400).optional(),
    readinessProbe: probe.optional(),
    livenessProbe: probe.optional(),
    topologySpread: z
      .strictObject({
        topologyKey: z.string().min(1).optional(),
        maxSkew: int(1, 1000).optional(),
        whenUnsatisfiable: z.enum(['DoNotSchedule', 'ScheduleAnyway']).optional(),
      })
      .optional(),
    service: z
      .strictObject({
        type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer', 'Headless'], { error: 'must be ClusterIP, NodePort, LoadBalancer or Headless' }).optional(),
        externalTrafficPolicy: z.enum(['Cluster', 'Local']).optional(),
        internalTrafficPolicy: z.enum(['Cluster', 'Local']).optional(),
        sessionAffinity: z.enum(['None', 'ClientIP']).optional(),
        sessionAffinityTimeoutSeconds: int(1, 86_400).optional(),
      })
      .optional(),
    rollingUpdate: z.strictObject({ maxSurge: intOrPercent.optional(), maxUnavailable: intOrPercent.optional() }).optional(),
    notReadyTolerationSeconds: int(0, 86_400).optional(),
    nodeNames: z.array(z.string().min(1)).min(1).optional(),
    settings: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    labels: z.record(z.string(), z.string()).optional(),
  })
  .superRefine((p, ctx) => {
    const type = p.service?.type ?? 'ClusterIP';
    const exposesNodes = type === 'NodePort' || type === 'LoadBalancer';
    if (p.service?.externalTrafficPolicy && !exposesNodes) {
      ctx.addIssue({ code: 'custom', path: ['service', 'externalTrafficPolicy'], message: `applies to NodePort and LoadBalancer Services, not ${type}` });
    }
    if (p.ports?.nodePort !== undefined && !exposesNodes) {
      ctx.addIssue({ code: 'custom', path: ['ports', 'nodePort'], message: `applies to NodePort and LoadBalancer Services, not ${type}` });
    }
    if (p.service?.sessionAffinityTimeoutSeconds !== undefined && p.service.sessionAffinity !== 'ClientIP') {
      ctx.addIssue({ code: 'custom', path: ['service', 'sessionAffinityTimeoutSeconds'], message: "applies only with sessionAffinity: 'ClientIP'" });
    }
    if (p.server === 'http' && p.ports?.metrics !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['ports', 'metrics'], message: 'the HTTP server serves /metrics on its own port; metrics applies to grpc' });
    }
    for (const key of Object.keys(p.labels ?? {})) {
      if (key === RunIdLabel || key === ManagedByLabel || key === NameLabel) {
        ctx.addIssue({ code: 'custom', path: ['labels', key], message: 'is set by the harness and cannot be overridden' });
      }
    }
    checkServerSettings(p.server, p.settings ?? {}, ctx);
  });

/** Settings the Deployment sets itself (identity from the downward API, ports from `ports`). */
const reservedSettings = new Set(['pod', 'node', 'podIp', 'namespace', 'host', 'port', 'metricsPort']);

function checkServerSettings(server: SampleServer, settings: Record<string, unknown>, ctx: z.core.$RefinementCtx<unknown>): void {
  const shape = (server === 'http' ? httpServerOptionsSchema : grpcServerOptionsSchema).shape as Record<string, z.ZodType>;
  for (const [key, value] of Object.entries(settings)) {
    const path = ['settings', key];
    if (reservedSettings.has(key)) {
      ctx.addIssue({ code: 'custom', path, message: 'is set by the manifest itself (downward API or ports)' });
      continue;
    }
    const schema = shape[key];
    if (!schema) {
      ctx.addIssue({ code: 'custom', path, message: `is not a ${server} server setting (known: ${Object.keys(shape).filter((k) => !reservedSettings.has(k)).join(', ')})` });
      continue;
    }
    const result = schema.safeParse(value);
    if (!result.success) for (const issue of result.error.issues) ctx.addIssue({ code: 'custom', path, message: issue.message });
  }
}

/**
 * Renders the Deployment and Service of one sample server. Every problem in `params` is reported
 * at once, each with its path (`service.externalTrafficPolicy: applies to …`).
 */
export function renderSampleService(params: SampleServiceParams): SampleServiceObjects {
  const result = paramsSchema.safeParse(params);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(params)'}: ${issue.message}`);
    throw badInput(`sample service '${String(params?.name)}': ${problems.join('; ')}`, {
      where: result.error.issues.map((issue) => issue.path.join('.')).join(', '),
      hint: 'fix the listed parameters of renderSampleService()',
    });
  }
  const p = result.data;
  const http = p.server === 'http';
  const component = `${p.server}-server` as const;
  const containerPort = p.ports?.container ?? (http ? 8080 : 9090);
  const metricsPort = p.ports?.metrics ?? 9091;
  const selector = { [NameLabel]: p.name, [RunIdLabel]: p.runId };
  const labels = { ...p.labels, ...selector, [ComponentLabel]: component, [ManagedByLabel]: managedByValue };
  // Fresh copies everywhere: callers may edit one object (a rollout patch) without touching another.
  const metadata = () => ({ name: p.name, namespace: p.namespace, labels: { ...labels } });

  const container: V1Container = {
    name: component,
    image: p.image ?? prefixedImageRef((p.runtime ?? defaultServerRuntime) === 'go' ? `${component}-go` : component, p.imagePrefix, p.imageTag ?? defaultImageTag()),
    imagePullPolicy: p.imagePullPolicy ?? 'IfNotPresent',
    ports: [
      { name: http ? 'http' : 'grpc', containerPort, protocol: 'TCP' },
      ...(http ? [] : [{ name: 'metrics', containerPort: metricsPort, protocol: 'TCP' }]),
    ],
    env: serverEnv(p.server, containerPort, metricsPort, p.settings ?? {}),
    // The server leaves its final counters here on exit; the harness reads them from the pod's
    // status after the pod has gone (the cross-check of runs whose pods change).
    terminationMessagePath: terminationMessagePath,
    terminationMessagePolicy: 'File',
    ...(p.readinessProbe === false ? {} : { readinessProbe: readinessProbe(p.server, containerPort, p.readinessProbe) }),
    ...(p.livenessProbe === false ? {} : { livenessProbe: livenessProbe(http ? containerPort : metricsPort, p.livenessProbe), startupProbe: startupProbe(http ? containerPort : metricsPort) }),
    ...(p.preStop ? { lifecycle: preStopHook(p.preStop.seconds, p.preStop.method ?? 'sleep') } : {}),
  };

  const deployment: V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(),
    spec: {
      replicas: p.replicas ?? 3,
      selector: { matchLabels: { ...selector } },
      ...(p.rollingUpdate ? { strategy: { type: 'RollingUpdate', rollingUpdate: p.rollingUpdate } } : {}),
      template: {
        metadata: { labels: { ...labels } },
        spec: {
          terminationGracePeriodSeconds: p.terminationGracePeriodSeconds ?? 30,
          containers: [container],
          ...(p.nodeNames
            ? {
                affinity: {
                  nodeAffinity: {
                    requiredDuringSchedulingIgnoredDuringExecution: {
                      nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [...p.nodeNames] }] }],
                    },
                  },
                },
              }
            : {}),
          ...(p.notReadyTolerationSeconds !== undefined
            ? {
                tolerations: ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'].map((key) => ({
                  key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: p.notReadyTolerationSeconds,
                })),
              }
            : {}),
          ...(p.topologySpread
            ? {
                topologySpreadConstraints: [
                  {
                    maxSkew: p.topologySpread.maxSkew ?? 1,
                    topologyKey: p.topologySpread.topologyKey ?? 'kubernetes.io/hostname',
                    whenUnsatisfiable: p.topologySpread.whenUnsatisfiable ?? 'ScheduleAnyway',
                    labelSelector: { matchLabels: { ...selector } },
                  },
                ],
              }
            : {}),
        },
      },
    },
  };

  const type = p.service?.type ?? 'ClusterIP';
  const servicePort: V1ServicePort = {
    name: http ? 'http' : 'grpc',
    port: p.ports?.service ?? (http ? 80 : 9090),
    targetPort: http ? 'http' : 'grpc',
    protocol: 'TCP',
    ...(p.ports?.nodePort !== undefined ? { nodePort: p.ports.nodePort } : {}),
  };
  const service: V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(),
    spec: {
      type: type === 'Headless' ? 'ClusterIP' : type,
      ...(type === 'Headless' ? { clusterIP: 'None' } : {}),
      selector: { ...selector },
      ports: [servicePort],
      sessionAffinity: p.service?.sessionAffinity ?? 'None',
      ...(p.service?.sessionAffinity === 'ClientIP'
        ? { sessionAffinityConfig: { clientIP: { timeoutSeconds: p.service.sessionAffinityTimeoutSeconds ?? 10_800 } } }
        : {}),
      ...(p.service?.externalTrafficPolicy ? { externalTrafficPolicy: p.service.externalTrafficPolicy } : {}),
      ...(p.service?.internalTrafficPolicy ? { internalTrafficPolicy: p.service.internalTrafficPolicy } : {}),
    },
  };
  return { deployment, service };
}

/** The objects in the order to apply them. */
export function sampleServiceObjects(params: SampleServiceParams): [V1Deployment, V1Service] {
  const { deployment, service } = renderSampleService(params);
  return [deployment, service];
}

/** The kubelet's default, stated so the server's env and the container spec name the same file. */
export const terminationMessagePath = '/dev/termination-log';

function serverEnv(server: SampleServer, port: number, metricsPort: number, settings: Record<string, string | number | boolean>): V1EnvVar[] {
  const table = server === 'http' ? httpSettings : grpcSettings;
  const field = (name: string, fieldPath: string): V1EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath } } });
  return [
    field(DownwardEnv.podName, 'metadata.name'),
    field(DownwardEnv.podNamespace, 'metadata.namespace'),
    field(DownwardEnv.podIp, 'status.podIP'),
    field(DownwardEnv.nodeName, 'spec.nodeName'),
    { name: table.host.env, value: '0.0.0.0' },
    { name: table.port.env, value: String(port) },
    ...(server === 'grpc' ? [{ name: grpcSettings.metricsPort.env, value: String(metricsPort) }] : []),
    { name: table.terminationLog.env, value: terminationMessagePath },
    ...Object.entries(settings).map(([key, value]) => ({ name: (table as Record<string, { env: string }>)[key]!.env, value: String(value) })),
  ];
}

function probeTiming(params: ProbeParams | undefined, defaults: { periodSeconds: number; failureThreshold: number }): Partial<V1Probe> {
  return {
    periodSeconds: params?.periodSeconds ?? defaults.periodSeconds,
    failureThreshold: params?.failureThreshold ?? defaults.failureThreshold,
    timeoutSeconds: params?.timeoutSeconds ?? 1,
    ...(params?.initialDelaySeconds ? { initialDelaySeconds: params.initialDelaySeconds } : {}),
  };
}

function readinessProbe(server: SampleServer, port: number, params: ProbeParams | undefined): V1Probe {
  const timing = probeTiming(params, { periodSeconds: 1, failureThreshold: 1 });
  // gRPC readiness asks grpc.health.v1 (kubelet's native grpc probe), which flips with shutdown.
  return server === 'http' ? { httpGet: { path: '/readyz', port }, ...timing } : { grpc: { port }, ...timing };
}

/**
 * Liveness only once the server is up: a start that takes longer than liveness allows (a loaded
 * node, an emulated guest kernel where Node.js starts ~10× slower) must not be killed and restarted
 * forever. Polled every second, so a fast start is not delayed.
 */
function startupProbe(port: number): V1Probe {
  return { httpGet: { path: '/healthz', port }, periodSeconds: 1, failureThreshold: 180 };
}

function livenessProbe(port: number, params: ProbeParams | undefined): V1Probe {
  return { httpGet: { path: '/healthz', port }, ...probeTiming(params, { periodSeconds: 5, failureThreshold: 3 }) };
}

/**
 * preStop that only waits: `sleep` is the kubelet's built-in action (Kubernetes ≥ 1.30); `exec`
 * runs the `sleep` binary, which the images carry for clusters without the built-in action.
 */
function preStopHook(seconds: number, method: 'sleep' | 'exec'): V1Lifecycle {
  return method === 'sleep' ? { preStop: { sleep: { seconds } } } : { preStop: { exec: { command: ['sleep', String(seconds)] } } };
}

/**
 * Where a sample server pod counts for itself: `http://<pod IP>:<port>/metrics`, the port read from
 * the pod's own spec (gRPC: its `metrics` side port; HTTP: its serving port), so custom ports hold.
 */
export function serverMetricsUrl(pod: V1Pod): string {
  const ports = pod.spec?.containers.flatMap((container) => container.ports ?? []) ?? [];
  const port = ports.find((p) => p.name === 'metrics') ?? ports.find((p) => p.name === 'http');
  if (!port) throw badInput(`pod ${pod.metadata?.name} has no 'metrics' or 'http' container port`, { hint: 'is it a kth sample server (manifests/sample-service.ts)?' });
  return `http://${pod.status?.podIP}:${port.containerPort}/metrics`;
}

/** A server pod's wall clock (GET /clock on its control port): the reference distributed load generators measure their offsets against. */
export function serverClockUrl(pod: V1Pod): string {
  return serverMetricsUrl(pod).replace(/\/metrics$/, '/clock');
}
