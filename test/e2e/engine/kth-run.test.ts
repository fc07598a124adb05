import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../../../harness/report/model.ts';
import { listLabs } from '../../../harness/lab/lab.ts';

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `kth run …` as users run it; `interruptAfter` sends Ctrl-C (SIGINT) once that text shows on stderr. */
function kthRun(args: string[], interruptAfter?: RegExp): Promise<Finished> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['harness/bin/kth.mjs', 'run', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (interruptAfter && !sent && interruptAfter.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function onlyReportDir(out: string): Promise<string> {
  const entries = await readdir(out);
  expect(entries).toHaveLength(1);
  return join(out, entries[0]!);
}

describe('kth run on the embedded lab', () => {
  let out: string;
  beforeEach(async () => {
    out = await mkdtemp(join(tmpdir(), 'kth-e2e-run-'));
  });
  afterEach(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('GIVEN a scenario with a passing and an impossible variant WHEN it runs THEN exit 1, every file of the report is written, the passing run agrees with the servers, and the lab is gone', async () => {
    const labsBefore = (await listLabs()).map((lab) => lab.name);
    const result = await kthRun(['test/e2e/engine/fixtures/pass-and-fail.ts', '--time-scale', '0.25', '--out', out]);
    expect(result.stderr).toMatch(/checks failed: iptables\/impossible more than perfectly fair/);
    expect(result.code).toBe(1);

    const dir = await onlyReportDir(out);
    expect((await readdir(dir)).sort()).toEqual(['events.ndjson', 'index.html', 'junit.xml', 'report.json', 'summary.md']);
    const report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as Report;
    expect(report.scenario).toMatchObject({ name: 'e2e-pass-and-fail', file: 'test/e2e/engine/fixtures/pass-and-fail.ts' });
    expect(report.scenario.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(report.runs.map((run) => [run.proxyMode, run.variant, run.status])).toEqual([['iptables', 'holds', 'passed'], ['iptables', 'impossible', 'failed']]);
    for (const run of report.runs) {
      // 20 s × 0.25 at 100/s: 500 requests, each attributed and counted by the servers themselves.
      expect(run.totals).toMatchObject({ requests: 500, attributed: 500, unattributed: 0, serverCounted: 500 });
      expect(run.crossCheck?.agree).toBe(true);
      expect(run.pods).toHaveLength(3);
      expect(run.series.reduce((sum, point) => sum + point.requests, 0)).toBe(500);
      expect(run.timeline.map((entry) => entry.kind)).toEqual(['load-start', 'load-end']);
    }
    const impossible = report.runs[1]!.checks.find((check) => check.name === 'more than perfectly fair');
    expect(impossible).toMatchObject({ pass: false, threshold: 1 });
    expect(impossible?.value).toBeLessThanOrEqual(1);

    const junit = await readFile(join(dir, 'junit.xml'), 'utf8');
    expect(junit.match(/<failure/g)).toHaveLength(1);
    const html = await readFile(join(dir, 'index.html'), 'utf8');
    expect(html.match(/<svg/g)?.length).toBeGreaterThanOrEqual(4);
    const events = (await readFile(join(dir, 'events.ndjson'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { kind: string; requests?: number });
    expect(events.filter((event) => event.kind === 'marker')).toHaveLength(2);
    expect(events.filter((event) => event.kind === 'request-sample').reduce((sum, event) => sum + (event.requests ?? 0), 0)).toBe(1000);

    expect((await listLabs()).map((lab) => lab.name)).toEqual(labsBefore);
  }, 300_000);

  it('GIVEN a run WHEN Ctrl-C arrives during the load THEN exit 130, the partial report is written and the lab is removed', async () => {
    const labsBefore = (await listLabs()).map((lab) => lab.name);
    const result = await kthRun(['test/e2e/engine/fixtures/pass-and-fail.ts', '--time-scale', '0.5', '--out', out], /\[iptables\/holds\] running/);
    expect(result.code).toBe(130);
    const dir = await onlyReportDir(out);
    const report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as Report;
    expect(report.runs[0]).toMatchObject({ variant: 'holds', status: 'error' });
    expect(report.runs[0]?.reason).toMatch(/interrupted/);
    expect((await listLabs()).map((lab) => lab.name)).toEqual(labsBefore);
  }, 300_000);

  it('GIVEN the built-in driver and k6 on the same Service at once THEN each load has its own summary, and together they equal what the servers counted', async () => {
    const result = await kthRun(['test/e2e/engine/fixtures/two-drivers.ts', '--time-scale', '0.25', '--out', out]);
    expect(result.code).toBe(0);
    const dir = await onlyReportDir(out);
    const report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as Report;
    const [run] = report.runs;
    expect(run!.status).toBe('passed');
    const builtin = run!.loads!.builtin!;
    const k6 = run!.loads!.k6!;
    expect(k6.load.source).toBe('k6');
    // 5 s at 60/s each (k6 also sends at the very end of its duration: one more at most).
    expect(builtin.totals.attributed).toBe(300);
    expect(k6.totals.attributed).toBeGreaterThanOrEqual(300);
    expect(k6.totals.attributed).toBeLessThanOrEqual(301);
    expect(run!.totals!.attributed).toBe(builtin.totals.attributed + k6.totals.attributed);
    expect(run!.crossCheck?.agree).toBe(true);
    expect(run!.totals!.serverCounted).toBe(run!.totals!.attributed);
    expect(new Set(run!.series.map((point) => point.load))).toEqual(new Set(['builtin', 'k6']));
  }, 300_000);
});
