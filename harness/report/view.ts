import { tooEven, tooEvenText } from '../analysis/evenness.ts';
import { formatMaxMin, formatMs, formatNumber, formatP, missing, runLabel, statusText } from './format.ts';
import type { CheckResult, GeneratorRow, Report, RunReport } from './model.ts';

/**
 * What the renderers show beyond the model's own fields, derived once here so summary.md and
 * index.html say the same thing. Nothing here measures: it regroups and words what analysis found.
 */

/** Series buckets are one second wide (model.ts SeriesPoint), so a bucket's requests are its rate. */
export const seriesBucketMs = 1000;

/** The share each pod would get if traffic were spread evenly; null without pods. */
export function fairShare(run: Pick<RunReport, 'pods'>): number | null {
  const n = run.pods?.length ?? 0;
  return n === 0 ? null : 1 / n;
}

export interface RateSeries {
  /** Bucket starts, ms from the run's start, ascending, with no gaps. */
  times: number[];
  /** Requests per second per pod (every load summed), one value per time. */
  pods: { name: string; rps: number[] }[];
  /** Errors per second over all pods, one value per time. */
  errors: number[];
}

/**
 * Per-pod rates on a gap-free time axis: a second in which a pod (or every pod) answered nothing
 * has no series point, and must plot as 0 rather than be bridged by a line (an outage would vanish).
 */
export function rateSeries(run: Pick<RunReport, 'series' | 'pods'>): RateSeries {
  const points = run.series ?? [];
  if (points.length === 0) return { times: [], pods: [], errors: [] };
  const first = Math.min(...points.map((p) => p.t));
  const last = Math.max(...points.map((p) => p.t));
  const times: number[] = [];
  for (let t = first; t <= last; t += seriesBucketMs) times.push(t);
  const index = (t: number) => Math.round((t - first) / seriesBucketMs);
  // Pods in the run's order first (stable colours between charts), then any only the series names.
  const names = [...new Set([...(run.pods ?? []).map((p) => p.name), ...points.map((p) => p.pod)])];
  const byPod = new Map(names.map((name) => [name, times.map(() => 0)]));
  const errors = times.map(() => 0);
  for (const point of points) {
    const i = index(point.t);
    byPod.get(point.pod)![i]! += point.requests;
    errors[i]! += point.errors;
  }
  return { times, pods: names.map((name) => ({ name, rps: byPod.get(name)! })), errors };
}

/** How latency was measured, in words (open vs closed model). */
export function latencyBasis(run: Pick<RunReport, 'load' | 'dataplane'>): string {
  if (!run.load) return 'How latency was measured is not recorded.';
  const caveat = emulated(run) ? ` ${emulatedCaveat}` : '';
  return (run.load.latencyMeasuredFrom === 'intended'
    ? 'Latency measured from the intended send time (open model: no coordinated omission).'
    : `Latency measured from the actual send time (closed model${run.load.coordinatedOmission ? ': coordinated omission — stalls hold back sending, so they are under-represented' : ''}).`) + caveat;
}

/** The χ² result with its sampling unit and whether the approximation holds; and when the spread is too even to be random, that. */
export function chiSquareText(run: Pick<RunReport, 'metrics'>): string {
  const metrics = run.metrics;
  if (!metrics) return missing;
  const chi = metrics.chiSquare;
  const basis = `over ${chi.n} ${chi.unit}, χ² ${formatNumber(chi.statistic)}, df ${chi.degreesOfFreedom}`;
  const validity = chi.valid ? 'valid' : `not reliable${chi.note ? `: ${chi.note.replace(`; ${tooEvenText}`, '')}` : ''}`;
  const even = tooEven({ valid: chi.valid, lowerPValue: metrics.chiSquareLowerP }) ? ` — ${tooEvenText} (P(χ² ≤ ${formatNumber(chi.statistic)}) ${formatP(metrics.chiSquareLowerP ?? null)})` : '';
  return `p ${formatP(metrics.chiSquareP)} (${basis}; ${validity})${even}`;
}

/** Client totals against the servers' own counters: agree, differ (with every difference), or not read. */
export function crossCheckVerdict(run: Pick<RunReport, 'crossCheck' | 'totals'>): { agree: boolean | null; text: string; differences: string[] } {
  const check = run.crossCheck;
  if (!check || check.serverTotal === null) return { agree: null, text: 'not cross-checked (server counters not read)', differences: [] };
  // Pods whose count could not be known are named with the reason, never silently left out.
  const missing = (check.missing ?? []).map((m) => `${m.pod}: not cross-checked (${m.client ?? 0} attributed by the clients): ${m.reason}`);
  const scope = missing.length > 0 ? ` over the ${check.rows.length} pod${check.rows.length === 1 ? '' : 's'} with a count` : '';
  return check.agree
    ? { agree: true, text: `agree${scope}: servers counted ${check.serverTotal}, clients attributed ${check.clientTotal}`, differences: missing }
    : { agree: false, text: `differ${scope}: servers counted ${check.serverTotal}, clients attributed ${check.clientTotal}`, differences: [...check.differences, ...missing] };
}

/** A check's measured value; null means the metric could not be computed (the check then fails). */
export function checkValue(check: CheckResult): string {
  return check.value === null ? 'not measured' : formatNumber(check.value);
}

/** One row per metric, one column per run: the comparison table both renderers show first. */
export function comparison(report: Pick<Report, 'runs'>): { head: string[]; rows: string[][] } {
  const runs = report.runs;
  const row = (label: string, cell: (run: RunReport) => string) => [label, ...runs.map(cell)];
  // Rows some reports have no data for (older reports, runs without a scale-out or HTTP/2) appear only when one run has it.
  const optional = (has: (run: RunReport) => boolean, label: string, cell: (run: RunReport) => string) => (runs.some(has) ? [row(label, cell)] : []);
  return {
    head: ['', ...runs.map(runLabel)],
    rows: [
      row('status', (run) => statusText(run.status)),
      row('data plane', (run) => (run.dataplane ? `${run.dataplane.implementation} ${run.dataplane.version}` : '—')),
      ...optional((run) => run.server !== undefined, 'server', (run) => run.server?.implementation ?? '—'),
      row('kernel', kernelText),
      row('Jain index', (run) => formatNumber(run.metrics?.jainIndex)),
      row('χ² p', (run) => formatP(run.metrics?.chiSquareP)),
      row('max/min', (run) => formatMaxMin(run)),
      row('errors', (run) => formatNumber(run.errors?.total)),
      // Timings taken under emulation carry a mark: they do not compare with host-kernel runs.
      row('p99', (run) => `${formatMs(run.latencyMs?.p99)}${emulated(run) && run.latencyMs ? ' (emulated)' : ''}`),
      row('new pod → traffic', (run) => `${formatMs(run.metrics?.propagationLagMs ?? null)}${emulated(run) && run.metrics?.propagationLagMs != null ? ' (emulated)' : ''}`),
      ...optional((run) => run.metrics?.rebalanceSeconds !== undefined, 'rebalance', (run) => (run.metrics?.rebalanceSeconds === undefined ? '—' : run.metrics.rebalanceSeconds === null ? 'never' : `${formatNumber(run.metrics.rebalanceSeconds)} s`)),
      ...optional((run) => run.metrics?.goaways !== undefined, 'GOAWAYs received', goawayText),
    ],
  };
}

/**
 * Endpoint propagation in words, or undefined when the run saw no endpoint change: how long new
 * pods waited for traffic after turning ready, and how long old pods still got traffic after leaving.
 */
export function propagationText(run: RunReport): string | undefined {
  const lags = run.propagation ?? [];
  if (lags.length === 0) return undefined;
  const parts: string[] = [];
  const added = lags.filter((lag) => lag.change === 'added');
  const removed = lags.filter((lag) => lag.change === 'removed');
  if (added.length > 0) parts.push(`${added.length} pod(s) became ready; first traffic after at most ${formatMs(run.metrics?.propagationLagMs ?? null)}${added.some((lag) => lag.lagMs === null) ? ` (${added.filter((lag) => lag.lagMs === null).length} never got any)` : ''}`);
  if (removed.length > 0) {
    const after = run.metrics?.trafficAfterRemovalMs ?? null;
    parts.push(`${removed.length} pod(s) left the endpoints; ${after === null ? 'no traffic seen around it' : after >= 0 ? `the last answered up to ${formatMs(after)} after leaving` : `every one had stopped answering before it left (by ${formatMs(-after)} at least)`}`);
  }
  return `${parts.join('; ')} (EndpointSlice watch vs. per-pod response times, one host clock)${emulated(run) ? `. ${emulatedCaveat}` : ''}`;
}

/** Which nodes the load balancer sent new connections to, and why, in words; undefined without one. */
export function loadBalancerText(run: Pick<RunReport, 'loadBalancer'>): string | undefined {
  const nodes = run.loadBalancer?.nodes;
  if (!nodes || nodes.length === 0) return undefined;
  return nodes.map((node) => `${node.node} ${node.receives ? 'receives' : 'skipped'} (${node.detail})`).join('; ');
}

/** The Ingress controller a run went through, and what each replica carried, in words. */
export function ingressText(run: Pick<RunReport, 'ingress' | 'metrics'>): string | undefined {
  const ingress = run.ingress;
  if (!ingress) return undefined;
  const total = ingress.replicas.reduce((sum, replica) => sum + replica.requests, 0);
  const replicas = ingress.replicas.map((replica) => `${replica.pod} on ${replica.node || '?'} carried ${replica.requests}${total > 0 ? ` (${((replica.requests / total) * 100).toFixed(1)}%)` : ''}`);
  const top = run.metrics?.ingressTopNodeShare;
  return [
    `${ingress.controller} ${ingress.version} × ${ingress.replicas.length}${ingress.lb === 'native' ? ', to the Service\'s ClusterIP (nativeLB: the proxy picked a pod per controller connection)' : ''}`,
    ...replicas,
    ...(ingress.unknownPeer ? [`${ingress.unknownPeer} from no replica's address`] : []),
    ...(top != null ? [`one node's replicas carried at most ${(top * 100).toFixed(1)}%`] : []),
  ].join('; ');
}

/** The kernel a run's nodes ran on, in words. */
export function kernelText(run: Pick<RunReport, 'dataplane'>): string {
  const kernel = run.dataplane?.kernel;
  if (!kernel) return '—';
  if (kernel.where === 'host') return `host ${kernel.release}`;
  return `guest ${kernel.release}, ${kernel.accel === 'tcg' ? 'emulated' : 'KVM'}`;
}

/** Whether a run's timings were taken under emulation, and so do not compare with host-kernel runs. */
export function emulated(run: Pick<RunReport, 'dataplane'>): boolean {
  return run.dataplane?.kernel?.where === 'guest' && run.dataplane.kernel.accel === 'tcg';
}

export const emulatedCaveat = 'Taken in an emulated guest kernel (qemu TCG, ~10× slower): distributions, errors and rule shapes compare with host-kernel runs; latencies and propagation times do not.';

/** The run's data plane in one line: implementation, version, options; then the kernel features it reports. */
export function dataplaneText(run: RunReport): { summary: string; features: string } | undefined {
  const plane = run.dataplane;
  if (!plane) return undefined;
  const pairs = (values: Record<string, string | number | boolean> | undefined) => Object.entries(values ?? {}).map(([key, value]) => `${key}=${value}`).join(', ');
  return { summary: `${plane.implementation} ${plane.version} (${pairs(plane.options)})`, features: pairs(plane.features) };
}

/** GOAWAYs the clients received, saying how many were inferred rather than seen on the wire. */
export function goawayText(run: Pick<RunReport, 'metrics'>): string {
  const total = run.metrics?.goaways;
  if (total === undefined) return '—';
  const inferred = run.metrics?.goawaysInferred ?? 0;
  return inferred > 0 ? `${total} (${inferred} inferred)` : String(total);
}

/** The rebalance time with how it was taken, or undefined when the run had no scale-out. */
export function rebalanceText(run: RunReport): string | undefined {
  const seconds = run.metrics?.rebalanceSeconds;
  if (seconds === undefined) return undefined;
  const fraction = run.metrics?.rebalanceFraction ?? 0.8;
  const how = `every new pod at ≥ ${Math.round(fraction * 100)}% of its fair share within one second`;
  return seconds === null ? `never rebalanced (${how})` : `${formatNumber(seconds)} s after the scale-out (${how})`;
}

/**
 * The run's timeline in time order, numbered from 1: the rate chart labels its markers with these
 * numbers and the Timeline table lists them, so events within the same second stay legible.
 */
export function numberedTimeline(run: Pick<RunReport, 'timeline'>): { n: number; entry: RunReport['timeline'][number] }[] {
  return [...run.timeline].sort((a, b) => a.t - b.t).map((entry, i) => ({ n: i + 1, entry }));
}

/**
 * A sweep's recommendation, one line per proxy mode (the proxy mode first when the report has
 * several), as summary.md, index.html and `kth run` show it; empty when the scenario asks for none.
 */
export function recommendationLines(report: Pick<Report, 'recommendations'>): { proxyMode: string; text: string; basis: string }[] {
  const recommendations = report.recommendations ?? [];
  const several = new Set(recommendations.map((item) => item.proxyMode)).size > 1;
  return recommendations.map((item) => ({ proxyMode: item.proxyMode, text: several ? `${item.proxyMode}: ${item.text}` : item.text, basis: item.basis }));
}

/** An existing cluster in words: where, what it runs, and where the proxy mode was read. */
export function clusterText(report: Pick<Report, 'environment'>): string | undefined {
  const c = report.environment.cluster;
  if (!c) return undefined;
  return `context ${c.context} (${c.server}): Kubernetes ${c.kubernetesVersion}, ${c.nodes} node${c.nodes === 1 ? '' : 's'}${c.cloud ? `, ${c.cloud}` : ''}; proxy mode ${c.proxyMode.mode} from ${c.proxyMode.source}`;
}

/** A kind run in words: kind's release, the node image, and how long each cluster took to be Ready. */
export function kindText(report: Pick<Report, 'environment'>): string | undefined {
  const k = report.environment.kind;
  if (!k) return undefined;
  const clusters = k.clusters.map((c) => `${c.proxyMode}: ${c.name}, ${c.nodes} node${c.nodes === 1 ? '' : 's'}, ${c.createMs === undefined ? 'kept from before the run' : `Ready in ${(c.createMs / 1000).toFixed(1)} s`}`).join('; ');
  return `kind ${k.kindVersion}, node image ${k.nodeImage}${clusters ? ` (${clusters})` : ''}`;
}

/** The generators table both renderers show: one row per load generator, and whether it kept up. */
export function generatorTable(run: Pick<RunReport, 'generators'>): { head: string[]; rows: string[][] } | undefined {
  if (!run.generators?.length) return undefined;
  // Clock columns only where the generators measured their clocks (against one server pod).
  const clocked = run.generators.some((g) => g.clock);
  const signed = (ms: number) => `${ms >= 0 ? '+' : '−'}${Math.abs(ms).toFixed(1)}`;
  const clockCells = (g: GeneratorRow) => {
    if (!clocked) return [];
    const c = g.clock;
    if (!c || c.offsetMs === null) return [c?.note ? `— (${c.note})` : '—', '—'];
    return [`${signed(c.offsetMs)} ± ${(c.uncertaintyMs ?? 0).toFixed(1)} ms`, c.startAfterFirstMs === null ? '—' : `${c.startAfterFirstMs.toFixed(1)} ms`];
  };
  const reference = run.generators.find((g) => g.clock)?.clock?.reference;
  // Endpoint columns only where pods joined or left: how each generator's own node followed them.
  const followed = run.generators.some((g) => g.propagationLagMs !== undefined || g.trafficAfterRemovalMs !== undefined);
  const lagCell = (ms: number | null | undefined, none: string) => (ms === undefined ? '—' : ms === null ? none : formatMs(ms));
  return {
    head: ['load', 'generator', 'node', 'sent', 'rate /s', 'errors', 'dropped', 'p99', 'started late (own clock)', ...(clocked ? [`clock offset (vs pod ${reference})`, 'start after first (one clock)'] : []),
      ...(followed ? ['new pods: first request after Ready', 'removed pods: last request after removal'] : []), 'status'],
    rows: run.generators.map((g) => [g.load, String(g.generator), g.node || '—', String(g.sent), g.ratePerSecond.toFixed(1), String(g.errors), String(g.dropped), formatMs(g.p99Ms), g.startedLateMs === null ? '—' : `${Math.round(g.startedLateMs)} ms`, ...clockCells(g),
      ...(followed ? [lagCell(g.propagationLagMs, 'never'), lagCell(g.trafficAfterRemovalMs, 'none after removal')] : []), `${g.status}${g.note ? `: ${g.note}` : ''}`]),
  };
}
