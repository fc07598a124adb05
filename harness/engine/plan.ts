import { formatMs, toMs } from '../core/duration.ts';
import { badInput } from '../core/errors.ts';
import { parseExpect, proxyModeValues, type ExpectOp } from './scenario.ts';
import type { ChaosSpec, LoadSpec, ProxyMode, ScenarioSpec, WorkloadSpec } from './types.ts';
import { defaultServerRuntime, type ServerRuntime } from '../workloads/runtime.ts';

/**
 * A scenario resolved into what will run: one run per (proxy mode × variant), every default filled
 * in, every duration in ms and already scaled by --time-scale. Computed without a cluster, so
 * `kth plan` shows exactly what `kth run` will do.
 *
 * Scaling: what sets the scenario's own clock scales — when loads start and stop, when chaos
 * happens, and how often connections are recycled (so a run sees as many recycles as written).
 * What races real Kubernetes machinery does not: preStopSleep and terminationGracePeriod must
 * outlast endpoint propagation, gRPC keepalive pings are policed by servers, and
 * maxConnectionAgeGrace is for calls in flight; none of those get faster with a shorter run.
 */
export interface PlannedWorkload {
  server: WorkloadSpec['server'];
  runtime: ServerRuntime;
  replicas: number;
  serviceType: NonNullable<WorkloadSpec['serviceType']>;
  externalTrafficPolicy?: NonNullable<WorkloadSpec['externalTrafficPolicy']>;
  /** Scaled. */
  keepAliveTimeoutMs?: number;
  maxRequestsPerConnection?: number;
  /** Not scaled. */
  responseDelayMs?: number;
  /** Scaled. */
  maxConnectionAgeMs?: number;
  /** Not scaled. */
  maxConnectionAgeGraceMs?: number;
  /** Not scaled. */
  preStopSleepMs?: number;
  /** Not scaled. */
  terminationGracePeriodMs?: number;
  maxSurge?: number | string;
  maxUnavailable?: number | string;
  pdb?: NonNullable<WorkloadSpec['pdb']>;
  nodes?: number[];
  /** Not scaled (a Kubernetes toleration, like the node monitor's grace period it follows). */
  notReadyTolerationMs?: number;
  ingress?: NonNullable<WorkloadSpec['ingress']>;
}

export interface PlannedLoad {
  name: string;
  driver: NonNullable<LoadSpec['driver']>;
  /** k6 only. */
  script?: string;
  protocol: LoadSpec['protocol'];
  /** HTTP only. @default 'persistent' (as `kth load http`) */
  model?: NonNullable<LoadSpec['model']>;
  /** gRPC only. @default 'unary' (as `kth load grpc`) */
  call?: NonNullable<LoadSpec['call']>;
  /** gRPC only; absent: h2 where it can serve, else grpc-js (as `kth load grpc`). */
  client?: NonNullable<LoadSpec['client']>;
  connections: number;
  executor: LoadSpec['executor'];
  rate?: number;
  vus?: number;
  startMs: number;
  durationMs: number;
  endMs: number;
  from: NonNullable<LoadSpec['from']>;
  /** Only through the Ingress (absent: to the Service). */
  via?: 'ingress';
  /** Scaled. */
  idleTimeoutMs?: number;
  /** Scaled. */
  maxConnectionAgeMs?: number;
  /** Not scaled. */
  keepaliveMs?: number;
  unit: NonNullable<LoadSpec['unit']>;
  /** Load pods running it together (1: one place); with perNode, the scenario's node count (the cluster's at run time). */
  generators: number;
  perNode?: true;
}

type Distribute<T> = T extends { at: unknown } ? Omit<T, 'at'> & { atMs: number } : never;
export type PlannedChaos = Distribute<ChaosSpec>;

export type PlanEventKind = 'load-start' | 'load-end' | 'chaos';
export interface PlanEvent {
  atMs: number;
  kind: PlanEventKind;
  detail: string;
  /** The load this event starts or ends. */
  load?: string;
  /** Index into the run's `chaos`. */
  chaos?: number;
}

export interface PlannedCheck {
  name: string;
  expect: string;
  path: string;
  op: ExpectOp;
  threshold: number;
}

export interface RunPlan {
  /** `<proxyMode>/<variant>`: unique in the plan. */
  id: string;
  proxyMode: ProxyMode;
  variant: string;
  description?: string;
  /** The first variant: what the others are compared with. */
  baseline: boolean;
  workload: PlannedWorkload;
  loads: PlannedLoad[];
  chaos: PlannedChaos[];
  /** Sorted by time; at the same time: load ends, then chaos, then load starts. */
  timeline: PlanEvent[];
  checks: PlannedCheck[];
  /** From the run's start to its last event. */
  durationMs: number;
}

export interface Plan {
  scenario: { name: string; description: string };
  nodes: number;
  timeScale: number;
  proxyModes: ProxyMode[];
  variants: string[];
  runs: RunPlan[];
  /** All runs one after the other (load time only; cluster setup comes on top). */
  totalMs: number;
}

export interface PlanOptions {
  /** Every scenario-clock duration is multiplied by this; 0 < timeScale ≤ 10. */
  timeScale: number;
  /** Instead of the scenario's proxyModes (--proxy-mode). */
  proxyModes?: ProxyMode[];
  /** Every workload's server runtime, instead of what the scenario and its variants say (--runtime). */
  runtime?: ServerRuntime;
}

export const maxTimeScale = 10;

/** Parses --time-scale: 0 < F ≤ 10 (0.2 = every duration at 20%). */
export function parseTimeScale(value: string | number): number {
  const scale = typeof value === 'number' ? value : value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(scale) || scale <= 0 || scale > maxTimeScale) {
    throw badInput(`--time-scale: '${value}' must be a number with 0 < F ≤ ${maxTimeScale}`, { where: '--time-scale', hint: '0.2 runs every duration at 20% (smoke runs); 1 runs the scenario as written' });
  }
  return scale;
}

/** Parses --proxy-mode m1,m2 (each one of iptables, nftables, ipvs, cilium; no repeats). */
export function parseProxyModes(value: string): ProxyMode[] {
  const modes = value.split(',').map((mode) => mode.trim()).filter(Boolean);
  const unknown = modes.filter((mode) => !(proxyModeValues as readonly string[]).includes(mode));
  if (modes.length === 0 || unknown.length > 0) {
    throw badInput(`--proxy-mode: ${modes.length === 0 ? 'no proxy mode given' : `${unknown.map((mode) => `'${mode}'`).join(', ')} is not a proxy mode`}`, { where: '--proxy-mode', hint: `comma-separated, from: ${proxyModeValues.join(', ')}` });
  }
  return [...new Set(modes)] as ProxyMode[];
}

/** Resolves a validated scenario into runs. */
export function planScenario(spec: ScenarioSpec, options: PlanOptions): Plan {
  const scale = parseTimeScale(options.timeScale);
  const scaled = (value: LoadSpec['duration'], where: string) => Math.round(toMs(value, where) * scale);
  const asIs = (value: LoadSpec['duration'], where: string) => toMs(value, where);
  const proxyModes = options.proxyModes ?? spec.proxyModes ?? ['iptables'];
  const variants = spec.variants ?? [{ name: 'default' }];

  const runs: RunPlan[] = [];
  for (const proxyMode of proxyModes) {
    variants.forEach((variant, index) => {
      const where = (path: string) => (index === 0 && !spec.variants ? path : `variants.${variant.name}: ${path}`);
      const w: WorkloadSpec = { ...spec.workload, ...variant.workload };
      const workload: PlannedWorkload = {
        server: w.server,
        runtime: options.runtime ?? w.runtime ?? defaultServerRuntime,
        replicas: w.replicas,
        serviceType: w.serviceType ?? 'ClusterIP',
        ...(w.externalTrafficPolicy ? { externalTrafficPolicy: w.externalTrafficPolicy } : {}),
        ...(w.keepAliveTimeout !== undefined ? { keepAliveTimeoutMs: scaled(w.keepAliveTimeout, where('workload.keepAliveTimeout')) } : {}),
        ...(w.maxRequestsPerConnection !== undefined ? { maxRequestsPerConnection: w.maxRequestsPerConnection } : {}),
        ...(w.responseDelay !== undefined ? { responseDelayMs: asIs(w.responseDelay, where('workload.responseDelay')) } : {}),
        ...(w.maxConnectionAge !== undefined ? { maxConnectionAgeMs: scaled(w.maxConnectionAge, where('workload.maxConnectionAge')) } : {}),
        ...(w.maxConnectionAgeGrace !== undefined ? { maxConnectionAgeGraceMs: asIs(w.maxConnectionAgeGrace, where('workload.maxConnectionAgeGrace')) } : {}),
        ...(w.preStopSleep !== undefined ? { preStopSleepMs: asIs(w.preStopSleep, where('workload.preStopSleep')) } : {}),
        ...(w.terminationGracePeriod !== undefined ? { terminationGracePeriodMs: asIs(w.terminationGracePeriod, where('workload.terminationGracePeriod')) } : {}),
        ...(w.maxSurge !== undefined ? { maxSurge: w.maxSurge } : {}),
        ...(w.maxUnavailable !== undefined ? { maxUnavailable: w.maxUnavailable } : {}),
        ...(w.pdb ? { pdb: w.pdb } : {}),
        ...(w.nodes ? { nodes: w.nodes } : {}),
        ...(w.notReadyToleration !== undefined ? { notReadyTolerationMs: asIs(w.notReadyToleration, where('workload.notReadyToleration')) } : {}),
        ...(w.ingress ? { ingress: w.ingress } : {}),
      };
      const loads = spec.load.map((base): PlannedLoad => {
        const l: LoadSpec = { ...base, ...variant.load?.[base.name], name: base.name };
        const at = (field: string) => where(`load.${l.name}.${field}`);
        const startMs = l.startTime === undefined ? 0 : scaled(l.startTime, at('startTime'));
        const durationMs = scaled(l.duration, at('duration'));
        const model = l.protocol === 'http' ? (l.model ?? 'persistent') : undefined;
        return {
          name: l.name,
          driver: l.driver ?? 'builtin',
          ...(l.script !== undefined ? { script: l.script } : {}),
          protocol: l.protocol,
          ...(model ? { model } : {}),
          ...(l.protocol === 'grpc' ? { call: l.call ?? 'unary' } : {}),
          ...(l.client !== undefined ? { client: l.client } : {}),
          connections: l.connections,
          executor: l.executor,
          ...(l.rate !== undefined ? { rate: l.rate } : {}),
          ...(l.vus !== undefined ? { vus: l.vus } : {}),
          startMs,
          durationMs,
          endMs: startMs + durationMs,
          from: l.from ?? 'pod',
          ...(l.via === 'ingress' ? { via: 'ingress' as const } : {}),
          ...(l.idleTimeout !== undefined ? { idleTimeoutMs: scaled(l.idleTimeout, at('idleTimeout')) } : {}),
          ...(l.maxConnectionAge !== undefined ? { maxConnectionAgeMs: scaled(l.maxConnectionAge, at('maxConnectionAge')) } : {}),
          ...(l.keepalive !== undefined ? { keepaliveMs: asIs(l.keepalive, at('keepalive')) } : {}),
          // One request per connection makes requests independent samples, as does a proxy that picks
          // a pod per request (the Ingress); otherwise connections are.
          unit: l.unit ?? (model === 'short-lived' || l.via === 'ingress' ? 'requests' : 'connections'),
          generators: l.perNode ? (spec.nodes ?? 3) : (l.generators ?? 1),
          ...(l.perNode ? { perNode: true as const } : {}),
        };
      });
      // A fault's duration runs on the scenario's clock (scaled); a network delay is the network's (as is).
      const chaos = (variant.chaos ?? spec.chaos ?? []).map((action, i): PlannedChaos => {
        const { at, ...rest } = action;
        const times = {
          ...('duration' in rest && rest.duration !== undefined ? { duration: scaled(rest.duration, where(`chaos[${i}].duration`)) } : {}),
          ...('delay' in rest && rest.delay !== undefined ? { delay: asIs(rest.delay, where(`chaos[${i}].delay`)) } : {}),
          ...('jitter' in rest && rest.jitter !== undefined ? { jitter: asIs(rest.jitter, where(`chaos[${i}].jitter`)) } : {}),
        };
        return { ...rest, ...times, atMs: scaled(at, where(`chaos[${i}].at`)) } as PlannedChaos;
      });
      const checks = (spec.checks ?? [])
        .filter((check) => !check.variants || check.variants.includes(variant.name))
        .map((check): PlannedCheck => ({ name: check.name, expect: check.expect, ...parseExpect(check.expect) }));
      const timeline = timelineOf(loads, chaos);
      runs.push({
        id: `${proxyMode}/${variant.name}`,
        proxyMode,
        variant: variant.name,
        ...(variant.description ? { description: variant.description } : {}),
        baseline: index === 0,
        workload,
        loads,
        chaos,
        timeline,
        checks,
        durationMs: Math.max(0, ...timeline.map((event) => event.atMs)),
      });
    });
  }
  return {
    scenario: { name: spec.name, description: spec.description },
    nodes: spec.nodes ?? 3,
    timeScale: scale,
    proxyModes,
    variants: variants.map((variant) => variant.name),
    runs,
    totalMs: runs.reduce((sum, run) => sum + run.durationMs, 0),
  };
}

/** At equal times, ends come first (a load stopping at t did not see chaos at t), then chaos, then starts. */
const kindOrder: Record<PlanEventKind, number> = { 'load-end': 0, chaos: 1, 'load-start': 2 };

function timelineOf(loads: readonly PlannedLoad[], chaos: readonly PlannedChaos[]): PlanEvent[] {
  const events: PlanEvent[] = [];
  for (const load of loads) {
    events.push({ atMs: load.startMs, kind: 'load-start', detail: `${load.name}: ${describeLoad(load)}`, load: load.name });
    events.push({ atMs: load.endMs, kind: 'load-end', detail: load.name, load: load.name });
  }
  chaos.forEach((action, index) => events.push({ atMs: action.atMs, kind: 'chaos', detail: describeChaos(action), chaos: index }));
  // Array.prototype.sort is stable: loads and chaos keep their written order at equal keys.
  return events.sort((a, b) => a.atMs - b.atMs || kindOrder[a.kind] - kindOrder[b.kind]);
}

export function describeChaos(action: PlannedChaos): string {
  const node = (ref: number | 'all' | undefined) => (ref === 'all' ? 'every node' : `node ${ref ?? 1}`);
  const lasting = (ms: number | string | undefined) => (ms === undefined ? '' : ` for ${formatMs(Number(ms))}`);
  switch (action.action) {
    case 'scale':
      return `scale to ${action.replicas} replicas`;
    case 'rollout-restart':
      return 'rollout restart';
    case 'rollout':
      return `rollout of a new template (env ${Object.entries(action.env).map(([k, v]) => `${k}=${v}`).join(', ')})`;
    case 'delete-pod':
      return `delete ${action.count ?? 1} pod(s)${action.force ? ' (force, grace 0)' : ' (graceful)'}`;
    case 'kill-process':
      return `kill -9 the process of ${action.count ?? 1} pod(s)`;
    case 'readiness-flip':
      return `${action.count ?? 1} pod(s) fail readiness${lasting(action.duration)}`;
    case 'kube-proxy-pause':
      return `kube-proxy paused on ${node(action.node)}${lasting(action.duration)}`;
    case 'kube-proxy-restart':
      return `kube-proxy restarted on ${node(action.node)}`;
    case 'node-drain':
      return `drain ${node(action.node)} (cordon + evictions)`;
    case 'node-uncordon':
      return `uncordon ${node(action.node)}`;
    case 'node-down':
      return `${node(action.node)} down${lasting(action.duration)}`;
    case 'node-up':
      return `${node(action.node)} back up`;
    case 'network': {
      const what = action.partition ? 'partition' : [action.loss !== undefined ? `${action.loss}% loss` : '', action.delay !== undefined ? `${formatMs(Number(action.delay))} delay${action.jitter !== undefined ? ` ± ${formatMs(Number(action.jitter))}` : ''}` : ''].filter(Boolean).join(', ');
      const where = action.target === 'node' ? node(action.node) : `${action.count ?? 1} pod(s)`;
      return `network ${what} on ${where}${lasting(action.duration)}`;
    }
  }
}

export function describeLoad(load: PlannedLoad): string {
  const what = load.protocol === 'http' ? `http ${load.model}` : `grpc ${load.call}${load.client ? ` (${load.client} client)` : ''}`;
  const arrival = load.executor === 'constant-arrival-rate' ? `${load.rate}/s (constant-arrival-rate)` : `${load.vus} in flight (constant-vus)`;
  const extra = [
    load.idleTimeoutMs !== undefined ? `idle ${formatMs(load.idleTimeoutMs)}` : '',
    load.maxConnectionAgeMs !== undefined ? `max age ${formatMs(load.maxConnectionAgeMs)}` : '',
    load.keepaliveMs !== undefined ? `keepalive ${formatMs(load.keepaliveMs)}` : '',
    load.driver === 'k6' ? 'k6' : '',
    load.from === 'external' ? 'from outside the cluster' : '',
    load.via === 'ingress' ? 'through the Ingress' : '',
    load.perNode ? `× a generator per node (${load.generators} here; each all of it)` : load.generators > 1 ? `× ${load.generators} generators (each all of it, one per node)` : '',
  ].filter(Boolean);
  return `${what}, ${load.connections} ${load.protocol === 'grpc' ? 'channel' : 'connection'}(s), ${arrival}${extra.length > 0 ? `, ${extra.join(', ')}` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Rendering: people should SEE when each load runs and when chaos hits.

export interface RenderOptions {
  /** ANSI colour; default: stdout is a TTY and NO_COLOR is unset. */
  color?: boolean;
  /** Characters of the time axis. */
  width?: number;
}

function describeWorkload(workload: PlannedWorkload): string {
  const parts = [`${workload.server} server (${workload.runtime}) × ${workload.replicas}`, workload.serviceType];
  if (workload.externalTrafficPolicy) parts.push(`externalTrafficPolicy ${workload.externalTrafficPolicy}`);
  if (workload.keepAliveTimeoutMs !== undefined) parts.push(`keep-alive ${formatMs(workload.keepAliveTimeoutMs)}`);
  if (workload.maxRequestsPerConnection !== undefined) parts.push(`max ${workload.maxRequestsPerConnection} requests/connection`);
  if (workload.responseDelayMs !== undefined) parts.push(`response delay ${formatMs(workload.responseDelayMs)}`);
  if (workload.maxConnectionAgeMs !== undefined) parts.push(`maxConnectionAge ${formatMs(workload.maxConnectionAgeMs)}`);
  if (workload.maxConnectionAgeGraceMs !== undefined) parts.push(`grace ${formatMs(workload.maxConnectionAgeGraceMs)}`);
  if (workload.preStopSleepMs !== undefined) parts.push(`preStop sleep ${formatMs(workload.preStopSleepMs)}`);
  if (workload.terminationGracePeriodMs !== undefined) parts.push(`terminationGracePeriod ${formatMs(workload.terminationGracePeriodMs)}`);
  if (workload.nodes) parts.push(`on node${workload.nodes.length > 1 ? 's' : ''} ${workload.nodes.join(', ')} only`);
  if (workload.maxSurge !== undefined || workload.maxUnavailable !== undefined) parts.push(`rolling update maxSurge ${workload.maxSurge ?? '25%'} maxUnavailable ${workload.maxUnavailable ?? '25%'}`);
  if (workload.pdb) parts.push(`PDB ${workload.pdb.minAvailable !== undefined ? `minAvailable ${workload.pdb.minAvailable}` : `maxUnavailable ${workload.pdb.maxUnavailable}`}`);
  if (workload.notReadyTolerationMs !== undefined) parts.push(`not-ready toleration ${formatMs(workload.notReadyTolerationMs)}`);
  if (workload.ingress) parts.push(describeIngress(workload.ingress));
  return parts.join(', ');
}

function describeIngress(ingress: NonNullable<WorkloadSpec['ingress']>): string {
  const parts: string[] = [ingress.serviceType ?? 'ClusterIP'];
  if (ingress.externalTrafficPolicy) parts.push(`externalTrafficPolicy ${ingress.externalTrafficPolicy}`);
  if (ingress.spread === 'hostname') parts.push('one per node');
  if (ingress.nodes) parts.push(`on node${ingress.nodes.length > 1 ? 's' : ''} ${ingress.nodes.join(', ')} only`);
  if (ingress.pdb) parts.push(`PDB ${ingress.pdb.minAvailable !== undefined ? `minAvailable ${ingress.pdb.minAvailable}` : `maxUnavailable ${ingress.pdb.maxUnavailable}`}`);
  if (ingress.lb === 'native') parts.push('to the ClusterIP (nativeLB: the proxy picks per controller connection)');
  return `behind an Ingress controller (Traefik) × ${ingress.replicas ?? 1} (${parts.join(', ')})`;
}

/** Times on the chart and in the event table: '0s' reads better than '0ms' at the origin. */
const at = (ms: number): string => (ms === 0 ? '0s' : formatMs(ms));

const column = (value: number, totalMs: number, width: number) => (totalMs <= 0 ? 0 : Math.min(width - 1, Math.floor((value / totalMs) * width)));

/** `....=========....`: where [startMs, endMs) lies on [0, totalMs]; at least one mark when it runs at all. */
export function timeBar(startMs: number, endMs: number, totalMs: number, width: number): string {
  const from = column(startMs, totalMs, width);
  const to = endMs >= totalMs ? width : Math.max(from + 1, Math.ceil((endMs / totalMs) * width));
  return '.'.repeat(from) + '='.repeat(to - from) + '.'.repeat(width - to);
}

function pad(cells: readonly string[], widths: readonly number[]): string {
  return cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
}

function table(head: readonly string[], rows: readonly string[][], paint: (s: string) => string): string[] {
  const widths = head.map((cell, i) => Math.max(cell.length, ...rows.map((row) => row[i]?.length ?? 0)));
  return [paint(pad(head, widths)), ...rows.map((row) => pad(row, widths))];
}

/** The human form of a plan: per run, the workload, a time chart of loads and chaos, the events, the checks. */
export function renderPlan(plan: Plan, options: RenderOptions = {}): string {
  const color = options.color ?? (process.stdout.isTTY === true && process.env.NO_COLOR === undefined);
  const ansi = (code: string) => (s: string) => (color ? `\u001b[${code}m${s}\u001b[0m` : s);
  const bold = ansi('1');
  const dim = ansi('2');
  const green = ansi('32');
  const yellow = ansi('33');
  const width = options.width ?? 48;

  const out: string[] = [];
  out.push(bold(`scenario ${plan.scenario.name}`) + `: ${plan.scenario.description}`);
  out.push(
    `${plan.runs.length} run(s) = ${plan.proxyModes.length} proxy mode(s) [${plan.proxyModes.join(', ')}] × ${plan.variants.length} variant(s) [${plan.variants.join(', ')}]; ${plan.nodes} node(s); ` +
      `time scale ${plan.timeScale}${plan.timeScale === 1 ? ' (as written)' : ''}; load time ${formatMs(plan.totalMs)} in all`,
  );

  plan.runs.forEach((run, index) => {
    out.push('');
    out.push(bold(`run ${index + 1}/${plan.runs.length}: ${run.proxyMode} × ${run.variant}${run.baseline ? ' (baseline)' : ''}`) + ` — ${formatMs(run.durationMs)}`);
    if (run.description) out.push(`  ${run.description}`);
    out.push(`  workload: ${describeWorkload(run.workload)}`);

    // The chart: one bar per load, one row of chaos marks, an axis in seconds.
    const labelWidth = Math.max(5, ...run.loads.map((load) => load.name.length));
    const rows: string[] = [];
    for (const load of run.loads) {
      rows.push(`  ${load.name.padEnd(labelWidth)} |${green(timeBar(load.startMs, load.endMs, run.durationMs, width))}| ${at(load.startMs)} → ${at(load.endMs)}`);
    }
    if (run.chaos.length > 0) {
      const marks = Array.from({ length: width }, () => ' ');
      run.chaos.forEach((action, i) => {
        marks[column(action.atMs, run.durationMs, width)] = String((i + 1) % 10);
      });
      rows.push(`  ${'chaos'.padEnd(labelWidth)} |${yellow(marks.join(''))}|`);
    }
    const axisEnd = formatMs(run.durationMs);
    rows.push(dim(`  ${''.padEnd(labelWidth)}  0s${axisEnd.padStart(width - 2)}`));
    out.push('', ...rows, '');

    const events = run.timeline.map((event) => {
      const mark = event.chaos !== undefined ? ` [${(event.chaos + 1) % 10}]` : '';
      return [at(event.atMs), event.kind + mark, event.detail];
    });
    out.push(...table(['at', 'event', 'detail'], events, bold).map((line) => `  ${line}`));

    if (run.checks.length > 0) {
      out.push('');
      out.push(...table(['check', 'expect'], run.checks.map((check) => [check.name, check.expect]), bold).map((line) => `  ${line}`));
    } else {
      out.push('', dim('  no checks: the run only measures'));
    }
  });

  const notScaled = plan.timeScale === 1 ? [] : unscaledSettings(plan);
  if (notScaled.length > 0) {
    out.push('');
    out.push(dim(`not scaled by --time-scale (they race endpoint propagation, the kubelet or keepalive policing, which do not speed up): ${notScaled.join(', ')}`));
  }
  return `${out.join('\n')}\n`;
}

function unscaledSettings(plan: Plan): string[] {
  const names = new Set<string>();
  for (const run of plan.runs) {
    if (run.workload.preStopSleepMs !== undefined) names.add('preStopSleep');
    if (run.workload.responseDelayMs !== undefined) names.add('responseDelay');
    if (run.workload.terminationGracePeriodMs !== undefined) names.add('terminationGracePeriod');
    if (run.workload.maxConnectionAgeGraceMs !== undefined) names.add('maxConnectionAgeGrace');
    if (run.loads.some((load) => load.keepaliveMs !== undefined)) names.add('keepalive');
  }
  return [...names];
}

/**
 * A run's plan back in the scenario's own types, durations as (scaled) ms numbers and defaults
 * filled in: for code that takes specs (manifests, load drivers) rather than the plan's ms fields.
 */
export function specsOf(run: RunPlan): { workload: WorkloadSpec; loads: { spec: LoadSpec; startMs: number; durationMs: number }[]; chaos: { spec: ChaosSpec; atMs: number }[]; checks: { name: string; expect: string }[] } {
  const w = run.workload;
  const workload: WorkloadSpec = {
    server: w.server,
    runtime: w.runtime,
    replicas: w.replicas,
    serviceType: w.serviceType,
    ...(w.externalTrafficPolicy ? { externalTrafficPolicy: w.externalTrafficPolicy } : {}),
    ...(w.keepAliveTimeoutMs !== undefined ? { keepAliveTimeout: w.keepAliveTimeoutMs } : {}),
    ...(w.maxRequestsPerConnection !== undefined ? { maxRequestsPerConnection: w.maxRequestsPerConnection } : {}),
    ...(w.responseDelayMs !== undefined ? { responseDelay: w.responseDelayMs } : {}),
    ...(w.maxConnectionAgeMs !== undefined ? { maxConnectionAge: w.maxConnectionAgeMs } : {}),
    ...(w.maxConnectionAgeGraceMs !== undefined ? { maxConnectionAgeGrace: w.maxConnectionAgeGraceMs } : {}),
    ...(w.preStopSleepMs !== undefined ? { preStopSleep: w.preStopSleepMs } : {}),
    ...(w.terminationGracePeriodMs !== undefined ? { terminationGracePeriod: w.terminationGracePeriodMs } : {}),
    ...(w.maxSurge !== undefined ? { maxSurge: w.maxSurge } : {}),
    ...(w.maxUnavailable !== undefined ? { maxUnavailable: w.maxUnavailable } : {}),
    ...(w.pdb ? { pdb: w.pdb } : {}),
    ...(w.nodes ? { nodes: w.nodes } : {}),
    ...(w.notReadyTolerationMs !== undefined ? { notReadyToleration: w.notReadyTolerationMs } : {}),
    ...(w.ingress ? { ingress: w.ingress } : {}),
  };
  const loads = run.loads.map((l) => {
    const { startMs, durationMs, endMs: _end, idleTimeoutMs, maxConnectionAgeMs, keepaliveMs, ...rest } = l;
    const spec: LoadSpec = {
      ...rest,
      startTime: startMs,
      duration: durationMs,
      ...(idleTimeoutMs !== undefined ? { idleTimeout: idleTimeoutMs } : {}),
      ...(maxConnectionAgeMs !== undefined ? { maxConnectionAge: maxConnectionAgeMs } : {}),
      ...(keepaliveMs !== undefined ? { keepalive: keepaliveMs } : {}),
    };
    return { spec, startMs, durationMs };
  });
  const chaos = run.chaos.map(({ atMs, ...rest }) => ({ spec: { ...rest, at: atMs } as ChaosSpec, atMs }));
  return { workload, loads, chaos, checks: run.checks.map((check) => ({ name: check.name, expect: check.expect })) };
}
