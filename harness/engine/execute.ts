import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import type { RunSummary } from '../analysis/run-summary.ts';
import { environmentError } from '../core/errors.ts';
import { apply, type Cluster, ensureNamespace, podsOf, waitForDeploymentPods, waitForLoadBalancer, waitForNodesFit, waitForPodReady } from '../kube/cluster.ts';
import { watchEndpointSlices } from '../kube/slice-watch.ts';
import { crossCheck, explainedByErrors } from '../analysis/cross-check.ts';
import { changesDuringRun, endpointTransitions, initialTransitionTime, propagationLag } from '../analysis/propagation.ts';
import type { ServerCounters } from '../load/server-metrics.ts';
import type { ErrorSample, RequestSample } from '../recorder/events.ts';
import { servedWithin } from '../analysis/windows.ts';
import { defaultRequestTimeoutMs } from '../load/scheduler.ts';
import type { GeneratorRow, RunReport, TimelineEntry } from '../report/model.ts';
import { clientPod } from '../../manifests/client-pod.ts';
import { ManagedByLabel, RunIdLabel, runSelector } from '../../manifests/names.ts';
import { serverClockUrl, serverMetricsUrl } from '../../manifests/sample-service.ts';
import type { ChaosTarget, NodeFaults } from './chaos.ts';
import { scheduleChaos } from './chaos-schedule.ts';
import { serverCountsOverRun, watchServerPods } from './server-counts.ts';
import { evaluateChecks } from './checks.ts';
import { loadEvents, rebalanceSeconds, seriesOf } from './collect.ts';
import { loadArgv } from './load-args.ts';
import { mergeRuns } from './merge.ts';
import type { ChaosSpec, CheckSpec, LoadSpec, WorkloadSpec } from './types.ts';
import { ingressControllerName, ingressObjects, workloadObjects } from './workload.ts';
import { awaitIngress, ingressReport } from './ingress-stage.ts';
import { sleepUntil } from './sleep-until.ts';
import { clientName, clientNodes, followedEndpoints, GENERATOR_LEAD_MS, generatorLoadName, generatorRow, type GeneratorSummary, startsOnOneClock } from './generators.ts';
import { newLatencyHistogram, percentilesMs } from '../recorder/histogram.ts';
import { type RunProgress, startProgress } from './progress.ts';
import { prefixedImageRef } from '../workloads/image/names.ts';

/** One (proxy mode × variant) run, resolved from the plan: durations in ms, already scaled. */
export interface ResolvedRun {
  proxyMode: string;
  variant: string;
  workload: WorkloadSpec;
  loads: { spec: LoadSpec; startMs: number; durationMs: number }[];
  chaos: { spec: ChaosSpec; atMs: number }[];
  checks: CheckSpec[];
  /** Fraction of its fair share every new pod must reach for a scale-out to count as rebalanced. */
  rebalanceFraction: number;
}

/** What the engine needs from a provider's cluster to run one variant (lab today). */
/** A client's process, on the host or in a lab guest: the parts of a ChildProcess the engine uses. */
export interface ClientProcess {
  readonly stdout: NodeJS.ReadableStream | null;
  readonly stderr: NodeJS.ReadableStream | null;
  kill(signal?: NodeJS.Signals): boolean;
  once(event: 'close', listener: (code: number | null) => void): unknown;
}

export interface RunTarget {
  cluster: Cluster;
  /** Runs `kth <argv>` where the scenario's clients live: inside a client pod, or outside the cluster. */
  spawnClient(where: { pod: V1Pod } | 'external', argv: readonly string[]): ClientProcess;
  killProcess(namespace: string, pod: V1Pod): Promise<string>;
  /** Node, kube-proxy and network faults; absent where the provider cannot inject them. */
  faults?: NodeFaults;
  /** The load balancer's view of a LoadBalancer Service: which nodes receive new connections, and why. */
  loadBalancerNodes?(namespace: string, service: string): Promise<NonNullable<RunReport['loadBalancer']>['nodes'] | undefined>;
  /** How much longer than on a host kernel pods take to start here (a guest kernel under emulation); default 1. */
  startupScale?: number;
  /** The run's namespace and its extra labels; default `kth-<variant>` (a lab is the run's alone). */
  namespaceFor?(variant: string): { name: string; labels: Record<string, string> };
  /** Called once a run is over, however it ended: a provider that shares its cluster removes the run's namespace. */
  release?(namespace: string): Promise<void>;
  /** Registry prefix for the harness images (a cluster that pulls them from the user's registry). */
  imagePrefix?: string;
  /** How long before its start time a client is started (a pod must be scheduled and pulled first); default 0. */
  clientLeadMs?: number;
}

export interface ExecuteOptions {
  dir: string;
  runId: string;
  log: (line: string) => void;
  signal?: AbortSignal;
  /** Structured progress every 500 ms while the loads run (phase, elapsed, shares so far); the caller renders it. */
  progress?: (event: RunProgress) => void;
}

const serviceName = 'web';
const selectorOf = (runId: string) => runSelector(serviceName, runId);

/** Namespace of one variant's objects (RFC 1123, ≤ 63). */
export function namespaceFor(variant: string): string {
  return `kth-${variant.toLowerCase().replace(/[^a-z0-9-]+/g, '-')}`.slice(0, 63).replace(/-+$/, '');
}

interface Finished {
  stdout: string;
  stderr: string;
  code: number | null;
}

function finished(child: ClientProcess): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ stdout, stderr, code })));
}


/**
 * Whether a load's clients report GOAWAYs: the built-in HTTP/2 and gRPC clients do (seen, or for
 * grpc-js inferred); HTTP/1.1 has no GOAWAY, and k6 does not say (its count would be a false 0).
 */
function seesGoaways(load: { spec: LoadSpec }): boolean {
  return (load.spec.driver ?? 'builtin') === 'builtin' && (load.spec.protocol === 'grpc' || load.spec.model === 'h2');
}

/** Actions after which the same pods serve to the end: the servers' own counters still cross-check the clients. */
const keepsPods = new Set<string>(['readiness-flip', 'kube-proxy-pause', 'kube-proxy-restart', 'node-uncordon']);

/** Why the target cannot perform an action, or undefined. */
function chaosUnsupported(target: RunTarget, spec: ChaosSpec): string | undefined {
  const needsProvider = ['kube-proxy-pause', 'kube-proxy-restart', 'node-down', 'node-up', 'network'].includes(spec.action);
  if (!needsProvider) return undefined;
  return target.faults ? target.faults.unsupported(spec) : 'this provider cannot inject node or network faults';
}

/** pod=URL of each server's own counters. */
function metricsEndpoints(pods: readonly V1Pod[]): string[] {
  return pods.map((pod) => `${pod.metadata?.name}=${serverMetricsUrl(pod)}`);
}

/**
 * Runs one variant on a ready cluster: deploy → wait ready → client → settle → loads and chaos on
 * one clock → collect → checks. Throws only for infrastructure failures (the caller records the
 * run as `error`); a failed check is a result.
 */
export async function executeRun(target: RunTarget, run: ResolvedRun, options: ExecuteOptions): Promise<RunReport> {
  const own = target.namespaceFor?.(run.variant) ?? { name: namespaceFor(run.variant), labels: {} };
  try {
    return await executeIn(target, run, options, own);
  } finally {
    await target.release?.(own.name);
  }
}

async function executeIn(target: RunTarget, run: ResolvedRun, options: ExecuteOptions, own: { name: string; labels: Record<string, string> }): Promise<RunReport> {
  const { cluster } = target;
  const label = `[${run.proxyMode}/${run.variant}]`;
  const namespace = own.name;
  const runId = options.runId;
  const started = performance.now();
  const timeline: TimelineEntry[] = [];

  options.log(`${label} deploying ${run.workload.replicas} × ${run.workload.server} server in ${namespace}`);
  await ensureNamespace(cluster, namespace, { ...own.labels, [RunIdLabel]: runId, [ManagedByLabel]: 'kube-traffic-harness' });
  // A provider that cannot do one of the run's faults says so before anything is deployed.
  for (const { spec } of run.chaos) {
    const why = chaosUnsupported(target, spec);
    if (why) throw environmentError(`${label} chaos action ${spec.action}: ${why}`, { hint: 'remove the action from the scenario, or run it where the provider can inject it' });
  }
  // Nodes by number (node 1 first; node-10 after node-9), and their addresses for hop counting.
  const nodeList = (await cluster.core.listNode()).items;
  const nodes = nodeList.map((node) => node.metadata?.name as string).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const nodeAddresses = Object.fromEntries(nodeList.flatMap((node) => {
    const ip = node.status?.addresses?.find((address) => address.type === 'InternalIP')?.address;
    return ip ? [[node.metadata?.name as string, ip]] : [];
  }));
  // Clients measure the faults, they must not suffer them: off every node a node fault aims at.
  const faulted = new Set(run.chaos.flatMap(({ spec }) => (['node-down', 'node-drain', 'network'].includes(spec.action) && 'node' in spec && typeof spec.node === 'number' ? [spec.node] : [])));
  // A node a fault aims at must hold its share of the pods when the fault comes: after an earlier
  // run took it down, the control plane takes seconds to see it back, and pods deployed before
  // then all land elsewhere (the fault would then hit nothing).
  const faultedNames = [...faulted].flatMap((index) => (nodes[index - 1] ? [nodes[index - 1]!] : []));
  await waitForNodesFit(cluster, faultedNames, 120_000 * (target.startupScale ?? 1)).catch((error: Error) => {
    throw environmentError(`${label} a node the run's faults aim at is not fit to take pods: ${error.message}`, { hint: 'an earlier fault may not have been undone: see the node with `kubectl describe node`, or start a fresh cluster' });
  });
  const ingress = run.workload.ingress;
  await apply(cluster, [
    ...workloadObjects(run.workload, { name: serviceName, namespace, runId }, nodes, target.imagePrefix),
    ...(ingress ? ingressObjects(ingress, { namespace, runId, service: serviceName }, nodes) : []),
  ]);
  await waitForDeploymentPods(cluster, namespace, serviceName, selectorOf(runId), 180_000 * (target.startupScale ?? 1));
  // External loads need the LoadBalancer's address, which the LB controller assigns on its own
  // time: pods that start fast (the Go servers) are Ready before it.
  const viaIngress = (load: LoadSpec) => load.via === 'ingress';
  const external = run.loads.some((load) => load.spec.from === 'external' && !viaIngress(load.spec)) && run.workload.serviceType === 'LoadBalancer';
  const service = external
    ? await waitForLoadBalancer(cluster, namespace, serviceName, 60_000 * (target.startupScale ?? 1))
    : await cluster.core.readNamespacedService({ name: serviceName, namespace });
  const ingressExternal = run.loads.some((load) => load.spec.from === 'external' && viaIngress(load.spec)) && ingress?.serviceType === 'LoadBalancer';
  const ingressEntry = ingress ? await awaitIngress(cluster, { namespace, runId }, ingress, ingressExternal, target.startupScale ?? 1) : undefined;
  const livePods = async () => (await podsOf(cluster, namespace, selectorOf(runId))).filter((pod) => !pod.metadata?.deletionTimestamp);
  let servers = await livePods();
  const podsBefore = servers.map((pod) => pod.metadata?.name as string);

  // The loads may expect exactly the starting pods only while the pods stay the same.
  const stablePods = run.chaos.every(({ spec }) => keepsPods.has(spec.action));
  // The servers' control endpoints (counters, readiness) are reached from a client pod: pod
  // addresses are reachable only inside the cluster, and lab addresses are never dialled from the host.
  // One client pod per generator of the most distributed load (generators.ts), spread over nodes.
  // perNode: one on every node the run's faults leave alone, as many as the cluster has.
  const generatorsOf = (load: LoadSpec) => (load.from === 'external' ? 1 : load.perNode ? Math.max(1, nodes.length - faulted.size) : (load.generators ?? 1));
  const placement = clientNodes(nodes, faulted, Math.max(1, ...run.loads.map((load) => generatorsOf(load.spec))));
  await apply(cluster, placement.map((node, i) => clientPod({ name: clientName(i), namespace, runId, image: prefixedImageRef('load-driver', target.imagePrefix), ...(node ? { nodeName: node } : {}) })));
  const clients: V1Pod[] = await Promise.all(placement.map((_, i) => waitForPodReady(cluster, namespace, clientName(i), 120_000 * (target.startupScale ?? 1))));
  const client = clients[0]!;
  const targetFor = (load: LoadSpec): string => {
    const external = load.from === 'external';
    // Through the Ingress, the client connects to the controller's Service; the controller picks a pod per request.
    const entry = viaIngress(load) && ingressEntry ? ingressEntry.service : service;
    const port = entry.spec?.ports?.[0];
    const host = external ? entry.status?.loadBalancer?.ingress?.[0]?.ip : entry.spec?.clusterIP;
    if (!host || !port) throw environmentError(`${label} Service ${namespace}/${entry.metadata?.name} has no ${external ? 'LoadBalancer address' : 'ClusterIP'}`, { hint: external ? `external loads need ${entry === service ? 'workload.serviceType' : 'workload.ingress.serviceType'} LoadBalancer` : undefined });
    const address = `${host}:${port.port}`;
    return load.protocol === 'http' ? `http://${address}/` : address;
  };
  const where = (load: LoadSpec, generator = 0) => (load.from === 'external' ? ('external' as const) : { pod: clients[generator]! });

  // Settle once from each place loads run (every client pod a load uses, or outside): the proxy
  // there sends to every Ready pod before the clock starts. Every load speaks the workload's protocol.
  // Through a controller that sends to the ClusterIP (lb: native) each probe rides the controller's
  // kept-alive connections, which reach only the pods they were opened to (what such a run
  // measures): there, settled means the route answers, several times in a row.
  const pinnedByController = (load: LoadSpec) => viaIngress(load) && ingress?.lb === 'native';
  const places = new Map(run.loads.flatMap((load) => Array.from({ length: generatorsOf(load.spec) }, (_, i) => [load.spec.from === 'external' ? 'external' : clientName(i), { load: load.spec, generator: i }] as const)));
  await Promise.all([...places].map(async ([place, { load, generator }]) => {
    // From outside, the load balancer picks a node per connection: only a long streak of answers
    // shows that the path through every node works (3 in a row can end before one was tried).
    const streak = place === 'external' ? ['--settle-streak', String(8 * nodes.length)] : [];
    const argv = ['load', load.protocol, '--target', targetFor(load), ...(pinnedByController(load) ? [] : ['--expect-pods', podsBefore.join(',')]), '--settle', '60s', ...streak, '--max-requests', '1', '--rate', '10', '--duration', '1s', '--json'];
    const result = await finished(target.spawnClient(where(load, generator), argv));
    if (result.code !== 0) throw environmentError(`${label} the path to the Service did not settle from ${place}: ${result.stderr.trim() || result.stdout.trim()}`);
    const settle = (JSON.parse(result.stdout) as { settle?: { settledMs: number; probes: number } }).settle;
    options.log(`${label} data path settled from ${place === 'external' ? 'external clients' : `${place} (${clients[generator]?.spec?.nodeName ?? '?'})`} (${settle?.probes ?? '?'} probes, ${Math.round(settle?.settledMs ?? 0)} ms)`);
  }));

  // The servers' own counts over the run, to cross-check the clients: each pod's count at the
  // start, then each container's final count from its termination message or a scrape at the end.
  const readCounters = async (pods: readonly V1Pod[], allowUnreachable = false): Promise<(ServerCounters | { pod: string; error: string })[]> => {
    if (pods.length === 0) return [];
    const result = await finished(target.spawnClient({ pod: client }, ['load', 'counters', '--server-metrics', metricsEndpoints(pods).join(','), ...(allowUnreachable ? ['--allow-unreachable'] : [])]));
    if (result.code !== 0) throw environmentError(`${label} could not read the servers' counters: ${result.stderr.trim()}`);
    return JSON.parse(result.stdout) as (ServerCounters | { pod: string; error: string })[];
  };
  const before = (await readCounters(servers)) as ServerCounters[];
  const serverPods = await watchServerPods(cluster, namespace, selectorOf(runId));

  // EndpointSlice changes on the run's clock: when pods became routable or left, and (with the
  // per-pod samples) how long traffic took to follow.
  const slices = await watchEndpointSlices(cluster, namespace, serviceName);
  // Clients that take a while to start (pods; a Node.js process, ~1 s) are started this much ahead,
  // all told the same start time: where several generators must start together, and on providers
  // whose clients are pods. A lone local client starts at its time, as it always has.
  const leadMs = target.clientLeadMs ?? (run.loads.some((load) => generatorsOf(load.spec) > 1) ? GENERATOR_LEAD_MS * (target.startupScale ?? 1) : 0);
  const t0 = Date.now() + leadMs;
  const endMs = Math.max(0, ...run.loads.map((load) => load.startMs + load.durationMs));
  options.log(`${label} running: ${run.loads.length} load(s), ${run.chaos.length} chaos action(s), ${(endMs / 1000).toFixed(1)} s`);
  const progress = setInterval(() => options.log(`${label} ${((Date.now() - t0) / 1000).toFixed(0)} s of ${(endMs / 1000).toFixed(0)} s`), 10_000);
  const live = options.progress ? startProgress({ emit: options.progress, dir: options.dir, proxyMode: run.proxyMode, variant: run.variant, loads: run.loads.map((load) => load.spec.name), t0, totalMs: endMs, timeline }) : undefined;
  const children = new Set<ClientProcess>();
  const abort = () => {
    for (const child of children) child.kill('SIGINT');
  };
  options.signal?.addEventListener('abort', abort, { once: true });

  // Generators on different nodes compare their clocks with one server pod's, so their starts can be put on one clock.
  const clockReference = servers[0] && run.loads.some((load) => generatorsOf(load.spec) > 1) ? { pod: servers[0].metadata?.name as string, url: serverClockUrl(servers[0]) } : undefined;
  const runGenerator = async (load: ResolvedRun['loads'][number], index: number) => {
    const name = generatorLoadName(load.spec.name, index);
    await sleepUntil(t0 + load.startMs - leadMs, options.signal);
    if (options.signal?.aborted) return { load, index, summary: undefined, eventsFile: '', problem: 'interrupted before it started' };
    const eventsFile = join(options.dir, `events-${run.proxyMode}-${run.variant}-${name}.ndjson`);
    const argv = ['load', ...loadArgv({ spec: load.spec, startMs: load.startMs, durationMs: load.durationMs, target: targetFor(load.spec), expectPods: stablePods ? podsBefore : [], eventsFile, nodeAddresses }), '--start-at', String(t0 + load.startMs),
      ...(clockReference && generatorsOf(load.spec) > 1 ? ['--clock-ref', clockReference.url] : [])];
    const child = target.spawnClient(where(load.spec, index), argv);
    children.add(child);
    await sleepUntil(t0 + load.startMs, options.signal);
    timeline.push({ t: Date.now() - t0, kind: 'load-start', detail: `${name}: ${load.spec.protocol} ${load.spec.model ?? load.spec.call ?? ''} ${load.spec.connections} connection(s)` });
    const result = await finished(child);
    children.delete(child);
    timeline.push({ t: Date.now() - t0, kind: 'load-end', detail: `${name} (exit ${result.code})` });
    // Exit 130 still prints the partial run: keep it.
    const summary = result.stdout.trim() ? (JSON.parse(result.stdout) as GeneratorSummary) : undefined;
    return { load, index, summary, eventsFile, problem: summary ? undefined : `load ${name} printed no result (exit ${result.code}): ${result.stderr.trim().slice(-500)}` };
  };
  const loadResults = run.loads.flatMap((load) => Array.from({ length: generatorsOf(load.spec) }, (_, index) => runGenerator(load, index)));

  let scaleOut: { atEpochMs: number; replicas: number } | undefined;
  const chaosTarget: ChaosTarget = {
    cluster, namespace, deployment: serviceName, selector: selectorOf(runId), nodes, deadline: t0 + endMs,
    killProcess: (pod) => target.killProcess(namespace, pod), ...(target.faults ? { faults: target.faults } : {}),
    async setReadiness(pods, ready) {
      const result = await finished(target.spawnClient({ pod: client }, ['load', 'readiness', '--server-metrics', metricsEndpoints(pods).join(','), '--ready', String(ready)]));
      if (result.code !== 0) throw new Error(`could not set readiness: ${result.stderr.trim().slice(-300)}`);
    },
  };
  const chaos = scheduleChaos(run.chaos, chaosTarget, { t0, timeline, signal: options.signal, log: (line) => options.log(`${label} ${line}`) });
  const chaosDone = chaos.done.then(({ scales }) => {
    scaleOut = scales.filter((scale) => scale.replicas > podsBefore.length).at(-1);
  });

  let results: Awaited<(typeof loadResults)[number]>[];
  try {
    results = await Promise.all(loadResults);
    await chaosDone;
  } catch (error) {
    serverPods.stop();
    throw error;
  } finally {
    await chaos.undoAll();
    clearInterval(progress);
    live?.stop();
    slices.stop();
    options.signal?.removeEventListener('abort', abort);
  }

  // What the load balancer did with the nodes, as the loads ended (a node skipped by its health check under Local).
  const lbNodes = external || ingressExternal ? await target.loadBalancerNodes?.(namespace, external ? serviceName : ingressControllerName).catch(() => undefined) : undefined;
  const loads: Record<string, RunSummary> = {};
  const problems: string[] = [];
  const samples: RequestSample[] = [];
  const errorSamples: ErrorSample[] = [];
  const throughIngress: RequestSample[] = [];
  const generatorSamples = new Map<string, RequestSample[]>();
  const series = [];
  const goaways = { seen: 0, inferred: 0 };
  const latency = newLatencyHistogram();
  const generators: GeneratorRow[] = [];
  for (const load of run.loads) {
    const mine = results.filter((result) => result.load === load);
    const loadLatency = newLatencyHistogram();
    for (const result of mine) {
      if (result.problem) problems.push(result.problem);
      if (!result.eventsFile) continue;
      const events = await loadEvents(result.eventsFile);
      samples.push(...events.samples);
      errorSamples.push(...events.errors);
      if (viaIngress(load.spec)) throughIngress.push(...events.samples);
      if (mine.length > 1) generatorSamples.set(`${load.spec.name}#${result.index + 1}`, events.samples);
      goaways.seen += events.goaways.seen;
      goaways.inferred += events.goaways.inferred;
      loadLatency.add(events.latency);
      series.push(...seriesOf(load.spec.name, events.samples, t0));
    }
    latency.add(loadLatency);
    const summaries = mine.flatMap((result) => (result.summary ? [result.summary] : []));
    // A load's generators merge exactly: counts summed, latency from the union of their histograms.
    const merged = summaries.length > 1 ? mergeRuns(summaries) : summaries[0];
    if (merged && summaries.length > 1) merged.latencyMs = percentilesMs(loadLatency);
    if (merged) loads[load.spec.name] = merged;
    if (mine.length > 1) {
      const rows = mine.map((result) => generatorRow({ load: load.spec.name, index: result.index, node: clients[result.index]?.spec?.nodeName ?? '', durationMs: load.durationMs, rate: load.spec.executor === 'constant-arrival-rate' ? load.spec.rate : undefined, summary: result.summary, ...(result.problem ? { problem: result.problem } : {}), ...(clockReference ? { clockReference: clockReference.pod } : {}) }));
      generators.push(...startsOnOneClock(rows, mine.map((result) => result.summary?.startedAt?.epochMs)));
    }
  }
  // Pods still stopping leave their final counters when they exit: wait for them, within their grace period.
  const graceMs = ((servers[0]?.spec?.terminationGracePeriodSeconds ?? 30) + 5) * 1000 * (target.startupScale ?? 1);
  await serverPods.settled(options.signal?.aborted ? 0 : graceMs);
  // Every pod that could have served: those at the start and those serving at the end (a
  // scale-out's new pods). One that got nothing is the finding, so it is counted with 0.
  servers = await livePods();
  // An interrupted run keeps what it measured and goes: no more reads from a cluster about to be removed.
  const atEnd = options.signal?.aborted ? [] : await readCounters(servers.filter((pod) => pod.status?.phase === 'Running'), true).catch(() => []);
  serverPods.stop();
  const expected = [...new Set([...podsBefore, ...servers.map((pod) => pod.metadata?.name as string)])];
  const ingressSummary = ingressEntry ? await ingressReport(cluster, namespace, ingressEntry, throughIngress, options.signal?.aborted ?? false) : undefined;
  const merged = mergeRuns(Object.values(loads), expected);
  // Several loads: the run's percentiles from every latency they recorded, never from their percentiles.
  if (merged && Object.keys(loads).length > 1) merged.latencyMs = percentilesMs(latency);
  if (merged && !options.signal?.aborted) {
    // Every load's responses summed against the servers' counts over the same span (not for a run cut short).
    const { counts, missing } = serverCountsOverRun(serverPods.pods, new Map(before.map((counters) => [counters.pod, counters.requests])), atEnd);
    merged.crossCheck = crossCheck(new Map(merged.pods.filter((row) => row.requests > 0).map((row) => [row.name, row.requests])), counts, 'requests', missing);
    merged.totals.serverCounted = merged.crossCheck.serverTotal;
  }

  const transitions = endpointTransitions(slices.changes);
  const initialAt = initialTransitionTime(transitions);
  for (const transition of transitions) {
    if (transition.at === initialAt) continue; // the endpoints as they stood before the clock started
    timeline.push({ t: transition.at - t0, kind: transition.change === 'added' ? 'endpoint-ready' : 'endpoint-removed', detail: `${transition.pod} ${transition.change === 'added' ? 'ready in' : 'left'} the EndpointSlices` });
  }
  const propagation = propagationLag(transitions, samples, { ignoreInitial: true });
  const during = changesDuringRun(transitions);
  const firstFaultAt = run.chaos.length > 0 ? t0 + Math.min(...run.chaos.map((action) => action.atMs)) : undefined;
  const firstRemoval = firstFaultAt === undefined ? undefined : during.find((transition) => transition.change === 'removed' && transition.at >= firstFaultAt);
  const newPodsReady = new Set(during.filter((transition) => transition.change === 'added' && !podsBefore.includes(transition.pod)).map((transition) => transition.pod)).size;
  // Inside a fault's span once it has lasted a request timeout: every outcome counted was sent
  // under the fault, and the failures sent under it have had their time to end.
  const faultSpans = chaos.faultSpans();
  const duringFaults = servedWithin(samples, errorSamples, faultSpans.map((span) => ({ name: span.action, from: span.fromEpochMs + defaultRequestTimeoutMs, to: span.toEpochMs })));

  const report: RunReport = {
    proxyMode: run.proxyMode,
    variant: run.variant,
    status: 'passed',
    durationMs: performance.now() - started,
    ...(merged ?? {}),
    loads,
    ...(generators.length > 0 ? { generators: followedEndpoints(generators, transitions, (row) => generatorSamples.get(`${row.load}#${row.generator}`) ?? []) } : {}),
    ...(lbNodes ? { loadBalancer: { nodes: lbNodes } } : {}),
    ...(ingressSummary ? { ingress: ingressSummary.ingress } : {}),
    timeline: timeline.sort((a, b) => a.t - b.t),
    series,
    propagation: propagation.lags.map((lag) => ({ pod: lag.pod, change: lag.change, sliceAtMs: lag.sliceAt - t0, requestAtMs: lag.requestAt === null ? null : lag.requestAt - t0, lagMs: lag.lagMs })),
    checks: [],
  };
  if (merged) {
    report.metrics = {
      ...merged.metrics,
      ...(scaleOut ? { rebalanceSeconds: rebalanceSeconds(samples, scaleOut.atEpochMs, podsBefore, scaleOut.replicas, run.rebalanceFraction), rebalanceFraction: run.rebalanceFraction } : {}),
      propagationLagMs: propagation.maxAddedLagMs,
      trafficAfterRemovalMs: propagation.maxRemovedLagMs,
      ...(firstFaultAt !== undefined ? { endpointsRemovedAfterFaultMs: firstRemoval ? firstRemoval.at - firstFaultAt : null } : {}),
      newPodsReady,
      ...(faultSpans.length > 0 ? { servedDuringFaults: duringFaults.ok + duringFaults.failed === 0 ? null : duringFaults.ok / (duringFaults.ok + duringFaults.failed) } : {}),
      ...(ingressSummary?.topNodeShare !== undefined ? { ingressTopNodeShare: ingressSummary.topNodeShare } : {}),
      ...(run.loads.some(seesGoaways) ? { goaways: goaways.seen + goaways.inferred, goawaysInferred: goaways.inferred } : {}),
    };
  }
  report.checks = evaluateChecks(report, run.checks);
  if (merged?.crossCheck && !merged.crossCheck.agree) {
    // Faults lose answers the servers counted: that much difference is the run's errors, stated; more, or the other way, fails.
    const check = merged.crossCheck;
    const explained = explainedByErrors(check, report.errors?.total ?? 0);
    report.checks.push({
      name: 'clients and servers agree', expect: explained ? 'servers − clients ≤ errors' : 'crossCheck.agree', pass: explained, value: check.clientTotal, threshold: check.serverTotal ?? 0,
      note: `${explained ? `the servers counted ${(check.serverTotal ?? 0) - check.clientTotal} request(s) whose answers the clients lost, within the run's ${report.errors?.total ?? 0} errors: ` : ''}${check.differences.join('; ')}`,
    });
  }
  if (options.signal?.aborted) {
    report.status = 'error';
    report.reason = 'interrupted: the results are partial';
  } else if (problems.length > 0) {
    report.status = 'error';
    report.reason = problems.join('; ');
  } else report.status = report.checks.every((check) => check.pass) ? 'passed' : 'failed';
  options.log(`${label} ${report.status}${report.reason ? `: ${report.reason}` : ''} (${report.checks.filter((c) => c.pass).length}/${report.checks.length} checks passed)`);
  return report;
}

