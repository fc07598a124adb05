import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import leven from 'leven';
import { z } from 'zod';
import { toMs } from '../core/duration.ts';
import { badInput } from '../core/errors.ts';
import { repoRoot } from '../core/paths.ts';
import { ciliumOptionsSchema, ipvsOptionsSchema } from '../lab/spec.ts';
import { ingressLbs, type ScenarioSpec } from './types.ts';
import { typecheckScenario } from './typecheck.ts';
import { serverRuntimes } from '../workloads/runtime.ts';

/** Identity: gives scenario files type checking and completion (`export default defineScenario({...})`). */
export function defineScenario(spec: ScenarioSpec): ScenarioSpec {
  return spec;
}

export const proxyModeValues = ['iptables', 'nftables', 'ipvs', 'cilium'] as const;
export const expectOps = ['<', '<=', '>', '>=', '==', '!='] as const;
export type ExpectOp = (typeof expectOps)[number];

// ---------------------------------------------------------------------------------------------
// Shape: zod, strict (a misspelt key is an error, never silently ignored).

const kebab = z.string().regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, { error: 'must be kebab-case: lower-case letters, digits and -' });

/** A duration as users write it; parsed by the one parser (core/duration.ts) so messages agree. */
const duration = (options: { positive?: boolean } = {}) =>
  z.union([z.number(), z.string()], { error: (issue) => (issue.input === undefined ? 'required' : "must be a duration: milliseconds, or a string like '500ms', '30s', '2m'") }).superRefine((value, ctx) => {
    let ms: number;
    try {
      ms = toMs(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: typeof value === 'number' ? `${value} is not a non-negative number of milliseconds` : `'${value}' is not a duration: write '500ms', '30s', '2m' or milliseconds` });
      return;
    }
    if (options.positive && ms <= 0) ctx.addIssue({ code: 'custom', message: 'must be longer than 0' });
  });

const count = (min: number) => z.number().int({ error: 'must be a whole number' }).min(min, { error: `must be ≥ ${min}` });

const intOrPercent = z.union([count(0), z.string().regex(/^\d{1,3}%$/, { error: "must be a count or a percentage like '25%'" })]);

const pdbSchema = z.strictObject({ minAvailable: intOrPercent.optional(), maxUnavailable: intOrPercent.optional() });
const nodeList = z.array(count(1)).min(1, { error: 'lists at least one node (or leave it out for all)' });

const ingressSchema = z.strictObject({
  replicas: count(1).max(10, { error: 'must be ≤ 10' }).optional(),
  spread: z.enum(['none', 'hostname']).optional(),
  nodes: nodeList.optional(),
  pdb: pdbSchema.optional(),
  serviceType: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']).optional(),
  externalTrafficPolicy: z.enum(['Cluster', 'Local']).optional(),
  lb: z.enum(ingressLbs, { error: `must be one of ${ingressLbs.map((lb) => `'${lb}'`).join(', ')} (Traefik's p2c, hrw and leasttime are set through its file or CRD providers only, not the Ingress provider the harness drives)` }).optional(),
});

const workloadSchema = z.strictObject({
  server: z.enum(['http', 'grpc']),
  runtime: z.enum(serverRuntimes).optional(),
  replicas: count(1).max(100, { error: 'must be ≤ 100' }),
  serviceType: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']).optional(),
  externalTrafficPolicy: z.enum(['Cluster', 'Local']).optional(),
  keepAliveTimeout: duration().optional(),
  maxRequestsPerConnection: count(0).optional(),
  responseDelay: duration().optional(),
  maxConnectionAge: duration().optional(),
  maxConnectionAgeGrace: duration().optional(),
  preStopSleep: duration().optional(),
  terminationGracePeriod: duration().optional(),
  maxSurge: intOrPercent.optional(),
  maxUnavailable: intOrPercent.optional(),
  pdb: pdbSchema.optional(),
  notReadyToleration: duration().optional(),
  nodes: nodeList.optional(),
  ingress: ingressSchema.optional(),
});

const loadSchema = z.strictObject({
  name: kebab,
  driver: z.enum(['builtin', 'k6']).optional(),
  script: z.string().regex(/^[\w.-]+\.(ts|js)$/, { error: 'must be a file name in scenarios/k6/ (e.g. http-shares.ts)' }).optional(),
  protocol: z.enum(['http', 'grpc']),
  model: z.enum(['persistent', 'short-lived', 'pooled', 'h2']).optional(),
  call: z.enum(['unary', 'server-stream', 'bidi']).optional(),
  client: z.enum(['h2', 'grpc-js']).optional(),
  connections: count(1),
  executor: z.enum(['constant-arrival-rate', 'constant-vus']),
  rate: z.number().positive({ error: 'must be > 0 (requests per second in total)' }).optional(),
  vus: count(1).optional(),
  startTime: duration().optional(),
  duration: duration({ positive: true }),
  from: z.enum(['pod', 'external']).optional(),
  via: z.enum(['service', 'ingress']).optional(),
  idleTimeout: duration().optional(),
  maxConnectionAge: duration().optional(),
  keepalive: duration().optional(),
  unit: z.enum(['connections', 'requests']).optional(),
  generators: count(1).max(20, { error: 'must be ≤ 20' }).optional(),
  perNode: z.boolean().optional(),
});

const at = duration();
const node = count(1);
const nodeOrAll = z.union([node, z.literal('all')], { error: "must be a node's number (1 = the first node) or 'all'" });
const chaosSchema = z.discriminatedUnion('action', [
  z.strictObject({ at, action: z.literal('scale'), replicas: count(0).max(100, { error: 'must be ≤ 100' }) }),
  z.strictObject({ at, action: z.literal('rollout-restart') }),
  z.strictObject({ at, action: z.literal('rollout'), env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an env var name' }), z.string()) }),
  z.strictObject({ at, action: z.literal('delete-pod'), count: count(1).optional(), force: z.boolean().optional() }),
  z.strictObject({ at, action: z.literal('kill-process'), count: count(1).optional() }),
  z.strictObject({ at, action: z.literal('readiness-flip'), count: count(1).optional(), duration: duration({ positive: true }) }),
  z.strictObject({ at, action: z.literal('kube-proxy-pause'), node: nodeOrAll.optional(), duration: duration({ positive: true }) }),
  z.strictObject({ at, action: z.literal('kube-proxy-restart'), node: nodeOrAll.optional() }),
  z.strictObject({ at, action: z.literal('node-drain'), node }),
  z.strictObject({ at, action: z.literal('node-uncordon'), node }),
  z.strictObject({ at, action: z.literal('node-down'), node, duration: duration({ positive: true }).optional() }),
  z.strictObject({ at, action: z.literal('node-up'), node }),
  z.strictObject({
    at, action: z.literal('network'), target: z.enum(['pod', 'node']), node: node.optional(), count: count(1).optional(),
    loss: z.number({ error: 'must be a percentage' }).gt(0, { error: 'must be > 0 (percent of packets dropped)' }).max(100, { error: 'must be ≤ 100' }).optional(),
    partition: z.boolean().optional(), delay: duration({ positive: true }).optional(), jitter: duration({ positive: true }).optional(), duration: duration({ positive: true }),
  }),
]);

const checkSchema = z.strictObject({
  name: z.string().min(1, { error: 'must not be empty' }),
  expect: z.string().superRefine((value, ctx) => {
    const parsed = tryParseExpect(value);
    if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
  }),
  variants: z.array(z.string()).min(1, { error: 'lists at least one variant (leave it out for all)' }).optional(),
});

const variantSchema = z.strictObject({
  name: kebab,
  description: z.string().optional(),
  workload: workloadSchema.partial().optional(),
  load: z.record(z.string(), loadSchema.partial()).optional(),
  chaos: z.array(chaosSchema).optional(),
});

/** The workload settings a recommendation may order by (types.ts RecommendSetting). */
export const recommendSettings = ['replicas', 'keepAliveTimeout', 'maxRequestsPerConnection', 'responseDelay', 'maxConnectionAge', 'maxConnectionAgeGrace', 'preStopSleep', 'terminationGracePeriod', 'notReadyToleration'] as const;

const expectSchema = z.string().superRefine((value, ctx) => {
  const parsed = tryParseExpect(value);
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
});

const recommendSchema = z.strictObject({
  subject: z.string().min(1, { error: 'must name what is chosen' }),
  goal: z.string().min(1, { error: 'must say what a candidate must achieve' }),
  by: z.union([z.strictObject({ smallest: z.enum(recommendSettings) }), z.strictObject({ variants: z.array(z.string()).min(1, { error: 'lists at least one variant' }) })], {
    error: "must be { smallest: '<workload setting>' } or { variants: [names, best first] }",
  }),
  quote: z.array(z.enum(recommendSettings)).optional(),
  require: z.array(expectSchema).optional(),
});

const scenarioSchema = z.strictObject({
  name: kebab,
  description: z.string().min(1, { error: 'must say what the scenario shows' }),
  nodes: count(1).max(20, { error: 'must be ≤ 20' }).optional(),
  proxyModes: z.array(z.enum(proxyModeValues)).min(1, { error: 'lists at least one proxy mode' }).optional(),
  workload: workloadSchema,
  load: z.array(loadSchema).min(1, { error: 'needs at least one load' }),
  chaos: z.array(chaosSchema).optional(),
  checks: z.array(checkSchema).optional(),
  variants: z.array(variantSchema).min(1, { error: 'needs at least one variant (or leave it out)' }).optional(),
  rebalanceFraction: z.number({ error: 'must be a number' }).gt(0, { error: 'must be > 0' }).max(1, { error: 'must be ≤ 1' }).optional(),
  cilium: ciliumOptionsSchema.partial().optional(),
  ipvs: ipvsOptionsSchema.partial().optional(),
  recommend: recommendSchema.optional(),
});

/** Keys each object may have, for "did you mean" on a misspelt key. */
const chaosKeys = [...new Set(chaosSchema.options.flatMap((option) => Object.keys(option.shape)))];
const vocabulary = {
  scenario: Object.keys(scenarioSchema.shape),
  workload: Object.keys(workloadSchema.shape),
  ingress: Object.keys(ingressSchema.shape),
  load: Object.keys(loadSchema.shape),
  chaos: chaosKeys,
  check: Object.keys(checkSchema.shape),
  variant: Object.keys(variantSchema.shape),
  cilium: Object.keys(ciliumOptionsSchema.shape),
  ipvs: Object.keys(ipvsOptionsSchema.shape),
  recommend: Object.keys(recommendSchema.shape),
};

type Path = readonly (string | number)[];
interface Problem {
  path: Path;
  message: string;
}

function keysAllowedAt(path: Path): readonly string[] {
  if (path.length === 0) return vocabulary.scenario;
  if (path[0] === 'variants' && path.length === 2) return vocabulary.variant;
  const inner = path[0] === 'variants' ? path.slice(2) : path;
  switch (inner[0]) {
    case 'workload':
      return inner[1] === 'ingress' && inner.length === 2 ? vocabulary.ingress : vocabulary.workload;
    case 'load':
      return vocabulary.load;
    case 'chaos':
      return vocabulary.chaos;
    case 'checks':
      return vocabulary.check;
    case 'cilium':
      return vocabulary.cilium;
    case 'ipvs':
      return vocabulary.ipvs;
    case 'recommend':
      return path.length === 1 ? vocabulary.recommend : [];
    default:
      return [];
  }
}

/** `load[0].rate`, `variants[1].load.client.model`: how a person would point at it. */
export function formatPath(path: Path): string {
  let text = '';
  for (const part of path) text += typeof part === 'number' ? `[${part}]` : text === '' ? part : `.${part}`;
  return text || '(scenario)';
}

function shapeProblems(value: unknown): Problem[] {
  const result = scenarioSchema.safeParse(value, {
    // "required" reads better than "expected number, received undefined".
    error: (issue) => (['invalid_type', 'invalid_value', 'invalid_union'].includes(issue.code ?? '') && issue.input === undefined ? 'required' : undefined),
  });
  if (result.success) return [];
  return result.error.issues.flatMap((issue): Problem[] => {
    const path = issue.path.filter((part): part is string | number => typeof part !== 'symbol');
    if (issue.code !== 'unrecognized_keys') return [{ path, message: issue.message }];
    const allowed = keysAllowedAt(path);
    return issue.keys.map((key) => {
      const near = closest(key, allowed);
      return { path: [...path, key], message: `unknown key${near ? ` (did you mean '${near}'?)` : allowed.length > 0 ? ` (allowed: ${allowed.join(', ')})` : ''}` };
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Meaning: what zod cannot express. Runs on the raw value, defensively, so it reports alongside
// shape problems instead of hiding behind them.

type Obj = Record<string, unknown>;
const record = (value: unknown): Obj | undefined => (value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Obj) : undefined);
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const msOf = (value: unknown): number | undefined => {
  if (typeof value !== 'number' && typeof value !== 'string') return undefined;
  try {
    return toMs(value);
  } catch {
    return undefined;
  }
};
const show = (ms: number): string => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);
/** kubelet's default terminationGracePeriodSeconds. */
const defaultGraceMs = 30_000;

/** Names in `items` must be unique; returns the names seen. */
function uniqueNames(items: readonly (Obj | undefined)[], at: string, problems: Problem[]): string[] {
  const first = new Map<string, number>();
  items.forEach((item, index) => {
    const name = text(item?.name);
    if (name === undefined) return;
    const earlier = first.get(name);
    if (earlier !== undefined) problems.push({ path: [at, index, 'name'], message: `'${name}' is already the name of ${at}[${earlier}]` });
    else first.set(name, index);
  });
  return [...first.keys()];
}

/** Problems of one combination of workload, loads and chaos (the base, or a variant merged onto it). */
function runProblems(workload: Obj | undefined, loads: readonly (Obj | undefined)[], chaos: readonly unknown[], nodes: number): Problem[] {
  const problems: Problem[] = [];
  const add = (path: Path, message: string) => problems.push({ path, message });
  const server = text(workload?.server);
  const serviceType = text(workload?.serviceType) ?? 'ClusterIP';
  if (workload) {
    if (workload.externalTrafficPolicy !== undefined && serviceType === 'ClusterIP') add(['workload', 'externalTrafficPolicy'], 'needs serviceType NodePort or LoadBalancer');
    if (server === 'grpc') {
      for (const key of ['keepAliveTimeout', 'maxRequestsPerConnection', 'responseDelay']) if (workload[key] !== undefined) add(['workload', key], 'applies to the http server only');
    }
    if (server === 'http') {
      if (workload.maxConnectionAgeGrace !== undefined) add(['workload', 'maxConnectionAgeGrace'], 'applies to the grpc server only (the HTTP server ends an old connection after its next response)');
    }
    // The manifests take whole seconds (preStop sleep, terminationGracePeriodSeconds).
    for (const key of ['preStopSleep', 'terminationGracePeriod']) {
      const ms = msOf(workload[key]);
      if (ms !== undefined && ms % 1000 !== 0) add(['workload', key], `${ms}ms is not a whole number of seconds (the kubelet takes seconds)`);
    }
    for (const [i, n] of list(workload.nodes).entries()) if (typeof n === 'number' && n > nodes) add(['workload', 'nodes', i], `the scenario has ${nodes} node(s) (nodes: ${nodes}); node ${n} does not exist`);
    const pdb = record(workload.pdb);
    if (pdb && (pdb.minAvailable === undefined) === (pdb.maxUnavailable === undefined)) add(['workload', 'pdb'], 'takes exactly one of minAvailable and maxUnavailable (as a PodDisruptionBudget does)');
    const ingress = record(workload.ingress);
    if (ingress) {
      for (const [i, n] of list(ingress.nodes).entries()) if (typeof n === 'number' && n > nodes) add(['workload', 'ingress', 'nodes', i], `the scenario has ${nodes} node(s) (nodes: ${nodes}); node ${n} does not exist`);
      const budget = record(ingress.pdb);
      if (budget && (budget.minAvailable === undefined) === (budget.maxUnavailable === undefined)) add(['workload', 'ingress', 'pdb'], 'takes exactly one of minAvailable and maxUnavailable (as a PodDisruptionBudget does)');
      if (ingress.externalTrafficPolicy !== undefined && (text(ingress.serviceType) ?? 'ClusterIP') === 'ClusterIP') add(['workload', 'ingress', 'externalTrafficPolicy'], 'needs ingress.serviceType NodePort or LoadBalancer');
      if (server === 'grpc') add(['workload', 'ingress'], 'the lab\'s Ingress controller is set up for HTTP/1.1 backends only; use server http');
    }
    const preStop = msOf(workload.preStopSleep);
    const grace = msOf(workload.terminationGracePeriod) ?? defaultGraceMs;
    if (preStop !== undefined && preStop >= grace) add(['workload', 'preStopSleep'], `${show(preStop)} must be shorter than terminationGracePeriod (${show(grace)}): the kubelet kills the pod when the grace period ends`);
  }

  let lastEnd: number | undefined = 0;
  loads.forEach((load, index) => {
    if (!load) return;
    const here = (key: string): Path => ['load', index, key];
    const protocol = text(load.protocol);
    const executor = text(load.executor);
    if (executor === 'constant-arrival-rate' && load.rate === undefined) add(here('rate'), 'required by executor constant-arrival-rate (requests per second in total)');
    if (executor === 'constant-vus' && load.vus === undefined) add(here('vus'), 'required by executor constant-vus (requests in flight)');
    if (executor === 'constant-vus' && load.rate !== undefined) add(here('rate'), 'applies to executor constant-arrival-rate only');
    if (executor === 'constant-arrival-rate' && load.vus !== undefined) add(here('vus'), 'applies to executor constant-vus only');
    // k6 drives HTTP/1.1 with a connection per VU (persistent) or per request (short-lived), and
    // gRPC unary calls on its own client (grpc-go), a channel per VU (scenarios/k6/grpc-shares.ts).
    if (load.driver === 'k6') {
      if (protocol === 'grpc') {
        if ((text(load.call) ?? 'unary') !== 'unary') add(here('call'), "k6 makes unary calls here (scenarios/k6/grpc-shares.ts); use driver 'builtin' for streams");
        for (const key of ['client', 'keepalive']) if (load[key] !== undefined) add(here(key), "applies to driver 'builtin' only (k6 brings its own gRPC client, grpc-go)");
      } else if (!['persistent', 'short-lived'].includes(text(load.model) ?? 'persistent')) add(here('model'), "k6 runs model 'persistent' or 'short-lived'");
    } else if (load.script !== undefined) add(here('script'), "applies to driver 'k6' only");
    if (protocol === 'grpc' && load.model !== undefined) add(here('model'), 'applies to http loads only (gRPC: call)');
    if (protocol === 'http' && load.call !== undefined) add(here('call'), 'applies to grpc loads only (HTTP: model)');
    if (protocol === 'http' && load.keepalive !== undefined) add(here('keepalive'), 'applies to grpc loads only');
    if (protocol === 'http' && load.client !== undefined) add(here('client'), 'applies to grpc loads only (HTTP: model)');
    if (load.client === 'h2' && (text(load.call) ?? 'unary') !== 'unary') add(here('client'), "h2 makes unary calls only; use client 'grpc-js' for streams");
    for (const key of ['idleTimeout', 'maxConnectionAge']) {
      if (load[key] === undefined) continue;
      // A client max age retires held connections (persistent) and pooled ones; idling needs a pool.
      const models = key === 'maxConnectionAge' ? ['pooled', 'persistent'] : ['pooled'];
      if (protocol === 'grpc') add(here(key), "applies to http loads only (gRPC: the server's workload.maxConnectionAge)");
      else if (protocol === 'http' && !models.includes(text(load.model) ?? 'persistent')) add(here(key), `applies to model ${models.map((m) => `'${m}'`).join(' or ')} only`);
    }
    if (protocol !== undefined && server !== undefined && protocol !== server) add(here('protocol'), `a ${protocol} load cannot drive the ${server} server (workload.server)`);
    const viaIngress = load.via === 'ingress';
    const ingressService = text(record(workload?.ingress)?.serviceType) ?? 'ClusterIP';
    if (viaIngress && workload && workload.ingress === undefined) add(here('via'), 'needs workload.ingress (the controller the load goes through)');
    if (load.from === 'external' && !viaIngress && serviceType === 'ClusterIP') add(here('from'), 'external clients need workload.serviceType NodePort or LoadBalancer');
    if (load.from === 'external' && viaIngress && workload?.ingress !== undefined && ingressService === 'ClusterIP') add(here('from'), 'external clients of the Ingress need workload.ingress.serviceType NodePort or LoadBalancer');
    if (Number(load.generators ?? 1) > 1 && load.from === 'external') add(here('generators'), 'generators are load pods inside the cluster; an external load runs from one place (leave generators out, or use from: pod)');
    if (load.perNode === true && load.from === 'external') add(here('perNode'), 'a generator per node is a load pod on each node; an external load runs from one place (leave perNode out, or use from: pod)');
    if (load.perNode === true && load.generators !== undefined) add(here('perNode'), 'perNode sizes the generators to the nodes: give perNode or generators, not both');
    const start = load.startTime === undefined ? 0 : msOf(load.startTime);
    const length = msOf(load.duration);
    lastEnd = lastEnd === undefined || start === undefined || length === undefined ? undefined : Math.max(lastEnd, start + length);
  });

  // Chaos after every load has ended would change nothing anybody measures.
  chaos.forEach((value, index) => {
    const action = record(value);
    const atMs = msOf(action?.at);
    if (atMs !== undefined && lastEnd !== undefined && lastEnd > 0 && atMs >= lastEnd) add(['chaos', index, 'at'], `${show(atMs)} is not before the last load ends (${show(lastEnd)}): nothing would observe it`);
    const length = msOf(action?.duration);
    if (atMs !== undefined && length !== undefined && lastEnd !== undefined && lastEnd > 0 && atMs + length > lastEnd) {
      add(['chaos', index, 'duration'], `${show(atMs)} + ${show(length)} ends after the last load (${show(lastEnd)}): the fault would be undone unobserved; shorten it or lengthen the load`);
    }
    if (action && typeof action.node === 'number' && action.node > nodes) add(['chaos', index, 'node'], `the scenario has ${nodes} node(s) (nodes: ${nodes}); node ${action.node} does not exist`);
    if (action?.action === 'network') {
      if (action.loss === undefined && action.partition !== true && action.delay === undefined) add(['chaos', index], 'says nothing to do: give loss (percent), partition: true, or delay');
      if (action.partition === true && (action.loss !== undefined || action.delay !== undefined)) add(['chaos', index, 'partition'], 'drops everything: loss and delay make no sense with it');
      if (action.jitter !== undefined && action.delay === undefined) add(['chaos', index, 'jitter'], 'needs delay (jitter varies the delay)');
      if (action.target === 'node' && action.node === undefined) add(['chaos', index, 'node'], "required by target 'node'");
      if (action.target === 'node' && action.count !== undefined) add(['chaos', index, 'count'], "applies to target 'pod' only");
      if (action.target === 'pod' && action.node !== undefined) add(['chaos', index, 'node'], "applies to target 'node' only (pods are picked oldest first)");
    }
  });
  return problems;
}

/** A variant's problem, pointed at where the variant would fix it. */
function inVariant(problem: Problem, variantIndex: number, loads: readonly (Obj | undefined)[], ownChaos: boolean): Problem {
  const [head, index, ...rest] = problem.path;
  if (head === 'load') {
    const name = text(loads[index as number]?.name) ?? String(index);
    return { path: ['variants', variantIndex, 'load', name, ...rest], message: problem.message };
  }
  if (head === 'chaos' && !ownChaos) return { path: ['variants', variantIndex], message: `${formatPath(problem.path)}: ${problem.message}` };
  return { path: ['variants', variantIndex, ...problem.path], message: problem.message };
}

function meaningProblems(value: unknown): Problem[] {
  const spec = record(value);
  if (!spec) return [];
  const problems: Problem[] = [];
  const loads = list(spec.load).map(record);
  const loadNames = uniqueNames(loads, 'load', problems);
  const variants = spec.variants === undefined ? [{ name: 'default' }] : list(spec.variants).map(record);
  const variantNames = uniqueNames(variants, 'variants', problems);

  const modes = list(spec.proxyModes);
  modes.forEach((mode, index) => {
    if (modes.indexOf(mode) !== index) problems.push({ path: ['proxyModes', index], message: `'${String(mode)}' is listed twice` });
  });
  // A mode's options on a scenario that lists its modes without that one would never apply. (With
  // proxyModes left out, `kth run --proxy-mode` chooses, so they may yet apply; with an unknown
  // mode listed, which one was meant is unclear and the shape check already says so.)
  if (spec.proxyModes !== undefined && modes.every((mode) => (proxyModeValues as readonly unknown[]).includes(mode))) {
    for (const mode of ['cilium', 'ipvs'] as const) {
      if (spec[mode] !== undefined && !modes.includes(mode)) problems.push({ path: [mode], message: `applies to proxy mode ${mode}, which proxyModes (${modes.map(String).join(', ')}) does not list` });
    }
  }

  const workload = record(spec.workload);
  const chaos = list(spec.chaos);
  const nodes = typeof spec.nodes === 'number' ? spec.nodes : 3;
  const base = runProblems(workload, loads, chaos, nodes);
  problems.push(...base);
  const seen = new Set(base.map((problem) => `${formatPath(problem.path)}\n${problem.message}`));

  variants.forEach((variant, v) => {
    if (!variant || spec.variants === undefined) return;
    const overrides = record(variant.load) ?? {};
    for (const [name, override] of Object.entries(overrides)) {
      if (!loadNames.includes(name)) problems.push({ path: ['variants', v, 'load', name], message: `no load named '${name}' (loads: ${loadNames.join(', ') || 'none'})` });
      if (record(override)?.name !== undefined) problems.push({ path: ['variants', v, 'load', name, 'name'], message: 'a variant cannot rename a load' });
    }
    const merged = loads.map((load) => (load ? { ...load, ...record(overrides[text(load.name) ?? '']) } : undefined));
    const ownChaos = variant.chaos !== undefined;
    for (const problem of runProblems({ ...workload, ...record(variant.workload) }, merged, ownChaos ? list(variant.chaos) : chaos, nodes)) {
      // A problem the base already has is reported once, at the base.
      if (!ownChaos || problem.path[0] !== 'chaos') {
        if (seen.has(`${formatPath(problem.path)}\n${problem.message}`)) continue;
      }
      problems.push(inVariant(problem, v, loads, ownChaos));
    }
  });

  const checks = list(spec.checks).map(record);
  uniqueNames(checks, 'checks', problems);
  checks.forEach((check, c) => {
    list(check?.variants).forEach((name, n) => {
      if (typeof name === 'string' && !variantNames.includes(name)) problems.push({ path: ['checks', c, 'variants', n], message: `no variant named '${name}' (variants: ${variantNames.join(', ')})` });
    });
    const expectText = text(check?.expect);
    const parsed = expectText === undefined ? undefined : tryParseExpect(expectText);
    if (parsed && typeof parsed !== 'string') {
      const problem = reportPathProblem(parsed.path, loadNames);
      if (problem) problems.push({ path: ['checks', c, 'expect'], message: problem });
    }
  });

  // A recommendation's candidates must exist: named variants, or variants that set the setting.
  const recommend = record(spec.recommend);
  if (recommend) {
    const by = record(recommend.by);
    list(by?.variants).forEach((name, n) => {
      if (typeof name === 'string' && !variantNames.includes(name)) problems.push({ path: ['recommend', 'by', 'variants', n], message: `no variant named '${name}' (variants: ${variantNames.join(', ')})` });
    });
    const setting = text(by?.smallest);
    if (setting !== undefined && (recommendSettings as readonly string[]).includes(setting) && !variants.some((variant) => ({ ...workload, ...record(variant?.workload) })[setting] !== undefined)) {
      problems.push({ path: ['recommend', 'by', 'smallest'], message: `no variant sets workload.${setting}: there would be no candidate` });
    }
    list(recommend.require).forEach((expect, r) => {
      const parsed = typeof expect === 'string' ? tryParseExpect(expect) : undefined;
      const problem = parsed && typeof parsed !== 'string' ? reportPathProblem(parsed.path, loadNames) : undefined;
      if (problem) problems.push({ path: ['recommend', 'require', r], message: problem });
    });
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Checks: `<path> <op> <number>`, paths into one run of report.json (harness/report/model.ts).

export interface ParsedExpect {
  path: string;
  op: ExpectOp;
  threshold: number;
}

/** Numbers in a RunSummary (report/model.ts), the shape of a run and of each `loads.<name>`. */
const summaryPaths = [
  'totals.requests',
  'totals.attributed',
  'totals.unattributed',
  'totals.errors',
  'totals.dropped',
  'totals.serverCounted',
  'errors.total',
  'latencyMs.p50',
  'latencyMs.p90',
  'latencyMs.p99',
  'latencyMs.max',
  'metrics.jainIndex',
  'metrics.maxMinRatio',
  'metrics.chiSquareP',
  'metrics.chiSquareLowerP',
  'metrics.chiSquare.n',
  'metrics.chiSquare.statistic',
  'metrics.chiSquare.degreesOfFreedom',
  'metrics.sourceIpPreservedRatio',
  'metrics.forwardedForPreservedRatio',
  'load.sent',
];
/** Numbers only a whole run has (timeline metrics, measured across loads). */
const runOnlyPaths = ['durationMs', 'metrics.rebalanceSeconds', 'metrics.propagationLagMs', 'metrics.trafficAfterRemovalMs', 'metrics.crossNodeRatio', 'metrics.goaways', 'metrics.goawaysInferred', 'metrics.endpointsRemovedAfterFaultMs', 'metrics.newPodsReady', 'metrics.servedDuringFaults', 'metrics.ingressTopNodeShare'];
const errorKindPath = /^errors\.byKind\.[a-z0-9][a-z0-9-]*$/;
/** A distributed load's generator by number (1-based, as the report's generators table shows it). */
export const generatorPath = /^generators\.([^.]+)\.([1-9]\d*)\.(.+)$/;
/** The numbers of one generator's row a check may name. */
export const generatorFields: readonly string[] = ['sent', 'requests', 'errors', 'dropped', 'ratePerSecond', 'p99Ms', 'startedLateMs', 'propagationLagMs', 'trafficAfterRemovalMs'];

/** The number paths a check may name (errors.byKind.<kind> and loads.<load>.<path> besides). */
export const checkPaths: readonly string[] = [...summaryPaths, ...runOnlyPaths];

/** Why `path` names no number of a run report, or undefined when it does. */
export function reportPathProblem(path: string, loadNames: readonly string[]): string | undefined {
  const perLoad = /^loads\.([^.]+)\.(.+)$/.exec(path);
  if (perLoad) {
    const [, load, rest] = perLoad as unknown as [string, string, string];
    if (!loadNames.includes(load)) return `no load named '${load}' (loads: ${loadNames.join(', ')})`;
    if (summaryPaths.includes(rest) || errorKindPath.test(rest)) return undefined;
    const near = closest(rest, summaryPaths);
    return `'${rest}' is not a per-load number${near ? ` (did you mean '${near}'?)` : ''}`;
  }
  const perGenerator = generatorPath.exec(path);
  if (perGenerator) {
    const [, load, , field] = perGenerator as unknown as [string, string, string, string];
    if (!loadNames.includes(load)) return `no load named '${load}' (loads: ${loadNames.join(', ')})`;
    if (generatorFields.includes(field)) return undefined;
    const near = closest(field, generatorFields);
    return `'${field}' is not a number of a generator's row${near ? ` (did you mean '${near}'?)` : ` (one of ${generatorFields.join(', ')})`}`;
  }
  if (checkPaths.includes(path) || errorKindPath.test(path)) return undefined;
  const near = closest(path, checkPaths);
  return `'${path}' is not a number in the run report${near ? ` (did you mean '${near}'?)` : ` (e.g. ${['metrics.chiSquareP', 'errors.total', 'errors.byKind.<kind>', 'latencyMs.p99', 'loads.<load>.metrics.jainIndex'].join(', ')})`}`;
}

function tryParseExpect(expect: string): ParsedExpect | string {
  const match = /^\s*([A-Za-z][\w.-]*)\s*(<=|>=|==|!=|<|>)\s*(\S+)\s*$/.exec(expect);
  if (!match) return `'${expect}' is not '<path> <op> <number>' with op one of ${expectOps.join(' ')} (e.g. 'metrics.chiSquareP >= 0.001')`;
  const [, path, op, number] = match as unknown as [string, string, ExpectOp, string];
  const threshold = Number(number);
  if (!/^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(number) || !Number.isFinite(threshold)) return `'${number}' in '${expect}' is not a number`;
  return { path, op, threshold };
}

/** Parses a check's `expect` ('metrics.chiSquareP >= 0.001'); bad input when it does not parse. */
export function parseExpect(expect: string): ParsedExpect {
  const parsed = tryParseExpect(expect);
  if (typeof parsed === 'string') throw badInput(`check: ${parsed}`, { where: 'expect', hint: "write a path into the run report, an operator and a number: 'errors.total == 0'" });
  return parsed;
}

// ---------------------------------------------------------------------------------------------

/** Groups problems as the file reads: by top-level key in the order written in types.ts, then by item (stable otherwise). */
function inFileOrder(problems: readonly Problem[]): Problem[] {
  const rank = (problem: Problem): [number, number] => {
    const top = vocabulary.scenario.indexOf(String(problem.path[0] ?? ''));
    const item = problem.path[1];
    return [top === -1 ? -1 : top, typeof item === 'number' ? item : -1];
  };
  return [...problems].sort((a, b) => {
    const [topA, itemA] = rank(a);
    const [topB, itemB] = rank(b);
    return topA - topB || itemA - itemB;
  });
}

/** Validates a scenario: every problem at its path, all at once, as bad input (exit 2). */
export function validateScenario(value: unknown, file: string): ScenarioSpec {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const problem of inFileOrder([...shapeProblems(value), ...meaningProblems(value)])) {
    const line = `${formatPath(problem.path)}: ${problem.message}`;
    if (!seen.has(line)) lines.push(line);
    seen.add(line);
  }
  if (lines.length > 0) {
    throw badInput(`scenario ${file} is not valid (${lines.length} problem${lines.length === 1 ? '' : 's'}):\n${lines.map((line) => `  - ${line}`).join('\n')}`, {
      where: file,
      hint: 'fix every line above; the fields are documented in harness/engine/types.ts, and `kth plan <scenario.ts>` checks a scenario without a cluster',
    });
  }
  return value as ScenarioSpec;
}

export interface LoadedScenario {
  spec: ScenarioSpec;
  /** As people should read it: relative to the working directory when inside it. */
  file: string;
  /** Absolute path. */
  path: string;
  /** Of the file's bytes: the report names exactly what ran. */
  sha256: string;
}

async function builtinNames(): Promise<string[]> {
  try {
    return (await readdir(resolve(repoRoot, 'scenarios'))).filter((name) => name.endsWith('.ts')).map((name) => name.slice(0, -3)).sort();
  } catch {
    return [];
  }
}

/** Type-checks a scenario module, imports it (its default export) and validates it. tsx, registered by bin/kth.mjs, compiles it. */
export async function loadScenario(file: string): Promise<LoadedScenario> {
  const path = isAbsolute(file) ? file : resolve(file);
  const fromCwd = relative(process.cwd(), path);
  const shown = fromCwd && !fromCwd.startsWith('..') && !isAbsolute(fromCwd) ? fromCwd : path;
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const names = await builtinNames();
    const builtin = names.find((name) => name === file || `${name}.ts` === file);
    throw badInput(`cannot read scenario ${shown}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`, {
      where: shown,
      hint: builtin ? `did you mean ${relative(process.cwd(), resolve(repoRoot, 'scenarios', `${builtin}.ts`))}?` : `give the path of a scenario module${names.length > 0 ? `; built-in: ${names.map((name) => `scenarios/${name}.ts`).join(', ')}` : ''}`,
      cause: error,
    });
  }
  // Types first: tsx below only strips them, and a type error should be reported at its line.
  await typecheckScenario(path, shown);
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (error) {
    // Outside a `"type": "module"` package a .ts file is CommonJS to Node; bin/kth.mjs registers
    // tsx for both module systems, but a runner without its CommonJS hook fails here with a SyntaxError.
    const commonJs = error instanceof SyntaxError && path.endsWith('.ts') ? '; outside this repository name the file .mts, or put a package.json with "type": "module" next to it' : '';
    throw badInput(`cannot load scenario ${shown}: ${(error as Error).message?.split('\n')[0] ?? String(error)}`, {
      where: shown,
      hint: `a scenario is a TypeScript module: \`export default defineScenario({ ... })\` (harness/engine/scenario.ts)${commonJs}`,
      cause: error,
    });
  }
  if (module.default === undefined) {
    throw badInput(`scenario ${shown} has no default export`, { where: shown, hint: "write `export default defineScenario({ ... })`, with `import { defineScenario } from 'kube-traffic-harness'`" });
  }
  const spec = validateScenario(module.default, shown);
  return { spec, file: shown, path, sha256: createHash('sha256').update(bytes).digest('hex') };
}

// ---------------------------------------------------------------------------------------------

/** The nearest of `candidates` within a small edit distance, for "did you mean". */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 4)) + 1;
  for (const candidate of candidates) {
    const distance = leven(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

