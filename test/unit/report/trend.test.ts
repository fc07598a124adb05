import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HarnessError } from '../../../harness/core/errors.ts';
import type { Report } from '../../../harness/report/model.ts';
import { buildTrend, checkStory, loadTrendReports, renderTrendHtml, renderTrendMarkdown, type Trend } from '../../../harness/report/trend.ts';
import { writeReport } from '../../../harness/report/write.ts';
import { evilPod, fixtureReport } from './fixture.ts';
import { checkXml } from './xml.ts';

/**
 * Nightly reports as the harness writes them (writeReport, from the shared fixture): night n
 * starts on 2026-01-0n; `iptablesErrorsPass[n-1]` decides the iptables run's `errors` check.
 */
function night(n: number, change: (report: Report) => void = () => {}): Report {
  const report = fixtureReport();
  report.startedAt = `2026-01-${String(n).padStart(2, '0')}T03:00:00.000Z`;
  report.runId = `proxy-mode-matrix-2026-01-${String(n).padStart(2, '0')}T03-00-00-000Z`;
  change(report);
  return report;
}

const failErrors = (report: Report, total = 40) => {
  const run = report.runs[0]!;
  run.status = 'failed';
  run.errors = { total, byKind: { reset: total - 10, timeout: 10 } };
  run.checks = run.checks.map((c) => (c.name === 'errors' ? { ...c, pass: false, value: total } : c));
};

describe('kth report trend', () => {
  let dir: string;
  /** Writes each report into its own run directory, like kth run does; returns the directories. */
  const write = async (reports: Report[]) => Promise.all(reports.map(async (report) => (await writeReport(join(dir, report.runId), report)).reportJson.replace(/\/report\.json$/, '')));
  const trendOf = async (reports: Report[]) => buildTrend(await loadTrendReports(await write(reports)));
  const badInputOf = async (paths: string[]) => {
    const error = await loadTrendReports(paths).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HarnessError);
    expect((error as HarnessError).exitCode).toBe(2);
    return error as HarnessError;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kth-trend-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('GIVEN nightly reports given out of order WHEN trended THEN they are ordered by start time and grouped per proxy mode and variant', async () => {
    const trend = await trendOf([night(3), night(1), night(2)]);
    expect(trend.scenario).toBe('proxy-mode-matrix');
    expect(trend.reports.map((r) => r.startedAt.slice(0, 10))).toEqual(['2026-01-01', '2026-01-02', '2026-01-03']);
    expect(trend.series.map((s) => `${s.proxyMode}/${s.variant}`)).toEqual(['iptables/default', 'nftables/default']);
    expect(trend.series[0]!.points.map((p) => p.report)).toEqual([0, 1, 2]);
    const point = trend.series[1]!.points[0]!;
    expect(point).toMatchObject({ status: 'failed', errorsTotal: 3, errorsByKind: { reset: 2, 'http-5xx': 1 }, pods: 3, maxShare: 0.7, minShare: 0.05, jainIndex: 0.5848, chiSquareP: 0.0002, p99Ms: 14.2 });
    expect(point.fairShare).toBeCloseTo(1 / 3);
  });

  it('GIVEN a check that passes for two nights and then fails THEN the trend names the first failing report and that it still fails', async () => {
    const trend = await trendOf([night(1), night(2), night(3, failErrors), night(4, failErrors)]);
    const errors = trend.series[0]!.checks.find((c) => c.name === 'errors')!;
    expect(errors).toMatchObject({ broke: [2], fixed: [], failingSince: 2, neverPassed: false });
    expect(errors.results.map((r) => r?.pass)).toEqual([true, true, false, false]);
    expect(checkStory(trend, errors)).toBe('started failing in #3 (2026-01-03 03:00Z); still failing (2 reports)');
    const spread = trend.series[0]!.checks.find((c) => c.name === 'spread')!;
    expect(checkStory(trend, spread)).toBeNull();
    // nftables' spread check fails in every report: it never started failing here.
    const nftSpread = trend.series[1]!.checks.find((c) => c.name === 'spread')!;
    expect(nftSpread).toMatchObject({ broke: [], neverPassed: true, failingSince: 0 });
    expect(checkStory(trend, nftSpread)).toBe('failed in every report that has it (first #1 (2026-01-01 03:00Z))');
  });

  it('GIVEN a check that breaks, is fixed and breaks again THEN both breaks are listed and the story says since when it fails again', async () => {
    const trend = await trendOf([night(1), night(2, failErrors), night(3), night(4), night(5, failErrors)]);
    const errors = trend.series[0]!.checks.find((c) => c.name === 'errors')!;
    expect(errors).toMatchObject({ broke: [1, 4], fixed: [2], failingSince: 4 });
    expect(checkStory(trend, errors)).toBe('started failing in #2 (2026-01-02 03:00Z); broke 2 times (#2, #5); failing again since #5 (2026-01-05 03:00Z) (1 report)');
    const fixedTrend = await trendOf([night(6), night(7, failErrors), night(8)]);
    expect(checkStory(fixedTrend, fixedTrend.series[0]!.checks.find((c) => c.name === 'errors')!)).toBe('started failing in #2 (2026-01-07 03:00Z); passing again since #3 (2026-01-08 03:00Z)');
  });

  it('GIVEN one report per proxy mode each night, a run that errored before its checks, and a check added later THEN each series uses only the reports that have its run', async () => {
    const only = (mode: string) => (report: Report) => {
      report.runs = report.runs.filter((run) => run.proxyMode === mode);
      report.runId = `${report.runId}-${mode}`;
    };
    const reports = [
      night(1, only('iptables')),
      night(1, only('nftables')),
      night(2, (r) => {
        only('iptables')(r);
        r.runs[0] = { ...r.runs[0]!, status: 'error', reason: 'lab did not start', checks: [] };
      }),
      night(3, (r) => {
        only('iptables')(r);
        failErrors(r);
        r.runs[0]!.checks.push({ name: 'p99', expect: 'latencyMs.p99 <= 50', pass: true, value: 9.8, threshold: 50 });
      }),
    ];
    const trend = await trendOf(reports);
    expect(trend.reports).toHaveLength(4);
    const iptables = trend.series.find((s) => s.proxyMode === 'iptables')!;
    const nftables = trend.series.find((s) => s.proxyMode === 'nftables')!;
    expect(iptables.points.map((p) => [trend.reports[p.report]!.runId.slice(-8), p.status])).toEqual([
      ['iptables', 'passed'],
      ['iptables', 'error'],
      ['iptables', 'failed'],
    ]);
    expect(nftables.points).toHaveLength(1);
    const errors = iptables.checks.find((c) => c.name === 'errors')!;
    // The errored night has no checks: the break is at the next night that has the check.
    expect(errors.results.map((r) => r?.pass ?? null)).toEqual([true, null, false]);
    // Reports 0 and 1 start together (ordered by run id), the errored night is 2: the break is night 3's report.
    expect(errors.broke).toEqual([3]);
    const p99 = iptables.checks.find((c) => c.name === 'p99')!;
    expect(p99).toMatchObject({ broke: [], neverPassed: false, failingSince: null });
    const markdown = renderTrendMarkdown(trend);
    expect(markdown).toContain('> #3: lab did not start');
  });

  it('GIVEN the trend THEN Markdown and HTML show the failing check, errors by kind and escape data strings', async () => {
    const trend: Trend = await trendOf([
      night(1),
      night(2, (r) => {
        failErrors(r);
        r.runs[0]!.checks[0]!.name = 'spread | <b>';
      }),
    ]);
    const markdown = renderTrendMarkdown(trend);
    expect(markdown).toMatch(/^# kth report trend: proxy-mode-matrix$/m);
    expect(markdown).toContain('- `errors` (`errors.total <= 10`): started failing in #2 (2026-01-02 03:00Z); still failing (1 report)');
    expect(markdown).toContain('| 2 | 2026-01-02 03:00Z | ❌ failed |');
    expect(markdown).toContain('reset 30, timeout 10');
    expect(markdown).toContain('`spread \\| <b>`');
    const html = renderTrendHtml(trend);
    const xml = checkXml(html);
    expect(xml.problems).toEqual([]);
    expect(html).not.toMatch(/<script|<link|<img|\bsrc=|\bhref=/i);
    expect(html).toContain('spread | &lt;b&gt;');
    expect(html).not.toContain(evilPod);
    const svgs = xml.elements.filter((e) => e.name === 'svg' && e.attributes.class === 'chart');
    // Three charts per series: errors, shares, latency.
    expect(svgs).toHaveLength(6);
    const titles = xml.elements.filter((e) => e.name === 'title').map((e) => e.text);
    expect(titles).toContain('#2 01-02 · reset: 30');
    expect(xml.elements.filter((e) => e.name === 'rect' && e.attributes.class === 'failed-report').length).toBeGreaterThan(0);
  });

  it('GIVEN a directory without report.json THEN bad input naming the path, and the run directories inside it when there are some', async () => {
    const [runDir] = await write([night(1)]);
    const empty = join(dir, 'empty');
    await mkdir(empty);
    const error = await badInputOf([runDir!, empty]);
    expect(error.message).toBe(`${empty} has no report.json`);
    expect(error.where).toBe(empty);
    expect(error.hint).toContain('<out>/<run-id>/');
    const parent = await badInputOf([dir]);
    expect(parent.message).toBe(`${dir} has no report.json`);
    expect(parent.hint).toContain(`holds 1 run directory (proxy-mode-matrix-2026-01-01T03-00-00-000Z): pass those, e.g. kth report trend ${dir}/*/`);
    expect((await badInputOf([join(dir, 'missing')])).message).toMatch(/cannot read .*missing: ENOENT/);
    expect((await badInputOf([])).message).toBe('no report directories given');
  });

  it('GIVEN reports of different scenarios, the same run twice, or an invalid report THEN bad input that says which and what to do', async () => {
    const other = night(2, (r) => {
      r.scenario.name = 'pod-kill';
      r.runId = 'pod-kill-2026-01-02';
    });
    const [a, b] = await write([night(1), other]);
    const mixed = await badInputOf([a!, b!]);
    expect(mixed.message).toBe(`the reports are of 2 different scenarios: proxy-mode-matrix (${a}); pod-kill (${b})`);
    expect(mixed.hint).toContain('run kth report trend once per scenario');

    const twice = await badInputOf([a!, join(a!, 'report.json')]);
    expect(twice.message).toBe(`run proxy-mode-matrix-2026-01-01T03-00-00-000Z is given twice: ${a} and ${join(a!, 'report.json')}`);

    const broken = join(dir, 'broken');
    await mkdir(broken);
    const json = JSON.parse(JSON.stringify(night(3))) as Record<string, unknown>;
    json.startedAt = 'yesterday';
    await writeFile(join(broken, 'report.json'), JSON.stringify(json));
    const invalid = await badInputOf([broken]);
    expect(invalid.message).toContain(`${join(broken, 'report.json')} is not a valid report (1 problem)`);
    expect(invalid.message).toContain('startedAt: not a date');
  });
});
