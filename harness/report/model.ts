import type { RunSummary } from '../analysis/run-summary.ts';

/**
 * report.json: the one data model every renderer (summary.md, index.html, junit.xml, diff) reads.
 * The fields design.md names are a contract: only ever add fields, and bump `schemaVersion` on
 * any change a reader must know about.
 */
export const reportSchemaVersion = 1;

export type RunStatus = 'passed' | 'failed' | 'error' | 'unsupported';

/** One evaluated check: `expect` as written, the value found at its path, pass or not. */
export interface CheckResult {
  name: string;
  expect: string;
  pass: boolean;
  /** The measured value (null when the metric could not be computed: the check fails). */
  value: number | null;
  threshold: number;
  /** Why it failed or could not be evaluated, for people. */
  note?: string;
}

/** A point on the run's timeline, ms from the run's start (chaos, endpoint changes, phases). */
export interface TimelineEntry {
  t: number;
  kind: string;
  detail: string;
}

/** Requests per second per pod (one load, one second): the data of the share-over-time chart. */
export interface SeriesPoint {
  /** ms from the run's start (bucket start). */
  t: number;
  load: string;
  pod: string;
  requests: number;
  errors: number;
}

/** One (proxy mode × variant) run of a scenario. */
export interface RunReport extends Partial<RunSummary> {
  proxyMode: string;
  variant: string;
  status: RunStatus;
  /** Why the run errored or is unsupported (e.g. "IPVS needs the ip_vs kernel module"). */
  reason?: string;
  /** ms, monotonic clock, from the run's start to its end. */
  durationMs: number;
  metrics?: RunSummary['metrics'] & {
    rebalanceSeconds?: number | null;
    /** The fraction of its fair share each new pod had to reach for rebalanceSeconds. */
    rebalanceFraction?: number;
    /** Longest time from a pod becoming ready in the EndpointSlices to its first response (ms). */
    propagationLagMs?: number | null;
    /** Longest time a pod still answered after leaving the ready endpoints (ms; negative: it stopped first). */
    trafficAfterRemovalMs?: number | null;
    crossNodeRatio?: number | null;
    /** From the first chaos action to the first pod leaving the ready endpoints after it (ms; null: none left). */
    endpointsRemovedAfterFaultMs?: number | null;
    /** Pods that were not serving when the clock started and became ready during the run (replacements, a scale-out). */
    newPodsReady?: number;
    /**
     * The share of requests answered without an error while a lasting fault was in force (a node
     * down, a network fault, a paused kube-proxy…: from the action taking effect to its undo).
     * Counted over the outcomes that ended in the span's steady part, after the fault had lasted a
     * request timeout (10 s): each was sent under the fault, and the failures sent under it had
     * time to end. From the recorder's one-second samples lying wholly inside (a sample crossing an
     * edge is left out). Absent without a lasting fault; null when no sample lay inside (a fault
     * shorter than the timeout has no steady part).
     */
    servedDuringFaults?: number | null;
    /** Of the requests through the Ingress, the largest share the controller replicas of one node carried (1: all crossed one node). */
    ingressTopNodeShare?: number | null;
    /** GOAWAYs the clients received (HTTP/2 and gRPC loads): each connection told to go away counts once. */
    goaways?: number;
    /** Of those, how many were inferred rather than seen (grpc-js exposes no GOAWAY: a channel going idle without a failed call). */
    goawaysInferred?: number;
  };
  /**
   * External runs through a LoadBalancer: which nodes the load balancer sent new connections to
   * when the loads ended, and why (Ready under Cluster; the healthCheckNodePort's answer under Local).
   */
  loadBalancer?: { nodes: { node: string; receives: boolean; detail: string }[] };
  /** Per endpoint change during the run: when the slice said so and when traffic followed (ms from the run's start). */
  propagation?: { pod: string; change: 'added' | 'removed'; sliceAtMs: number; requestAtMs: number | null; lagMs: number | null }[];
  /** What carried the traffic: kube-proxy or Cilium, its version, the options compared on, the kernel features it enabled. */
  dataplane?: { implementation: string; version: string; options: Record<string, string | number | boolean>; features?: Record<string, string | number | boolean>; kernel?: RunKernel };
  /**
   * The Ingress controller loads with `via: 'ingress'` went through: which one, its version, and
   * where its replicas ran when the loads started.
   */
  ingress?: {
    controller: string;
    version: string;
    image: string;
    /** How it picked backends: 'round-robin' (a pod per request), 'native' (the Service's ClusterIP: the proxy picks per controller connection). */
    lb?: 'round-robin' | 'native';
    /** Each replica and the requests it carried (credited by the source address the backend pods saw). */
    replicas: { pod: string; node: string; podIp: string; requests: number }[];
    /** Requests through the Ingress whose source address was no replica's (absent: none). */
    unknownPeer?: number;
  };
  /** The sample server that answered: its runtime and library (grpc-js and grpc-go time MaxConnectionAge differently). */
  server?: { kind: 'http' | 'grpc'; runtime: 'node' | 'go'; implementation: string };
  /**
   * Loads run by several generators (`generators` in the scenario): one row per generator, in load
   * order. Absent when every load ran from one place.
   */
  generators?: GeneratorRow[];
  /** Per load name: its own summary (the run-level fields above sum every load). */
  loads?: Record<string, RunSummary>;
  timeline: TimelineEntry[];
  series: SeriesPoint[];
  checks: CheckResult[];
}

/**
 * The kernel a run's nodes ran on. A guest kernel under emulation (tcg) runs everything ~10×
 * slower: its distributions, error counts and rule shapes compare with host runs, its latencies
 * and propagation times do not.
 */
export interface RunKernel {
  where: 'host' | 'guest';
  release: string;
  /** Guest only: kvm, or tcg (qemu's emulation). */
  accel?: 'kvm' | 'tcg';
  /** Guest only: the Debian package it booted. */
  package?: string;
}

export interface Report {
  schemaVersion: number;
  runId: string;
  scenario: { name: string; description: string; file: string; sha256: string };
  startedAt: string;
  finishedAt: string;
  /** How durations were scaled (--time-scale); 1 = as written. */
  timeScale: number;
  environment: {
    provider: string;
    kubernetesVersion: string;
    /** The host's kernel (runs in a guest record theirs in runs[].dataplane.kernel). */
    kernel: string;
    harnessVersion: string;
    host: string;
    /** Proxy modes whose nodes ran in a guest kernel, and which: e.g. "ipvs: guest 6.1.0-57-amd64, emulated (qemu TCG)". */
    guestKernels?: string[];
    /** `--provider existing`: what the cluster is (its version, nodes, proxy mode and where that was read, cloud hints). */
    cluster?: { context: string; server: string; kubernetesVersion: string; nodes: number; proxyMode: { mode: string; source: string }; cloud?: string };
    /** `--provider kind`: the kind release, the node image, and each proxy mode's cluster with its creation time. */
    kind?: KindEnvironment;
  };
  runs: RunReport[];
  /**
   * What a sweep recommends, one per proxy mode, when its scenario asks for one (ScenarioSpec
   * `recommend`); absent otherwise. Optional: readers of schemaVersion 1 need not know it.
   */
  recommendations?: Recommendation[];
}

export interface KindEnvironment {
  kindVersion: string;
  nodeImage: string;
  /** Made for the run (createMs: `kind create cluster` until every node was Ready), or kept from before it (`--cluster`). */
  clusters: { proxyMode: string; name: string; nodes: number; createMs?: number; kept?: true }[];
}

/** The pick of a sweep in one proxy mode: the first candidate (in order of preference) whose run qualified. */
export interface Recommendation {
  proxyMode: string;
  /** What is chosen: 'MaxConnectionAge'. */
  subject: string;
  /** The recommended variant; null when no candidate qualified (or none was measured). */
  variant: string | null;
  /** The recommendation in one sentence, as every view shows it. */
  text: string;
  /** How it was chosen: the candidates in order with their outcome, and the rule. */
  basis: string;
  /** In order of preference. `qualified` null: not measured (error, unsupported, not run). */
  candidates: { variant: string; settings: Record<string, string>; qualified: boolean | null; why?: string }[];
}

/** Overall outcome: error beats failed beats passed; unsupported runs alone do not fail a report. */
export function reportStatus(report: Pick<Report, 'runs'>): RunStatus {
  const statuses = report.runs.map((run) => run.status);
  if (statuses.includes('error')) return 'error';
  if (statuses.includes('failed')) return 'failed';
  if (statuses.length > 0 && statuses.every((status) => status === 'unsupported')) return 'unsupported';
  return 'passed';
}

/** What one load generator delivered: its node, its own counts and schedule, and whether it kept up. */
export interface GeneratorClock {
  /** The server pod whose clock was the reference. */
  reference: string;
  /** reference − this generator's clock, ms; null when it could not be measured (note says why). */
  offsetMs: number | null;
  /** The true offset lies within offsetMs ± this. */
  uncertaintyMs: number | null;
  /**
   * When it began, on the reference clock, after the load's earliest generator: how together they
   * started, whatever their own clocks say (± the sum of the two generators' uncertainties).
   */
  startAfterFirstMs: number | null;
  note?: string;
}

export interface GeneratorRow {
  load: string;
  /** 1-based. */
  generator: number;
  node: string;
  /** Requests it sent (its schedule's count). */
  sent: number;
  /** Responses it got back, and of all its requests how many failed. */
  requests: number;
  errors: number;
  /** Scheduled requests it could not send (open model, no free connection). */
  dropped: number;
  /** Requests sent per second of the load's duration. */
  ratePerSecond: number;
  p99Ms: number | null;
  /** How late it began against the shared start time, by its own clock; null when it was not given one. */
  startedLateMs: number | null;
  /**
   * Its clock against the load's reference server pod (the same pod for every generator of a load),
   * measured NTP-style before it started (load/clock-offset.ts); absent when not measured.
   */
  clock?: GeneratorClock;
  /**
   * When pods joined or left the endpoints during the run, the run's propagation metrics from this
   * generator's requests alone — what its own node's proxy did: the longest a new pod waited for
   * its first request from here after Ready, and the longest a removed pod still got requests from
   * here after it left (null: none did). Each is absent when no pod joined, or none left.
   */
  propagationLagMs?: number | null;
  trafficAfterRemovalMs?: number | null;
  /** ok; behind: below 95 % of its rate or dropped requests; failed: no result. */
  status: 'ok' | 'behind' | 'failed';
  note?: string;
}
