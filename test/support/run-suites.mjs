#!/usr/bin/env node
// Runs every test in three phases and fails if any phase failed (each phase runs even when an
// earlier one failed, so one red file does not hide the rest):
//   1. unit and integration, one file at a time (integration measures timings on loopback);
//   2. the end-to-end files in two lanes at once, each lane one file at a time. Most e2e time is
//      waiting (load durations, settle windows, sync periods), so two labs at once take about half
//      the wall time. But a few files keep a core busy on their own — a guest kernel under qemu's
//      emulation, kind's Docker containers, a hundred pods — and two of those together saturate
//      both cores, so they share one lane ("cpu-bound") and the rest the other;
//   3. the end-to-end file that checks the whole host (its netfilter ruleset and BPF links before and
//      after), alone, since another file's lab or kind cluster would show up in what it compares.
// Extra arguments go to every jest run (e.g. -t 'pattern').
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const cpuBoundFiles = [
  'test/e2e/kind/kind-provider.test.ts',
  'test/e2e/lab/ipvs-guest.test.ts',
  'test/e2e/engine/proxy-mode-matrix.test.ts',
  'test/e2e/workloads/go-scale.test.ts',
];
const wholeHostFiles = ['test/e2e/lab/lifecycle.test.ts'];
const asPattern = (files) => files.map((file) => file.replaceAll('.', '\\.')).join('|');

/** A phase is one or more jest runs at once; a run's lines carry its lane's name when it has company. */
const phases = [
  { name: 'unit and integration', runs: [{ lane: '', args: ['--selectProjects', 'unit', 'integration', '--runInBand'] }] },
  {
    name: 'e2e in two lanes',
    runs: [
      { lane: 'cpu-bound', args: ['--selectProjects', 'e2e', '--runInBand', '--testPathPatterns', asPattern(cpuBoundFiles)] },
      { lane: 'waiting', args: ['--selectProjects', 'e2e', '--runInBand', '--testPathIgnorePatterns', asPattern([...cpuBoundFiles, ...wholeHostFiles])] },
    ],
  },
  { name: 'e2e that checks the whole host, alone', runs: [{ lane: '', args: ['--selectProjects', 'e2e', '--runInBand', '--testPathPatterns', asPattern(wholeHostFiles)] }] },
];

const totalsDir = mkdtempSync(join(tmpdir(), 'kth-jest-totals-'));
const extra = process.argv.slice(2);
const results = [];
let interrupted = false;
// Ctrl-C reaches the jest runs too (one process group): let them clean up, then stop.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => { interrupted = true; });

/** One jest run; resolves to its exit code and the totals its closing reporter wrote. */
function jest(run, totalsFile) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--experimental-vm-modules', 'node_modules/jest/bin/jest.js', ...run.args, ...extra], {
      stdio: run.lane ? ['ignore', 'pipe', 'pipe'] : 'inherit',
      env: { ...process.env, KTH_JEST_TOTALS: totalsFile },
    });
    if (run.lane) {
      for (const [stream, out] of [[child.stdout, process.stdout], [child.stderr, process.stderr]]) {
        createInterface({ input: stream }).on('line', (line) => out.write(`[${run.lane}] ${line}\n`));
      }
    }
    child.on('close', (exitCode, signal) => {
      let totals = { passed: 0, failed: 0, skipped: 0 };
      try {
        totals = JSON.parse(readFileSync(totalsFile, 'utf8'));
      } catch {
        // No totals: jest stopped before its reporter ran; the exit code says it failed.
      }
      resolve({ code: exitCode ?? (signal ? 1 : 0), ...totals });
    });
  });
}

for (const [index, phase] of phases.entries()) {
  if (interrupted) break;
  const started = Date.now();
  process.stdout.write(`\n=== phase ${index + 1}/${phases.length}: ${phase.name}\n`);
  const runs = await Promise.all(phase.runs.map((run, i) => jest(run, join(totalsDir, `${index}-${i}.json`))));
  results.push({
    name: phase.name,
    minutes: (Date.now() - started) / 60_000,
    code: Math.max(...runs.map((r) => r.code)),
    passed: runs.reduce((n, r) => n + r.passed, 0),
    failed: runs.reduce((n, r) => n + r.failed, 0),
    skipped: runs.reduce((n, r) => n + r.skipped, 0),
  });
}
rmSync(totalsDir, { recursive: true, force: true });

process.stdout.write('\n');
for (const r of results) process.stdout.write(`phase "${r.name}": ${r.minutes.toFixed(1)} min, ${r.passed} passed, ${r.failed} failed${r.code ? ` (exit ${r.code})` : ''}\n`);
const sum = (key) => results.reduce((total, r) => total + r[key], 0);
process.stdout.write(`jest, all phases: ${sum('passed')} passed, ${sum('failed')} failed, ${sum('skipped')} skipped in ${sum('minutes').toFixed(1)} min\n`);
process.exit(interrupted || results.length < phases.length || results.some((r) => r.code !== 0) ? 1 : 0);
