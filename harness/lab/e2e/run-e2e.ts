import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { formatMs } from '../../core/duration.ts';
import { badInput, environmentError } from '../../core/errors.ts';
import { run } from '../../core/exec.ts';
import { onInterrupt, wasInterrupted } from '../../core/interrupts.ts';
import { requireBinary } from '../../setup/binaries.ts';
import { AGNHOST_VERSION, KUBERNETES_VERSION } from '../../setup/versions.ts';
import { startLab } from '../lab.ts';
import { type LabProxyMode, proxyModes } from '../spec.ts';
import { failed, readGinkgoReport, type SpecOutcome } from './ginkgo-report.ts';
import { DEFAULT_FOCUS } from './scope.ts';
import { skipOf, skipsFor } from './skip-list.ts';

/**
 * `kth lab e2e`: Kubernetes' own e2e suite (the e2e.test of the pinned release, built by setup)
 * against a fresh lab with cluster DNS. The harness picks the tests itself — every test of
 * `e2e.test --list-tests` that matches the focus, less the skip list (each with its reason) and
 * `--skip` — and hands Ginkgo exactly those names, so what it reports as run is what was chosen.
 * The JUnit report (junit_01.xml), Ginkgo's JSON report, the suite's log and a summary
 * (e2e-summary.json) stay in the output directory.
 */
export interface LabE2eOptions {
  proxyMode?: string;
  nodes?: number;
  /** Which tests (a JavaScript regular expression over full test names); default: DEFAULT_FOCUS. */
  focus?: string;
  /** Tests to leave out besides the skip list. */
  skip?: string;
  outDir: string;
  retain?: boolean;
  /** Bound on the suite's run (Ginkgo's --timeout); the process is ended a minute after it. */
  timeoutMinutes?: number;
  log?: (line: string) => void;
}

export interface LabE2eSummary {
  proxyMode: LabProxyMode;
  kubernetesVersion: string;
  agnhostVersion: string;
  nodes: number;
  focus: string;
  skip?: string;
  /** Tests the focus selected (before the skip list). */
  selected: number;
  passed: string[];
  failed: { name: string; state: string; failure?: string }[];
  /** On the skip list, with its reason. */
  skipped: { name: string; reason: string }[];
  /** Chosen to run, and skipped by the test itself on this cluster (its reason: "Need at least 3 schedulable nodes"). */
  skippedByTest: { name: string; reason: string }[];
  /** Chosen to run but absent from the report (the suite was interrupted, timed out or crashed). */
  notRun: string[];
  durationSeconds: number;
  suiteExitCode: number | null;
  files: { junit: string; ginkgoJson: string; log: string; summary: string };
  /** The suite's command line, to rerun it against a lab by hand. */
  command: string[];
}

export async function runLabE2e(options: LabE2eOptions): Promise<LabE2eSummary> {
  const log = options.log ?? (() => {});
  const proxyMode = (options.proxyMode ?? 'iptables') as LabProxyMode;
  if (!proxyModes.includes(proxyMode)) throw badInput(`proxy mode '${options.proxyMode}' is not one the lab runs`, { where: '--proxy-mode', hint: `use one of ${proxyModes.join(', ')}` });
  // Three: the fewest every test in scope runs on (the HealthCheckNodePort one skips itself below three).
  const nodes = options.nodes ?? 3;
  const focus = compile(options.focus ?? DEFAULT_FOCUS, '--focus');
  const userSkip = options.skip ? compile(options.skip, '--skip') : undefined;
  const e2eTest = requireBinary('e2e.test');
  const kubectl = requireBinary('kubectl');
  requireBinary('agnhost');
  requireBinary('coredns');
  const outDir = resolve(options.outDir);
  await mkdir(outDir, { recursive: true });

  const all = await listTests(e2eTest);
  const chosen = all.filter((name) => focus.test(name) && !userSkip?.test(name));
  if (chosen.length === 0) {
    throw badInput(`no upstream e2e test matches --focus ${focus.source}${userSkip ? ` (less --skip ${userSkip.source})` : ''}`, {
      where: '--focus',
      hint: `list the suite's tests with: ${e2eTest} --list-tests`,
    });
  }
  const skips = skipsFor(proxyMode);
  const skipped = chosen.flatMap((name) => {
    const entry = skipOf(name, skips);
    return entry ? [{ name, reason: entry.reason }] : [];
  });
  const toRun = chosen.filter((name) => !skipOf(name, skips));
  log(`e2e: ${chosen.length} tests match the focus; ${skipped.length} on the skip list; running ${toRun.length} on a ${nodes}-node ${proxyMode} lab`);

  const started = performance.now();
  const lab = await startLab({ name: `e2e-${proxyMode}`, nodes, proxyMode, dns: true, log });
  const files = { junit: join(outDir, 'junit_01.xml'), ginkgoJson: join(outDir, 'ginkgo-report.json'), log: join(outDir, 'e2e.log'), summary: join(outDir, 'e2e-summary.json') };
  const timeoutMinutes = options.timeoutMinutes ?? 60;
  const command = [
    e2eTest,
    `--kubeconfig=${lab.kubeconfig}`,
    `--kubectl-path=${kubectl}`,
    '--provider=local',
    `--num-nodes=${nodes}`,
    `--report-dir=${outDir}`,
    `--ginkgo.json-report=${files.ginkgoJson}`,
    '--ginkgo.no-color',
    '--ginkgo.v',
    `--ginkgo.timeout=${timeoutMinutes}m`,
    `--ginkgo.focus=${toRun.map(escapeRegExp).join('|')}`,
  ];
  const suite = toRun.length > 0 ? startSuite(command, outDir, files.log, toRun, timeoutMinutes, log) : undefined;
  const finish = async (exitCode: number | null): Promise<LabE2eSummary> => {
    if (options.retain) log(`e2e: lab e2e-${proxyMode} kept (kubeconfig ${lab.kubeconfig}); remove it with: kth lab down --name e2e-${proxyMode}`);
    else await lab.down();
    const summary = summarize(await readOutcomes(files.ginkgoJson), exitCode);
    await writeFile(files.summary, `${JSON.stringify(summary, null, 2)}\n`);
    return summary;
  };
  // Ctrl-C: Ginkgo is stopped the way it expects (it then reports what ran), the lab is removed,
  // and the summary of what ran is written before the CLI exits 130.
  const unregister = onInterrupt(async () => {
    await suite?.stop();
    const summary = await finish(null);
    log(`e2e: interrupted; ${summary.passed.length} passed, ${summary.failed.length} failed so far (${files.summary})`);
  });
  let exitCode: number | null;
  try {
    exitCode = suite ? await suite.exited : null;
  } catch (error) {
    unregister();
    if (!options.retain) await lab.down();
    throw error;
  }
  if (wasInterrupted()) return new Promise<never>(() => {}); // the interrupt's cleanup finishes the run
  unregister();
  return finish(exitCode);

  function summarize(outcomes: readonly SpecOutcome[], suiteExitCode: number | null): LabE2eSummary {
    const byName = new Map(outcomes.map((outcome) => [outcome.name, outcome]));
    const outcomeOf = (name: string) => byName.get(name) ?? outcomes.find((o) => name.startsWith(`${o.name} `) || o.name.startsWith(`${name} `));
    return {
      proxyMode,
      kubernetesVersion: KUBERNETES_VERSION,
      agnhostVersion: AGNHOST_VERSION,
      nodes,
      focus: focus.source,
      ...(userSkip ? { skip: userSkip.source } : {}),
      selected: chosen.length,
      passed: toRun.filter((name) => outcomeOf(name)?.state === 'passed'),
      failed: toRun.flatMap((name) => {
        const outcome = outcomeOf(name);
        return outcome && failed(outcome.state) ? [{ name, state: outcome.state, ...(outcome.message ? { failure: outcome.message } : {}) }] : [];
      }),
      skipped,
      // A test skips itself only after it started: Ginkgo then records the reason it gave.
      skippedByTest: toRun.flatMap((name) => {
        const outcome = outcomeOf(name);
        return outcome?.state === 'skipped' && outcome.message ? [{ name, reason: outcome.message }] : [];
      }),
      notRun: toRun.filter((name) => {
        const outcome = outcomeOf(name);
        return !outcome || outcome.state === 'pending' || (outcome.state === 'skipped' && !outcome.message);
      }),
      durationSeconds: Math.round((performance.now() - started) / 1000),
      suiteExitCode,
      files,
      command,
    };
  }
}

function compile(source: string, flag: string): RegExp {
  try {
    return new RegExp(source);
  } catch (error) {
    throw badInput(`${flag} '${source}' is not a regular expression: ${(error as Error).message}`, { where: flag });
  }
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Every test name of the suite binary, without the `file:line: ` each line starts with. */
async function listTests(e2eTest: string): Promise<string[]> {
  const result = await run([e2eTest, '--list-tests'], { timeoutMs: 120_000, purpose: 'list the e2e tests' });
  return result.stdout
    .split('\n')
    .map((line) => line.trim().replace(/^\S+:\d+: /, ''))
    .filter((line) => line.startsWith('['));
}

interface RunningSuite {
  /** The suite's exit code once it has ended. */
  exited: Promise<number | null>;
  /** SIGINT (Ginkgo then reports what ran and deletes its namespaces), SIGKILL 30 s later. */
  stop(): Promise<void>;
}

/** Starts the suite with its output in `logPath`, printing each test as it starts and a heartbeat each minute. */
function startSuite(command: string[], cwd: string, logPath: string, toRun: readonly string[], timeoutMinutes: number, log: (line: string) => void): RunningSuite {
  const out = createWriteStream(logPath);
  const child = spawn(command[0] as string, command.slice(1), { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const started = performance.now();
  const names = new Set(toRun);
  let begun = 0;
  let current = '';
  let pending = '';
  const onOutput = (chunk: Buffer) => {
    out.write(chunk);
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      // Ginkgo -v prints each test's full name on a line of its own as it starts, followed by its labels ("[sig-network, Slow]").
      const name = startedTest(line.trim(), names);
      if (name && name !== current) {
        current = name;
        begun += 1;
        log(`e2e [${begun}/${toRun.length}] ${name}`);
      }
    }
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  const closed = new Promise<number | null>((resolveClose, reject) => {
    child.on('error', (error) => reject(environmentError(`cannot run ${command[0]}: ${error.message}`, { hint: 'run: node harness/bin/kth.mjs setup-binaries --only e2e' })));
    child.on('close', (code) => out.end(() => resolveClose(code)));
  });
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  const stop = async () => {
    signalGroup('SIGINT');
    const killer = setTimeout(() => signalGroup('SIGKILL'), 30_000);
    await closed.catch(() => null);
    clearTimeout(killer);
  };
  const heartbeat = setInterval(() => log(`e2e: ${formatMs(performance.now() - started)} in, ${begun}/${toRun.length} started${current ? `; now: ${current}` : ''}`), 60_000);
  const bound = setTimeout(() => {
    log(`e2e: the suite ran past its ${timeoutMinutes}-minute bound; stopping it`);
    void stop();
  }, (timeoutMinutes + 1) * 60_000);
  const exited = closed.finally(() => {
    clearInterval(heartbeat);
    clearTimeout(bound);
  });
  return { exited, stop };
}

/** The chosen test a line of Ginkgo's verbose output announces, if it announces one. */
export function startedTest(line: string, names: ReadonlySet<string>): string | undefined {
  if (!line.startsWith('[')) return undefined;
  if (names.has(line)) return line;
  const withoutLabels = line.replace(/ \[[^\]]*\]$/, '');
  return names.has(withoutLabels) ? withoutLabels : undefined;
}

async function readOutcomes(path: string): Promise<SpecOutcome[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return []; // the suite ended before writing its report: every chosen test counts as not run
  }
  return readGinkgoReport(text);
}
