import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../../../harness/report/model.ts';
import type { Trend } from '../../../harness/report/trend.ts';
import { writeReport } from '../../../harness/report/write.ts';
import { fixtureReport } from '../../unit/report/fixture.ts';
import { checkXml } from '../../unit/report/xml.ts';

/** Runs the real CLI; resolves with its exit code and output whatever the code. */
function kth(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['harness/bin/kth.mjs', ...args], (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

describe('kth report trend', () => {
  let dir: string;
  const runDirs: string[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kth-report-trend-'));
    // Three nights as kth run writes them; the iptables errors check breaks on the third.
    for (const n of [1, 2, 3]) {
      const report: Report = fixtureReport();
      report.startedAt = `2026-02-0${n}T03:00:00.000Z`;
      report.runId = `proxy-mode-matrix-2026-02-0${n}T03-00-00-000Z`;
      if (n === 3) {
        report.runs[0]!.status = 'failed';
        report.runs[0]!.checks[1] = { ...report.runs[0]!.checks[1]!, pass: false, value: 12 };
      }
      runDirs.push((await writeReport(join(dir, 'reports', report.runId), report)).reportJson.replace(/\/report\.json$/, ''));
    }
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('GIVEN run directories in any order and --out THEN exit 0, trend.md and trend.html written, their paths printed', async () => {
    const out = join(dir, 'trend');
    const result = await kth('report', 'trend', runDirs[2]!, runDirs[0]!, runDirs[1]!, '--out', out);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${join(out, 'trend.md')}\n${join(out, 'trend.html')}\n`);
    const markdown = await readFile(join(out, 'trend.md'), 'utf8');
    expect(markdown).toContain('- `errors` (`errors.total <= 10`): started failing in #3 (2026-02-03 03:00Z); still failing (1 report)');
    expect(checkXml(await readFile(join(out, 'trend.html'), 'utf8')).problems).toEqual([]);
  }, 30_000);

  it('GIVEN no --out THEN the Markdown goes to stdout; --json prints the model', async () => {
    const result = await kth('report', 'trend', ...runDirs);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^# kth report trend: proxy-mode-matrix\n/);
    const json = await kth('report', 'trend', ...runDirs, '--json');
    expect(json.code).toBe(0);
    const trend = JSON.parse(json.stdout) as Trend;
    expect(trend.series.map((s) => s.checks.find((c) => c.name === 'errors')!.broke)).toEqual([[2], []]);
  }, 30_000);

  it('GIVEN the parent of the run directories THEN exit 2, stderr names the path and which directories to pass', async () => {
    const parent = join(dir, 'reports');
    const result = await kth('report', 'trend', parent);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`error: ${parent} has no report.json`);
    expect(result.stderr).toContain(`fix:   ${parent} holds 3 run directories`);
    expect(result.stderr).toContain(`kth report trend ${parent}/*/`);
    // No directory at all is a usage mistake: bad input too.
    expect((await kth('report', 'trend')).code).toBe(2);
  }, 30_000);

  it('GIVEN reports of two scenarios THEN exit 2 naming both', async () => {
    const other = fixtureReport();
    other.scenario.name = 'pod-kill';
    other.runId = 'pod-kill-2026-02-04T03-00-00-000Z';
    const otherDir = join(dir, 'other', other.runId);
    await writeReport(otherDir, other);
    const result = await kth('report', 'trend', runDirs[0]!, otherDir);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/error: the reports are of 2 different scenarios: proxy-mode-matrix \(.*\); pod-kill \(.*\)/);
  }, 30_000);
});
