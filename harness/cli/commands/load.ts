import Table from 'cli-table3';
import type { Command } from 'commander';
import { toMs } from '../../core/duration.ts';
import { badInput, environmentError, HarnessError } from '../../core/errors.ts';
import { summarizeRun, type RunSummary } from '../../analysis/run-summary.ts';
import type { SamplingUnit } from '../../analysis/fairness.ts';
import { tooEven, tooEvenText } from '../../analysis/evenness.ts';
import type { Arrival, RampStage } from '../../load/arrival.ts';
import { measureClockOffset } from '../../load/clock-offset.ts';
import type { GrpcCall } from '../../load/grpc/driver.ts';
import type { HttpModel, LoadResult } from '../../load/http/driver.ts';
import { noSuccessMessage } from '../../load/outcome.ts';
import { runRelay } from '../../load/relay.ts';
import { defaultRequestTimeoutMs } from '../../load/scheduler.ts';
import { sleepUntil } from '../../engine/sleep-until.ts';
import { counterDelta, parseMetricsEndpoints, scrapeServer, setReadiness, type MetricsEndpoint, type ServerCounters } from '../../load/server-metrics.ts';
import { createNdjsonWriter } from '../../recorder/ndjson.ts';
import { Recorder } from '../../recorder/recorder.ts';

interface LoadFlags {
  target?: string;
  model?: string;
  connections?: string;
  channels?: string;
  rate?: string;
  ramp?: string;
  concurrency?: string;
  duration: string;
  maxRequests?: string;
  timeout: string;
  idleTimeout?: string;
  maxConnectionAge?: string;
  pipelining?: string;
  streams?: string;
  call?: string;
  client?: string;
  lb?: string;
  script?: string;
  protocol?: string;
  vus?: string;
  keepalive?: string;
  streamCount?: string;
  expectPods?: string;
  settle?: string;
  settleStreak?: string;
  startAt?: string;
  clockRef?: string;
  unit?: string;
  serverMetrics?: string;
  nodeAddresses?: string;
  byPeer?: boolean;
  events?: string;
  json?: boolean;
}

const httpModels = ['persistent', 'short-lived', 'pooled', 'h2'] as const;
const grpcCalls = ['unary', 'server-stream', 'bidi'] as const;

export function registerLoad(program: Command): void {
  const load = program.command('load').description('ad-hoc load against a target, every response attributed to the pod that served it');
  const common = (command: Command) =>
    command
      .requiredOption('--target <target>', 'where to send: http://host:port/path (http) or host:port, dns:///name:port (grpc)')
      .option('--rate <perSecond>', 'open model: requests per second in total (constant-arrival-rate; latency from the intended send time)')
      .option('--ramp <stages>', 'open model: ramping-arrival-rate stages "rate:duration,…" starting from --rate (default 0), e.g. "100:10s,100:20s"')
      .option('--concurrency <n>', 'closed model: requests kept in flight (constant-vus; suffers coordinated omission)')
      .option('--duration <duration>', 'how long to send (e.g. 30s)', '10s')
      .option('--max-requests <n>', 'stop after this many requests even if time is left')
      .option('--timeout <duration>', 'a request with no complete response after this long is a timeout', `${defaultRequestTimeoutMs / 1000}s`)
      .option('--expect-pods <n|names>', 'pods that should get traffic (a count, or names): pods never reached then show up with 0')
      .option('--start-at <epoch-ms>', 'wait until this time (ms since the epoch, this machine\'s clock) before the first request: many generators start together')
      .option('--clock-ref <url>', "before the first request, measure this machine's clock against a sample server's GET /clock (NTP-style, shortest of 8 round trips) and print the offset: generators on different nodes compare starts on one clock")
      .option('--settle <duration>', 'before measuring, probe with fresh connections (bounded by this long) until every --expect-pods pod answered: the proxy on the client\'s node has programmed the endpoints', '0s')
      .option('--settle-streak <n>', 'answers in a row the settle ends on (default 3): through a load balancer that picks a node per connection, a longer streak makes a node whose proxy lags behind show up as a failure')
      .option('--unit <unit>', 'sampling unit of the chi-square test: connections | requests (default: requests for short-lived, else connections)')
      .option('--server-metrics <urls>', 'comma-separated /metrics URLs of the servers (or pod=URL) to cross-check client counts against the servers\' own counters')
      .option('--by-peer', 'record which source address each pod saw (events: request-sample peer): behind a proxy, the replica that carried each request')
      .option('--node-addresses <list>', 'node=address,… of the cluster\'s nodes: a response the server saw coming from another node\'s address counts as a cross-node hop (metrics.crossNodeRatio)')
      .option('--events <file>', 'also write the event timeline (events.ndjson) to this file')
      .option('--json', 'print the run as report.json carries it (pods, totals, errors, latencyMs, metrics)');

  common(
    load
      .command('http')
      .description('HTTP load (HTTP/1.1 on a lean client, pooled on undici, h2 on node:http2)')
      .option('--model <model>', `connection model: ${httpModels.join(' | ')}`, 'persistent')
      .option('--connections <n>', 'persistent: connections held; short-lived: connections at once; pooled: pool size; h2: connections', '4')
      .option('--idle-timeout <duration>', 'pooled: close connections idle this long', '4s')
      .option('--max-connection-age <duration>', 'persistent and pooled: a connection older than this carries one last request (Connection: close), then a new one is opened (0 = never)', '0s')
      .option('--pipelining <n>', 'HTTP/1.1 requests in flight per connection', '1')
      .option('--streams <n>', 'h2: streams in flight per connection at most', '100'),
  ).action(async (flags: LoadFlags) => runLoadCommand('http', flags));

  common(
    load
      .command('k6')
      .description('HTTP or gRPC load by the real k6 binary (scenarios/k6/*.ts), its output folded into the same run shape')
      .option('--protocol <protocol>', 'http (k6/http, --target a URL) | grpc (k6/net/grpc, i.e. grpc-go: unary kth.v1.Echo/Who, --target host:port)', 'http')
      .option('--script <file>', 'k6 script; relative names are taken from scenarios/k6/ (default: http-shares.ts, grpc-shares.ts for grpc)')
      .option('--model <model>', 'persistent (k6 reuses each VU\'s connection) | short-lived (noConnectionReuse; http only)', 'persistent')
      .option('--vus <n>', 'k6 VUs (each holds its own connection): pre-allocated for --rate, the concurrency otherwise', '10'),
  ).action(async (flags: LoadFlags) => runLoadCommand('k6', flags));

  common(
    load
      .command('grpc')
      .description('gRPC load over independent channels (kth.v1.Echo): unary calls on node:http2, streaming and round_robin on @grpc/grpc-js')
      .option('--channels <n>', 'channels, each with its own connection(s)', '4')
      .option('--connections <n>', 'alias of --channels')
      .option('--call <call>', `what each request is: ${grpcCalls.join(' | ')}`, 'unary')
      .option('--client <client>', 'h2 (unary pick_first to host:port; fastest, sees real GOAWAY frames and the source address) | grpc-js (the reference client; any call, any policy). Default: h2 where it can serve, else grpc-js')
      .option('--lb <policy>', 'load-balancing policy: pick_first | round_robin (round_robin needs a dns:/// target resolving to several pods)', 'pick_first')
      .option('--keepalive <duration>', 'client keepalive ping interval (grpc.keepalive_time_ms)')
      .option('--stream-count <n>', 'server-stream: replies per call', '10'),
  ).action(async (flags: LoadFlags) => runLoadCommand('grpc', flags));

  load
    .command('counters')
    .description("read the sample servers' own counters (requests, connections, GOAWAYs) from where this runs; prints JSON")
    .requiredOption('--server-metrics <urls>', 'comma-separated /metrics URLs of the servers (or pod=URL)')
    .option('--allow-unreachable', 'a server that cannot be read is listed with its error instead of failing the command')
    .action(async (flags: { serverMetrics: string; allowUnreachable?: boolean }) => {
      const endpoints = parseMetricsEndpoints(flags.serverMetrics);
      const counters = flags.allowUnreachable
        ? await Promise.all(endpoints.map((endpoint) => scrapeServer(endpoint).catch((error: Error) => ({ pod: endpoint.pod, url: endpoint.url, error: error.message }))))
        : await scrapeAll(endpoints);
      process.stdout.write(`${JSON.stringify(counters)}\n`);
    });

  load
    .command('relay')
    .description('run one `kth load …` and frame its output, events and exit code as JSON lines on stdout (how a load in a pod reports through the pod log)')
    .argument('<load-argv...>', 'the load command after `kth load`, e.g. -- http --target … --json --events f')
    .allowUnknownOption()
    .action(async (argv: string[]) => {
      process.exitCode = await runRelay(argv);
    });

  load
    .command('readiness')
    .description("set the sample servers' readiness (their /admin/readiness control endpoint) from where this runs; prints JSON")
    .requiredOption('--server-metrics <urls>', 'comma-separated /metrics URLs of the servers (or pod=URL): their control port')
    .requiredOption('--ready <bool>', 'true | false')
    .action(async (flags: { serverMetrics: string; ready: string }) => {
      if (flags.ready !== 'true' && flags.ready !== 'false') throw badInput(`--ready: '${flags.ready}' must be true or false`, { where: '--ready' });
      process.stdout.write(`${JSON.stringify(await setReadiness(parseMetricsEndpoints(flags.serverMetrics), flags.ready === 'true'))}\n`);
    });
}

/** `--node-addresses node=ip,…` as address → node name. */
function parseNodeAddresses(value: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
    const match = /^([^=]+)=([0-9a-fA-F.:]+)$/.exec(part);
    if (!match) throw badInput(`--node-addresses: '${part}' is not node=address`, { where: '--node-addresses', hint: 'write e.g. node-1=10.0.0.11,node-2=10.0.0.12' });
    map.set(match[2] as string, match[1] as string);
  }
  return map;
}

function requireUrl(target: string): void {
  try {
    new URL(target);
  } catch {
    throw badInput(`--target: '${target}' is not a URL`, { where: '--target', hint: 'write http://host:port/path' });
  }
}

function integer(value: string | undefined, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) throw badInput(`${flag}: '${value}' must be a whole number ≥ ${min}`, { where: flag });
  return n;
}

function positive(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw badInput(`${flag}: '${value}' must be a positive number`, { where: flag });
  return n;
}

function duration(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  return toMs(/^\d+(\.\d+)?$/.test(value.trim()) ? `${value.trim()}s` : value, flag);
}

function oneOf<T extends string>(value: string | undefined, flag: string, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw badInput(`${flag}: '${value}' is not one of ${allowed.join(', ')}`, { where: flag });
  return value as T;
}

/** Turns the flags into an arrival model (exactly one of --rate/--ramp or --concurrency). */
export function arrivalFromFlags(flags: Pick<LoadFlags, 'rate' | 'ramp' | 'concurrency' | 'duration'>): Arrival {
  const durationMs = duration(flags.duration, '--duration')!;
  if (durationMs <= 0) throw badInput(`--duration: must be longer than 0`, { where: '--duration' });
  if (flags.concurrency !== undefined && (flags.rate !== undefined || flags.ramp !== undefined)) {
    throw badInput('--concurrency cannot be combined with --rate or --ramp', { where: '--concurrency', hint: 'pick the open model (--rate, --ramp) or the closed model (--concurrency)' });
  }
  if (flags.concurrency !== undefined) return { executor: 'constant-vus', concurrency: integer(flags.concurrency, '--concurrency', 1)!, durationMs };
  if (flags.ramp !== undefined) {
    const stages: RampStage[] = flags.ramp.split(',').map((part) => {
      const match = /^\s*([\d.]+)\s*:\s*(\S+)\s*$/.exec(part);
      if (!match) throw badInput(`--ramp: '${part}' is not rate:duration`, { where: '--ramp', hint: 'e.g. --ramp 100:10s,200:20s' });
      const target = Number(match[1]);
      if (!Number.isFinite(target) || target < 0) throw badInput(`--ramp: rate '${match[1]}' must be ≥ 0`, { where: '--ramp' });
      return { target, durationMs: duration(match[2], '--ramp')! };
    });
    const startRate = flags.rate === undefined ? 0 : Number(flags.rate);
    if (!Number.isFinite(startRate) || startRate < 0) throw badInput(`--rate: '${flags.rate}' must be ≥ 0`, { where: '--rate' });
    return { executor: 'ramping-arrival-rate', startRate, stages };
  }
  return { executor: 'constant-arrival-rate', rate: positive(flags.rate ?? '100', '--rate')!, durationMs };
}

async function scrapeAll(endpoints: readonly MetricsEndpoint[]): Promise<ServerCounters[]> {
  return Promise.all(endpoints.map((endpoint) => scrapeServer(endpoint)));
}

async function runLoadCommand(kind: 'http' | 'grpc' | 'k6', flags: LoadFlags): Promise<void> {
  const arrival = arrivalFromFlags(flags);
  const maxRequests = integer(flags.maxRequests, '--max-requests', 1);
  const requestTimeoutMs = duration(flags.timeout, '--timeout')!;
  const unitFlag = oneOf<SamplingUnit>(flags.unit, '--unit', ['connections', 'requests']);
  const endpoints = flags.serverMetrics ? parseMetricsEndpoints(flags.serverMetrics) : [];
  const expectPods = flags.expectPods === undefined ? undefined : /^\d+$/.test(flags.expectPods) ? Number(flags.expectPods) : flags.expectPods.split(',').map((name) => name.trim()).filter(Boolean);
  const target = flags.target!;
  const settleMs = duration(flags.settle ?? '0s', '--settle')!;
  const settleStreak = integer(flags.settleStreak, '--settle-streak', 1);
  const startAt = flags.startAt === undefined ? undefined : Number(flags.startAt);
  if (startAt !== undefined && (!Number.isFinite(startAt) || Math.abs(startAt - Date.now()) > 3_600_000)) {
    throw badInput(`--start-at: '${flags.startAt}' is not a time within an hour of now (ms since the epoch)`, { where: '--start-at', hint: 'pass Date.now() + lead, e.g. $(( $(date +%s%3N) + 5000 ))' });
  }

  // Validate the kind-specific flags before anything touches the network.
  let start: (recorder: Recorder, signal: AbortSignal) => Promise<LoadResult>;
  let unit: SamplingUnit;
  let description: string;
  if (kind === 'http') {
    const model = oneOf<HttpModel>(flags.model, '--model', httpModels)!;
    const connections = integer(flags.connections, '--connections', 1)!;
    const idleTimeoutMs = duration(flags.idleTimeout, '--idle-timeout');
    const maxConnectionAgeMs = duration(flags.maxConnectionAge, '--max-connection-age');
    const pipelining = integer(flags.pipelining, '--pipelining', 1);
    const streamsPerConnection = integer(flags.streams, '--streams', 1);
    unit = unitFlag ?? (model === 'short-lived' ? 'requests' : 'connections');
    description = `model ${model}, ${connections} connection(s)`;
    requireUrl(target);
    // Each protocol's driver is loaded only when used: grpc-js is heavy for an HTTP-only run.
    start = async (recorder, signal) => (await import('../../load/http/driver.ts')).runHttpLoad({ target, model, connections, arrival, maxRequests, requestTimeoutMs, idleTimeoutMs, maxConnectionAgeMs, pipelining, streamsPerConnection, recorder, signal });
  } else if (kind === 'k6') {
    const protocol = oneOf(flags.protocol ?? 'http', '--protocol', ['http', 'grpc'] as const)!;
    const model = oneOf(flags.model, '--model', ['persistent', 'short-lived'] as const)!;
    const vus = integer(flags.vus, '--vus', 1)!;
    const script = flags.script ?? (protocol === 'grpc' ? 'grpc-shares.ts' : 'http-shares.ts');
    if (arrival.executor === 'ramping-arrival-rate') throw badInput('--ramp: the k6 script runs constant-arrival-rate or constant-vus', { where: '--ramp', hint: 'use --rate or --concurrency with kth load k6' });
    if (maxRequests !== undefined) throw badInput('--max-requests: k6 runs for --duration', { where: '--max-requests' });
    if (protocol === 'grpc') {
      if (model !== 'persistent') throw badInput(`--model: k6's gRPC client holds one channel per VU; '${model}' is for --protocol http`, { where: '--model' });
      if (/^https?:\/\//.test(target)) throw badInput(`--target: '${target}' is a URL; gRPC takes host:port`, { where: '--target' });
    } else requireUrl(target);
    unit = unitFlag ?? (model === 'short-lived' ? 'requests' : 'connections');
    description = `k6 ${script}, ${protocol === 'grpc' ? 'unary gRPC calls' : `model ${model}`}, ${arrival.executor === 'constant-vus' ? arrival.concurrency : vus} VU(s)`;
    start = async (recorder) => {
      const { runK6 } = await import('../../k6/runner.ts');
      const startedAt = recorder.now();
      const k6 = await runK6({
        protocol,
        script,
        target,
        executor: arrival.executor === 'constant-vus' ? 'constant-vus' : 'constant-arrival-rate',
        ...(arrival.executor === 'constant-arrival-rate' ? { rate: arrival.rate } : {}),
        durationMs: arrival.durationMs,
        vus: arrival.executor === 'constant-vus' ? arrival.concurrency : vus,
        noConnectionReuse: model === 'short-lived',
        requestTimeoutMs,
        recorder,
      });
      const endedAt = recorder.now();
      // k6 schedules for itself: what it sent and dropped is what its own metrics say.
      // gRPC: a call is sent once (its first attempt), however often grpc-go retried it.
      const sent = protocol === 'grpc' ? k6.totals.sent : k6.counts.httpReqs;
      const schedule = { reason: 'duration' as const, startedAt, arrivalsEndedAt: endedAt, endedAt, scheduled: sent + k6.counts.dropped, sent, dropped: k6.counts.dropped, abandoned: 0 };
      return { source: k6.source, model: protocol === 'grpc' ? 'k6-grpc-unary' : `k6-${model}`, arrival: arrival.executor === 'constant-vus' ? 'closed' : 'open', schedule, totals: k6.totals };
    };
  } else {
    const channels = integer(flags.connections ?? flags.channels, flags.connections !== undefined ? '--connections' : '--channels', 1)!;
    const call = oneOf<GrpcCall>(flags.call, '--call', grpcCalls)!;
    const client = oneOf(flags.client, '--client', ['h2', 'grpc-js'] as const);
    const lbPolicy = oneOf(flags.lb, '--lb', ['pick_first', 'round_robin'] as const);
    const keepaliveTimeMs = duration(flags.keepalive, '--keepalive');
    const streamCount = integer(flags.streamCount, '--stream-count', 1);
    if (/^https?:\/\//.test(target)) throw badInput(`--target: '${target}' is a URL; gRPC takes host:port or dns:///name:port`, { where: '--target' });
    unit = unitFlag ?? 'connections';
    const driver = await import('../../load/grpc/driver.ts');
    const options = { target, channels, call, arrival, lbPolicy, keepaliveTimeMs, streamCount, maxRequests, requestTimeoutMs, ...(client ? { client } : {}) };
    // Before any connection: an h2 client asked for a run it cannot make fails here (exit 2).
    driver.validateGrpcLoad(options);
    description = `${call} calls over ${channels} channel(s), ${lbPolicy ?? 'pick_first'}, client ${driver.grpcClientFor(options)}`;
    start = async (recorder, signal) => driver.runGrpcLoad({ ...options, recorder, signal });
  }

  // Settle first: its probes reach the servers, so their baselines are read after it.
  const settled = settleMs > 0 ? await (await import('../../load/settle.ts')).settle({ kind: kind === 'grpc' || (kind === 'k6' && flags.protocol === 'grpc') ? 'grpc' : 'http', target, expectPods, timeoutMs: settleMs, ...(settleStreak !== undefined ? { consecutive: settleStreak } : {}) }) : undefined;
  const writer = flags.events ? createNdjsonWriter(flags.events) : undefined;
  const nodeAddresses = flags.nodeAddresses === undefined ? undefined : parseNodeAddresses(flags.nodeAddresses);
  const recorder = new Recorder({ granularity: 'pod', ...(writer ? { sink: writer.sink } : {}), ...(nodeAddresses ? { nodeAddresses } : {}), ...(flags.byPeer ? { byPeer: true } : {}) });
  const before = endpoints.length > 0 ? await scrapeAll(endpoints) : [];
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  let result: LoadResult;
  let startedAt: { epochMs: number; lateMs: number } | undefined;
  // Not fatal: a load whose clock could not be compared still runs, and says why.
  const clock = flags.clockRef === undefined ? undefined : await measureClockOffset(flags.clockRef).catch((error: Error) => ({ reference: flags.clockRef as string, error: error.message }));
  try {
    if (startAt !== undefined) {
      await sleepUntil(startAt, controller.signal);
      startedAt = { epochMs: Date.now(), lateMs: Date.now() - startAt };
    }
    result = await start(recorder, controller.signal);
  } finally {
    process.removeListener('SIGINT', onSigint);
    recorder.close();
    await writer?.close();
  }
  const after = endpoints.length > 0 ? await scrapeAll(endpoints) : [];
  const summary = summarizeRun([result.totals], { unit, ...(expectPods !== undefined ? { expectedPods: expectPods } : {}), ...(endpoints.length > 0 ? { serverCounts: counterDelta(before, after) } : {}) });
  const output = { ...summary, ...(startedAt ? { startedAt } : {}), ...(clock ? { clock } : {}), schedule: { reason: result.schedule.reason, sent: result.schedule.sent, dropped: result.schedule.dropped, abandoned: result.schedule.abandoned, durationMs: result.schedule.endedAt - result.schedule.startedAt }, ...(settled ? { settle: settled } : {}) };
  const settleLine = settled ? `settled before measuring: ${settled.probes} probe(s), ${settled.failures} failed, ${Math.round(settled.settledMs)} ms (monotonic clock, from the first probe)\n` : '';
  const clockLine = !clock ? '' : 'error' in clock ? `clock: not compared with ${clock.reference}: ${clock.error}\n` : `clock: ${clock.offsetMs >= 0 ? '+' : ''}${clock.offsetMs.toFixed(1)} ms ± ${clock.uncertaintyMs.toFixed(1)} ms to ${clock.reference} (reference − this machine; shortest of ${clock.samples} round trips, ${clock.rttMs} ms)\n`;
  process.stdout.write(flags.json ? `${JSON.stringify(output, null, 2)}\n` : clockLine + settleLine + renderLoad(kind, target, description, arrival, result, summary));
  if (result.schedule.reason === 'aborted') throw new HarnessError('interrupted', 'interrupted: the results above are partial');
  // Results stay on stdout (the engine parses them whatever the exit code); the one line goes to stderr.
  const failed = noSuccessMessage(summary, target);
  if (failed) throw environmentError(failed);
}

function fixed(value: number | null | undefined, digits = 3): string {
  return value === null || value === undefined ? '—' : Number.isFinite(value) ? value.toFixed(digits) : String(value);
}

function describeArrival(arrival: Arrival): string {
  switch (arrival.executor) {
    case 'constant-arrival-rate':
      return `open model, constant-arrival-rate ${arrival.rate}/s for ${arrival.durationMs / 1000}s`;
    case 'ramping-arrival-rate':
      return `open model, ramping-arrival-rate from ${arrival.startRate}/s: ${arrival.stages.map((stage) => `${stage.target}/s over ${stage.durationMs / 1000}s`).join(', ')}`;
    case 'constant-vus':
      return `closed model, constant-vus ${arrival.concurrency} in flight for ${arrival.durationMs / 1000}s`;
  }
}

/** The human form of one run: per-pod table, totals, errors, latency, fairness. */
export function renderLoad(kind: string, target: string, description: string, arrival: Arrival, result: LoadResult, summary: RunSummary): string {
  const lines: string[] = [];
  lines.push(`kth load ${kind} → ${target}`);
  lines.push(`  ${description}; ${describeArrival(arrival)}; ended by ${result.schedule.reason}`);
  const plain = !process.stdout.isTTY;
  const table = new Table({ head: ['pod', 'node', 'ip', 'requests', 'share', 'connections', 'errors', 'p99 ms'], ...(plain ? { style: { head: [], border: [] } } : {}) });
  // p99 ms: the pod's own latency (its responses plus failures charged to it); '—' when it served nothing.
  for (const pod of summary.pods) table.push([pod.name, pod.node, pod.ip, String(pod.requests), `${(pod.share * 100).toFixed(1)}%`, String(pod.connections), String(pod.errors), fixed(pod.latencyMs.p99)]);
  lines.push(table.toString());
  const t = summary.totals;
  lines.push(`requests ${t.requests}: attributed ${t.attributed}, unattributed ${t.unattributed}, errors ${t.errors}; dropped (never sent) ${t.dropped}; abandoned at stop ${result.schedule.abandoned}`);
  lines.push(t.serverCounted === null ? 'server counters: not read (pass --server-metrics URL,… to cross-check against the servers\' own counts)' : `server counters: ${t.serverCounted} over the run`);
  if (summary.crossCheck) {
    lines.push(summary.crossCheck.agree ? 'cross-check: clients and servers agree exactly' : `cross-check: DIFFERENCES\n${summary.crossCheck.differences.map((d) => `  - ${d}`).join('\n')}`);
  }
  const byKind = Object.entries(summary.errors.byKind);
  if (byKind.length > 0) lines.push(`errors by kind: ${byKind.map(([errorKind, n]) => `${errorKind} ${n}`).join(', ')}`);
  const l = summary.latencyMs;
  lines.push(`latency ms (${summary.load.coordinatedOmission ? 'from the actual send: a closed model, stalls are under-reported (coordinated omission)' : 'from the intended send time'}): p50 ${fixed(l.p50)}  p90 ${fixed(l.p90)}  p99 ${fixed(l.p99)}  max ${fixed(l.max)}`);
  const m = summary.metrics;
  const ratio = m.starvedPods.length > 0 ? `starved: ${m.starvedPods.join(', ')}` : fixed(m.maxMinRatio);
  lines.push(`fairness: Jain ${fixed(m.jainIndex)}, max/min ${ratio}, χ² p ${m.chiSquareP === null ? '—' : m.chiSquareP.toPrecision(3)} over ${m.chiSquare.unit}${m.chiSquare.valid ? (tooEven({ valid: true, lowerPValue: m.chiSquareLowerP }) ? ` — ${tooEvenText}` : '') : ` (${m.chiSquare.note})`}`);
  if (m.sourceIpPreservedRatio !== null) lines.push(`source IP preserved: ${(m.sourceIpPreservedRatio * 100).toFixed(1)}%`);
  return `${lines.join('\n')}\n`;
}
