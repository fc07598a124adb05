/**
 * A scenario as users write it (`scenarios/*.ts` default-export `defineScenario({...})`): plain
 * typed data, validated with every problem reported at its path, planned into a printable
 * timeline before any cluster exists. Durations are `number` (ms) or strings like '30s', '500ms'.
 * Names follow k6 where they fit (executor names, `startTime`, thresholds as small strings).
 */
import type { CiliumOptions, IpvsOptions } from '../lab/spec.ts';

export type Duration = number | string;
export type ProxyMode = 'iptables' | 'nftables' | 'ipvs' | 'cilium';

export interface WorkloadSpec {
  /** Sample server behind the Service. */
  server: 'http' | 'grpc';
  /**
   * Which implementation serves: the Node.js servers (node:http, grpc-js) or the Go ones (net/http,
   * grpc-go), with one contract. Go pods are ~10× lighter and start faster; gRPC servers differ
   * in how they time MaxConnectionAge GOAWAYs. @default 'node' (README: "Which server runtime")
   */
  runtime?: 'node' | 'go';
  replicas: number;
  /** @default 'ClusterIP' */
  serviceType?: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  externalTrafficPolicy?: 'Cluster' | 'Local';
  /** HTTP keep-alive idle timeout of the server. */
  keepAliveTimeout?: Duration;
  /** HTTP: the server closes a connection after this many requests (0 = never). */
  maxRequestsPerConnection?: number;
  /**
   * HTTP server: wait this long before answering each workload request — the service's own latency,
   * which decides how many requests are in flight when a pod dies. Not scaled by --time-scale.
   */
  responseDelay?: Duration;
  /** gRPC server MaxConnectionAge / MaxConnectionAgeGrace. */
  maxConnectionAge?: Duration;
  maxConnectionAgeGrace?: Duration;
  /** preStop `sleep` before SIGTERM; terminationGracePeriodSeconds. */
  preStopSleep?: Duration;
  terminationGracePeriod?: Duration;
}

/** One load driver, running from `startTime` for `duration` (both scaled by --time-scale). */
export interface LoadSpec {
  name: string;
  /**
   * Built-in drivers; 'k6' runs the real k6 on `script`: HTTP (persistent or short-lived), or gRPC
   * unary calls on k6's own client (grpc-go, one channel per VU; no `client`, no `keepalive`). @default 'builtin'
   */
  driver?: 'builtin' | 'k6';
  /** k6 only: the script, a name in scenarios/k6/. @default 'http-shares.ts', or 'grpc-shares.ts' for gRPC */
  script?: string;
  protocol: 'http' | 'grpc';
  /** HTTP connection model; gRPC: the call (unary | server-stream | bidi). */
  model?: 'persistent' | 'short-lived' | 'pooled' | 'h2';
  call?: 'unary' | 'server-stream' | 'bidi';
  /**
   * gRPC only: the client library. 'h2' is the built-in unary client on plain HTTP/2 (sees real
   * GOAWAY frames); 'grpc-js' the reference Node.js client. @default h2 where it can serve, else grpc-js
   */
  client?: 'h2' | 'grpc-js';
  /** Connections (HTTP) or channels (gRPC). */
  connections: number;
  /** k6 executor names: open model (rate) or closed model (vus). */
  executor: 'constant-arrival-rate' | 'constant-vus';
  /** Requests per second in total (constant-arrival-rate). */
  rate?: number;
  /** Requests in flight (constant-vus). */
  vus?: number;
  /** @default 0 */
  startTime?: Duration;
  duration: Duration;
  /** Where the client runs: a pod in the cluster, or outside (NodePort/LoadBalancer). @default 'pod' */
  from?: 'pod' | 'external';
  /** pooled: idle timeout / max connection age of the client's pool. */
  idleTimeout?: Duration;
  maxConnectionAge?: Duration;
  /** gRPC: client keepalive pings. */
  keepalive?: Duration;
  /** χ² sampling unit. @default 'requests' for short-lived, else 'connections' */
  unit?: 'connections' | 'requests';
}

/** A fault or change at time `at` (scaled by --time-scale), aimed at the scenario's workload. */
export type ChaosSpec =
  | { at: Duration; action: 'scale'; replicas: number }
  | { at: Duration; action: 'rollout-restart' }
  | { at: Duration; action: 'delete-pod'; count?: number; force?: boolean }
  | { at: Duration; action: 'kill-process'; count?: number };

/**
 * A pass/fail condition on a run, k6-threshold style: `metric op value`, e.g.
 * 'metrics.chiSquareP >= 0.001', 'errors.total == 0', 'metrics.maxMinRatio < 1.5',
 * 'metrics.rebalanceSeconds <= 30'. Paths are into the run's report (see harness/report/model.ts).
 */
export interface CheckSpec {
  name: string;
  expect: string;
  /** Only for these variants (default: all). */
  variants?: string[];
}

/** A variant changes the workload or load, e.g. the mitigation of the failure mode. */
export interface VariantSpec {
  name: string;
  description?: string;
  workload?: Partial<WorkloadSpec>;
  /** Per load name, fields to override. */
  load?: Record<string, Partial<LoadSpec>>;
  /** Replaces the scenario's chaos for this variant (e.g. a graceful delete versus a crash). */
  chaos?: ChaosSpec[];
}

export interface ScenarioSpec {
  /** kebab-case; names the report. */
  name: string;
  /** What the scenario shows, in a sentence or two (goes into the report). */
  description: string;
  /** Lab nodes. @default 3 */
  nodes?: number;
  /** @default ['iptables'] */
  proxyModes?: ProxyMode[];
  workload: WorkloadSpec;
  load: LoadSpec[];
  chaos?: ChaosSpec[];
  checks?: CheckSpec[];
  /** At least one; the first is the baseline. @default [{ name: 'default' }] */
  variants?: VariantSpec[];
  /**
   * After a scale-out, a run has rebalanced in the first second in which every new pod carries at
   * least this fraction of its fair share (metrics.rebalanceSeconds). With few connections the
   * split per second is noisy: state what the scenario can expect. @default 0.8
   */
  rebalanceFraction?: number;
  /**
   * Cilium's options for the `cilium` proxy mode: socket LB scope, LB algorithm, NodePort mode
   * (see harness/lab/spec.ts). @default { socketLb: 'hostns-only', lbAlgorithm: 'random', nodePortMode: 'snat' }
   */
  cilium?: Partial<CiliumOptions>;
  /**
   * IPVS's options for the `ipvs` proxy mode: the scheduler new connections go through
   * (kube-proxy's `ipvs.scheduler`; see harness/lab/spec.ts). @default { scheduler: 'rr' }
   */
  ipvs?: Partial<IpvsOptions>;
}
