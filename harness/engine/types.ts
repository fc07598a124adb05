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
  /** Rolling update bounds of the Deployment (a count or a percentage). @default Kubernetes' 25% / 25% */
  maxSurge?: number | string;
  maxUnavailable?: number | string;
  /**
   * Only these nodes (by number, 1 = the first) may run the pods: a required node affinity. With
   * the default spread, 3 replicas on nodes [1, 2] land 2 + 1 — how pods are unevenly spread over nodes.
   */
  nodes?: number[];
  /** A PodDisruptionBudget for the pods (node-drain's evictions honour it). */
  pdb?: { minAvailable?: number | string; maxUnavailable?: number | string };
  /**
   * How long pods stay bound to a NotReady / unreachable node before they are evicted (the
   * tolerations Kubernetes adds with 300 s by default). @default 300s
   */
  notReadyToleration?: Duration;
  /**
   * An Ingress controller in front of the Service (a real Traefik v3, README "The Ingress layer"):
   * loads with `via: 'ingress'` reach the pods through it, one request at a time.
   */
  ingress?: IngressSpec;
}

/** The run's Ingress controller: its own Deployment and Service, and an Ingress to the workload's Service. */
export interface IngressSpec {
  /** Controller replicas. @default 1 */
  replicas?: number;
  /**
   * 'hostname': a topology spread constraint (maxSkew 1, DoNotSchedule) keeps replicas on
   * different nodes; 'none': the scheduler's default scoring decides. @default 'none'
   */
  spread?: 'none' | 'hostname';
  /** Only these nodes (by number) may run the controller: reproduces replicas that all landed on one node. */
  nodes?: number[];
  /** A PodDisruptionBudget for the controller's pods. */
  pdb?: { minAvailable?: number | string; maxUnavailable?: number | string };
  /** The controller's Service: external clients come through a NodePort or LoadBalancer one. @default 'ClusterIP' */
  serviceType?: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  externalTrafficPolicy?: 'Cluster' | 'Local';
  /**
   * How the controller picks a backend. 'round-robin': Traefik's own pick per request over the pod
   * addresses it reads from the EndpointSlices (weighted round robin, equal weights). 'native':
   * Traefik sends every request to the Service's ClusterIP (its nativeLB), so kube-proxy picks a pod
   * per connection Traefik opens, and Traefik keeps those alive: the pinning comes back one hop in.
   * Traefik's other strategies (p2c, hrw, leasttime) are set only through its file and CRD
   * providers, not the Ingress provider the harness drives. @default 'round-robin'
   */
  lb?: IngressLb;
}

export const ingressLbs = ['round-robin', 'native'] as const;
export type IngressLb = (typeof ingressLbs)[number];

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
  /**
   * What the client connects to: the workload's Service, or the Ingress controller's Service
   * (workload.ingress), which proxies each request to a pod. HTTP only. @default 'service'
   */
  via?: 'service' | 'ingress';
  /** pooled: idle timeout / max connection age of the client's pool. */
  idleTimeout?: Duration;
  maxConnectionAge?: Duration;
  /** gRPC: client keepalive pings. */
  keepalive?: Duration;
  /** χ² sampling unit. @default 'requests' for short-lived, else 'connections' */
  unit?: 'connections' | 'requests';
  /**
   * Load pods running this load together, each on a different node where there are enough (so
   * every node's proxy is exercised), each with the whole load: its connections and its rate (N
   * generators offer N × rate). They start at one shared time and their results merge exactly:
   * counts summed, latency histograms merged. Only `from: 'pod'`. @default 1
   */
  generators?: number;
  /**
   * One generator on every node of the cluster (off nodes a fault aims at), however many there are:
   * `generators` sized to the cluster (on an existing cluster, its own node count). Only `from: 'pod'`,
   * and not with `generators`.
   */
  perNode?: boolean;
}

/**
 * A node by its 1-based index (node-1 … node-N, the order `kth lab status` lists them; on other
 * providers the nodes sorted by name), or every node.
 */
export type NodeRef = number | 'all';

/**
 * A fault or change at time `at` (scaled by --time-scale), aimed at the scenario's workload or a
 * node. Faults with a `duration` (scaled) are undone when it ends, and in any case when the run ends.
 */
export type ChaosSpec =
  | { at: Duration; action: 'scale'; replicas: number }
  | { at: Duration; action: 'rollout-restart' }
  /** A rollout by a template change (env vars of the server container), as a new version ships. */
  | { at: Duration; action: 'rollout'; env: Record<string, string> }
  | { at: Duration; action: 'delete-pod'; count?: number; force?: boolean }
  | { at: Duration; action: 'kill-process'; count?: number }
  /** Pods fail their readiness probe (the servers' control endpoint) for `duration`: out of the endpoints, still alive. */
  | { at: Duration; action: 'readiness-flip'; count?: number; duration: Duration }
  /** kube-proxy stopped (SIGSTOP) for `duration`: its rules stop following endpoint changes. @default node 1 */
  | { at: Duration; action: 'kube-proxy-pause'; node?: NodeRef; duration: Duration }
  /** kube-proxy restarted (as its DaemonSet pod would be). @default node 1 */
  | { at: Duration; action: 'kube-proxy-restart'; node?: NodeRef }
  /** Cordon, then evict the node's pods through the Eviction API (PodDisruptionBudgets honoured). */
  | { at: Duration; action: 'node-drain'; node: number }
  | { at: Duration; action: 'node-uncordon'; node: number }
  /**
   * The node machine fails: its network is cut (its pods become unreachable) and its agent stops
   * (as a kubelet dies), until `node-up` or `duration` ends.
   */
  | { at: Duration; action: 'node-down'; node: number; duration?: Duration }
  | { at: Duration; action: 'node-up'; node: number }
  /**
   * Packet loss (percent) or a partition on `count` pods' interfaces, or on a node's, for `duration`.
   * `delay`/`jitter` need the kernel's netem qdisc.
   */
  | { at: Duration; action: 'network'; target: 'pod' | 'node'; node?: number; count?: number; loss?: number; partition?: boolean; delay?: Duration; jitter?: Duration; duration: Duration };

/**
 * A pass/fail condition on a run, k6-threshold style: `metric op value`, e.g.
 * 'metrics.chiSquareP >= 0.001', 'errors.total == 0', 'metrics.maxMinRatio < 1.5',
 * 'metrics.rebalanceSeconds <= 30'. Paths are into the run's report (see harness/report/model.ts);
 * `generators.<load>.<n>.<field>` reads generator n (from 1) of a distributed load, e.g.
 * 'generators.client.1.trafficAfterRemovalMs > 3000'.
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
  /** What the report ends with: the variant to pick, per proxy mode (see RecommendSpec). */
  recommend?: RecommendSpec;
}

/** Workload settings (numbers, or durations) a recommendation can order its candidates by. */
export type RecommendSetting = 'replicas' | 'keepAliveTimeout' | 'maxRequestsPerConnection' | 'responseDelay' | 'maxConnectionAge' | 'maxConnectionAgeGrace' | 'preStopSleep' | 'terminationGracePeriod' | 'notReadyToleration';

/**
 * A recommendation a sweep ends with: of its candidate variants, in order of preference, the first
 * whose run passed every one of its checks and every `require` — per proxy mode, in every report view
 * (report.json `recommendations`). Deliberately one rule ("first qualifying candidate") with two ways
 * to order: most sweeps trade a cost that grows with one setting (smaller MaxConnectionAge: more
 * reconnects), so `smallest` reads it from each variant's workload; anything else lists variants
 * best first. Qualifying is the scenario's own checks, so there is no second threshold language.
 */
export interface RecommendSpec {
  /** What is chosen, as the report names it: 'MaxConnectionAge'. */
  subject: string;
  /** What a candidate must achieve, in words (the checks say it in numbers): 'meets the rebalance target with no failed RPCs'. */
  goal: string;
  /**
   * The candidates, best first: the variants whose workload sets this setting, smallest value first
   * (variants without it are no candidates); or variant names in order of preference.
   */
  by: { smallest: RecommendSetting } | { variants: string[] };
  /** Further workload settings the recommendation quotes (e.g. 'maxConnectionAgeGrace'). */
  quote?: RecommendSetting[];
  /** Besides its checks, what a candidate's run must show, in check syntax: 'errors.total == 0'. */
  require?: string[];
}
