import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { hostname, release } from 'node:os';
import { join, resolve } from 'node:path';
import { formatError } from '../core/errors.ts';
import { onInterrupt } from '../core/interrupts.ts';
import { harnessVersion } from '../core/version.ts';
import { KUBERNETES_VERSION } from '../setup/versions.ts';
import { reportSchemaVersion, reportStatus, type Report, type RunReport } from '../report/model.ts';
import { writeReport, type WrittenReport } from '../report/write.ts';
import { executeRun, type ResolvedRun } from './execute.ts';
import { planScenario, specsOf, type RunPlan } from './plan.ts';
import { existingProvider } from './providers/existing.ts';
import { keptCluster } from './providers/kept-cluster.ts';
import { kindProvider } from './providers/kind.ts';
import { readUserKindConfig } from '../kind/config.ts';
import { openExistingSession } from '../existing/session.ts';
import { labProvider } from './providers/lab.ts';
import type { ClusterProvider, OpenCluster } from './providers/provider.ts';
import { loadScenario } from './scenario.ts';
import { recommend } from './recommend.ts';
import type { RunProgress } from './progress.ts';
import type { ProxyMode } from './types.ts';
import type { KernelChoice } from '../lab/spec.ts';
import { requireGoServer, serverImplementation, type ServerRuntime } from '../workloads/runtime.ts';

/** How long Ctrl-C waits for the run in progress to save its partial result before removing the cluster. */
const INTERRUPT_SAVE_WAIT_MS = 30_000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export interface RunScenarioOptions {
  file: string;
  /** @default 'lab' */
  provider?: 'lab' | 'kind' | 'existing';
  proxyModes?: ProxyMode[];
  /** Every workload's server runtime (--runtime), instead of the scenario's. */
  runtime?: ServerRuntime;
  /** `--provider existing`: which cluster, and how to use it (checked before anything is created: existing/session.ts). */
  existing?: { kubeconfig?: string; context?: string; imagePrefix?: string; allowClusterChaos: boolean; detectProxyMode: boolean };
  /** `--provider kind`: a kind config merged over the generated one (--kind-config), a node image instead of the harness's own (--node-image). */
  kind?: { config?: string; nodeImage?: string };
  /** `--cluster`: a lab or kind cluster that is already up (kth lab up, kth kind up) instead of one made per proxy mode; it stays up. */
  cluster?: string;
  /** The nodes' kernel for every lab (default auto: a guest where the host kernel cannot run a mode). */
  kernel?: KernelChoice;
  outDir: string;
  timeScale: number;
  /** Keep the clusters for a look afterwards (they are listed). */
  retain: boolean;
  log: (line: string) => void;
  /** Structured progress while a run's loads are running (the CLI draws it on a terminal). */
  progress?: (event: RunProgress) => void;
}

export interface RunScenarioResult {
  report: Report;
  dir: string;
  files: WrittenReport;
}

/**
 * Appends one run's per-load event files to `<dir>/events.ndjson` (the report's one timeline), each
 * after a marker naming its run and load, then removes them.
 */
async function appendEvents(dir: string, run: RunPlan): Promise<void> {
  const prefix = `events-${run.proxyMode}-${run.variant}-`;
  const parts = (await readdir(dir)).filter((name) => name.startsWith(prefix) && name.endsWith('.ndjson')).sort();
  if (parts.length === 0) return;
  const out = createWriteStream(join(dir, 'events.ndjson'), { flags: 'a' });
  for (const part of parts) {
    const load = part.slice(prefix.length, -'.ndjson'.length);
    out.write(`${JSON.stringify({ kind: 'marker', t: Date.now(), name: 'load-events', detail: { proxyMode: run.proxyMode, variant: run.variant, load } })}\n`);
    const input = createReadStream(join(dir, part));
    input.pipe(out, { end: false });
    await finished(input);
    await rm(join(dir, part));
  }
  out.end();
  await finished(out);
}

function resolvedRun(plan: RunPlan, rebalanceFraction: number): ResolvedRun {
  const { workload, loads, chaos, checks } = specsOf(plan);
  return { proxyMode: plan.proxyMode, variant: plan.variant, workload, loads, chaos, checks, rebalanceFraction };
}

/** Which server implementation a run measured (the gRPC library matters for MaxConnectionAge). */
function serverOf(plan: RunPlan): NonNullable<RunReport['server']> {
  return { kind: plan.workload.server, runtime: plan.workload.runtime, implementation: serverImplementation(plan.workload.server, plan.workload.runtime) };
}

function unsupported(plan: RunPlan, reason: string): RunReport {
  return { proxyMode: plan.proxyMode, variant: plan.variant, status: 'unsupported', reason, durationMs: 0, timeline: [], series: [], checks: [] };
}

function errored(plan: RunPlan, error: unknown, durationMs: number): RunReport {
  return { proxyMode: plan.proxyMode, variant: plan.variant, status: 'error', reason: formatError(error), durationMs, timeline: [], series: [], checks: [] };
}

/** Opens the existing cluster for a scenario's plan: its needs (drains, PDBs) decide the permissions checked. */
async function openExisting(options: RunScenarioOptions, plan: ReturnType<typeof planScenario>) {
  const request = options.existing ?? { allowClusterChaos: false, detectProxyMode: false };
  const specs = plan.runs.map(specsOf);
  const session = await openExistingSession({
    ...(request.kubeconfig ? { kubeconfig: request.kubeconfig } : {}),
    ...(request.context ? { context: request.context } : {}),
    ...(request.imagePrefix ? { imagePrefix: request.imagePrefix } : {}),
    proxyModes: request.detectProxyMode ? 'detected' : options.proxyModes,
    scenarioModes: plan.proxyModes,
    needs: { drain: specs.some((s) => s.chaos.some((c) => c.spec.action === 'node-drain')), pdb: specs.some((s) => s.workload.pdb !== undefined) },
    log: options.log,
  });
  return { ...request, session };
}

/**
 * `kth run`: the pipeline of one scenario. Plan (all input validated before any cluster exists) →
 * per proxy mode: a cluster → per variant: deploy, settle, load and chaos, collect, checks → the
 * report, rewritten after every run so an interrupted or crashed run still leaves what it measured.
 * Every cluster it made is removed (unless --retain), on success, failure and Ctrl-C.
 */
export async function runScenario(options: RunScenarioOptions): Promise<RunScenarioResult> {
  const provider = options.provider ?? 'lab';
  const scenario = await loadScenario(options.file);
  const planFor = (proxyModes: ProxyMode[] | undefined) => planScenario(scenario.spec, { timeScale: options.timeScale, ...(proxyModes ? { proxyModes } : {}), ...(options.runtime ? { runtime: options.runtime } : {}) });
  // An existing cluster runs one proxy mode, its own: found (and everything else checked) before the plan is final.
  const existing = provider === 'existing' ? await openExisting(options, planFor(options.proxyModes)) : undefined;
  // A kept cluster runs its own proxy mode too, and must fit the scenario (kept-cluster.ts).
  const asWritten = options.cluster && provider !== 'existing' ? planFor(undefined) : undefined;
  const kept = asWritten && options.cluster
    ? await keptCluster({ name: options.cluster, provider: provider === 'kind' ? 'kind' : 'lab', spec: scenario.spec, ...(options.proxyModes ? { proxyModes: options.proxyModes } : {}), nodes: asWritten.nodes, retain: options.retain, goServers: asWritten.runs.some((run) => run.workload.runtime === 'go') })
    : undefined;
  const plan = planFor(existing ? existing.session.proxyModes : kept ? [kept.proxyMode as ProxyMode] : options.proxyModes);
  // A missing Go server is found before any cluster exists (the lab maps the -go images to it; kind builds them from it).
  if (provider !== 'existing' && plan.runs.some((run) => run.workload.runtime === 'go')) requireGoServer();
  // A user's kind config is read (and refused if it is not one) before any cluster exists.
  const kindUserConfig = provider === 'kind' && options.kind?.config ? readUserKindConfig(options.kind.config) : undefined;
  const clusters: ClusterProvider = kept
    ? kept.provider
    : existing
    ? existingProvider({ target: existing.session.target, facts: existing.session.facts, ...(existing.imagePrefix ? { imagePrefix: existing.imagePrefix } : {}), allowClusterChaos: existing.allowClusterChaos, retain: options.retain })
    : provider === 'kind'
    ? kindProvider({ nodes: plan.nodes, retain: options.retain, goServers: plan.runs.some((run) => run.workload.runtime === 'go'), ...(kindUserConfig ? { userConfig: kindUserConfig } : {}), ...(options.kind?.nodeImage ? { nodeImage: options.kind.nodeImage } : {}) })
    : labProvider({ nodes: plan.nodes, ...(scenario.spec.cilium ? { cilium: scenario.spec.cilium } : {}), ...(scenario.spec.ipvs ? { ipvs: scenario.spec.ipvs } : {}), ...(options.kernel ? { kernel: options.kernel } : {}), retain: options.retain });
  const startedAt = new Date();
  const runId = `${scenario.spec.name}-${startedAt.toISOString().replace(/[:.]/g, '-')}`;
  const dir = resolve(options.outDir, runId);
  await mkdir(dir, { recursive: true });
  const report: Report = {
    schemaVersion: reportSchemaVersion,
    runId,
    scenario: { name: scenario.spec.name, description: scenario.spec.description, file: scenario.file, sha256: scenario.sha256 },
    startedAt: startedAt.toISOString(),
    finishedAt: startedAt.toISOString(),
    timeScale: options.timeScale,
    environment: {
      provider,
      kubernetesVersion: existing?.session.facts.kubernetesVersion ?? KUBERNETES_VERSION,
      kernel: release(),
      harnessVersion: harnessVersion(),
      host: hostname(),
      ...(existing ? { cluster: existing.session.facts } : {}),
    },
    runs: [],
  };
  const save = async () => {
    report.finishedAt = new Date().toISOString();
    // A sweep's recommendation follows whatever has been measured so far.
    const recommendations = recommend(scenario.spec, report.runs, { timeScale: options.timeScale });
    if (recommendations) report.recommendations = recommendations;
    return writeReport(dir, report);
  };
  options.log(`run ${runId}: ${plan.runs.length} run(s) (${plan.proxyModes.join(', ')} × ${plan.variants.join(', ')}), time scale ${options.timeScale}; report in ${dir}`);

  const controller = new AbortController();
  let openLabDown: (() => Promise<void>) | undefined;
  // The run in progress, settled once its partial result is in the report on disk: Ctrl-C waits for
  // that (the loads print what they measured when interrupted, and need the cluster to do so), then
  // removes the cluster. Bounded, so a run that cannot finish never keeps the cleanup waiting.
  let inFlight: Promise<void> = Promise.resolve();
  const unregister = onInterrupt(async () => {
    controller.abort();
    await Promise.race([inFlight, sleep(INTERRUPT_SAVE_WAIT_MS)]);
    await openLabDown?.();
  });
  let files: WrittenReport | undefined;
  try {
    for (const proxyMode of plan.proxyModes) {
      const runs = plan.runs.filter((run) => run.proxyMode === proxyMode);
      const why = await clusters.unsupported(proxyMode);
      if (why) {
        options.log(`[${proxyMode}] unsupported here: ${why}`);
        for (const run of runs) report.runs.push(unsupported(run, why));
        files = await save();
        continue;
      }
      // Runs whose faults this mode cannot take are refused with the reason, before any lab starts.
      const refused = runs.map((run) => [run, clusters.runUnsupported(proxyMode, specsOf(run))] as const).filter(([, reason]) => reason);
      for (const [run, reason] of refused) {
        options.log(`[${run.id}] unsupported here: ${reason}`);
        report.runs.push(unsupported(run, reason!));
      }
      if (refused.length > 0) {
        files = await save();
        runs.splice(0, runs.length, ...runs.filter((run) => !refused.some(([r]) => r === run)));
        if (runs.length === 0) continue;
      }
      const started = performance.now();
      let lab: OpenCluster | undefined;
      try {
        options.log(existing ? `[${proxyMode}] on context ${existing.session.target.context} (${existing.session.target.server})`
          : kept ? `[${proxyMode}] on ${provider === 'kind' ? 'kind cluster' : 'lab'} ${kept.name} (--cluster: it stays up)`
          : `[${proxyMode}] starting a ${plan.nodes}-node ${provider === 'kind' ? 'kind cluster' : 'lab'}`);
        lab = await clusters.open(proxyMode, (line) => options.log(`[${proxyMode}] ${line}`));
        openLabDown = options.retain ? undefined : lab.down;
        if (lab.kind) {
          const { kindVersion, nodeImage, ...cluster } = lab.kind;
          const clusters = [...(report.environment.kind?.clusters ?? []), { proxyMode, ...cluster }];
          report.environment.kind = { kindVersion, nodeImage, clusters };
        }
        const kernel = lab.dataplane.kernel;
        if (kernel?.where === 'guest') {
          report.environment.guestKernels = [...(report.environment.guestKernels ?? []), `${proxyMode}: guest ${kernel.release} (${kernel.package ?? 'Debian'}), ${kernel.accel === 'tcg' ? 'emulated (qemu TCG)' : 'KVM'}`];
        }
      } catch (error) {
        if (controller.signal.aborted) throw error;
        for (const run of runs) report.runs.push(errored(run, error, performance.now() - started));
        files = await save();
        continue;
      }
      try {
        for (const run of runs) {
          if (controller.signal.aborted) break;
          const runStarted = performance.now();
          const open = lab;
          const step = (async () => {
            try {
              report.runs.push({ ...(await executeRun(open.target, resolvedRun(run, scenario.spec.rebalanceFraction ?? 0.8), { dir, runId, log: options.log, signal: controller.signal, ...(options.progress ? { progress: options.progress } : {}) })), dataplane: open.dataplane, server: serverOf(run) });
            } catch (error) {
              options.log(`[${run.id}] error: ${formatError(error)}`);
              report.runs.push(errored(run, error, performance.now() - runStarted));
            }
            await appendEvents(dir, run);
            files = await save();
          })();
          inFlight = step.catch(() => undefined);
          await step;
        }
      } finally {
        if (options.retain) options.log(`[${proxyMode}] ${lab.kept}`);
        else {
          await lab.down();
          openLabDown = undefined;
        }
      }
    }
  } finally {
    unregister();
    // Whatever happened, what was measured is written.
    files = await save();
  }
  options.log(`report: ${reportStatus(report)} — ${files.summaryMd}`);
  return { report, dir, files };
}
