import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { badInput, environmentError } from '../core/errors.ts';
import { escapeMarkdown, escapeXml as esc, markdownCode } from './escape.ts';
import { formatMs, formatNumber, formatP, formatShare, runLabel, statusText } from './format.ts';
import { markdownTable } from './markdown-table.ts';
import { type Report, reportStatus, type RunStatus } from './model.ts';
import { diffableReportSchema, formatPath } from './schema.ts';
import { legendSwatch, seriesStyle } from './svg.ts';
import { type TrendLine, trendChartSvg } from './trend-svg.ts';

/**
 * `kth report trend`: one scenario's checks and key metrics over many reports (typically one per
 * night), oldest first, per (proxy mode × variant). Each report contributes to the series of the
 * runs it holds: a nightly matrix job that runs one proxy mode writes a report with one run.
 */

// The diff's schema plus what a trend reads; zod strips everything else, so reports from newer
// harness versions (more fields) still load. safeExtend keeps the duplicate-run refinement.
const nullableNumber = z.number().nullable();
const runSchema = diffableReportSchema.shape.runs.element.safeExtend({
  errors: z.object({ total: z.number(), byKind: z.record(z.string(), z.number()).optional() }).optional(),
  totals: z.object({ requests: z.number() }).optional(),
  pods: z.array(z.object({ name: z.string(), share: z.number() })).optional(),
  metrics: z
    .object({
      jainIndex: nullableNumber.optional(),
      chiSquareP: nullableNumber.optional(),
      maxMinRatio: nullableNumber.optional(),
      starvedPods: z.array(z.string()).optional(),
      rebalanceSeconds: nullableNumber.optional(),
      propagationLagMs: nullableNumber.optional(),
    })
    .optional(),
});

export const trendReportSchema = diffableReportSchema.safeExtend({
  startedAt: z.string().refine((s) => !Number.isNaN(Date.parse(s)), { message: 'not a date (ISO 8601 expected)' }),
  scenario: z.object({ name: z.string(), sha256: z.string().optional() }),
  environment: z.object({ harnessVersion: z.string().optional(), kubernetesVersion: z.string().optional() }).optional(),
  runs: z.array(runSchema),
});

export type TrendInputReport = z.infer<typeof trendReportSchema>;
type InputRun = TrendInputReport['runs'][number];

/** A report as read, with where it came from. */
export interface LoadedReport {
  /** The directory (or file) given on the command line. */
  path: string;
  reportJson: string;
  report: TrendInputReport;
}

export interface TrendReport {
  path: string;
  runId: string;
  startedAt: string;
  status: RunStatus;
  /** First 12 hex digits of the scenario file's sha256: a change means the scenario itself changed. */
  scenarioSha: string | null;
  harnessVersion: string | null;
}

/** One (proxy mode × variant) run in one report. */
export interface TrendPoint {
  /** Index into `Trend.reports`. */
  report: number;
  status: RunStatus;
  reason: string | null;
  requests: number | null;
  errorsTotal: number | null;
  errorsByKind: Record<string, number>;
  pods: number;
  maxShare: number | null;
  minShare: number | null;
  fairShare: number | null;
  jainIndex: number | null;
  chiSquareP: number | null;
  maxMinRatio: number | null;
  starvedPods: number;
  p50Ms: number | null;
  p99Ms: number | null;
  rebalanceSeconds: number | null;
  propagationLagMs: number | null;
}

export interface CheckTrend {
  name: string;
  expect: string | null;
  /** One per point of the series; null where that run has no such check (or errored before checks). */
  results: ({ pass: boolean; value: number | null } | null)[];
  /** Reports (indices into `Trend.reports`) in which the check failed right after passing in the previous report that had it. */
  broke: number[];
  /** Reports in which it passed right after failing. */
  fixed: number[];
  /** When the latest report that has the check fails: the report that began this failing streak. */
  failingSince: number | null;
  /** Failed in every report that has it: it never "started" failing here. */
  neverPassed: boolean;
}

export interface TrendSeries {
  proxyMode: string;
  variant: string;
  points: TrendPoint[];
  checks: CheckTrend[];
}

export interface Trend {
  scenario: string;
  /** Oldest first (by startedAt, then run id). */
  reports: TrendReport[];
  series: TrendSeries[];
}

const reportHint = 'pass the directories kth run wrote (<out>/<run-id>/, each holding report.json), e.g. kth report trend reports/keepalive-imbalance-*/';

/** Reads and validates every report; each problem is a bad-input error naming the path and the fix. */
export async function loadTrendReports(paths: readonly string[]): Promise<LoadedReport[]> {
  if (paths.length === 0) throw badInput('no report directories given', { hint: reportHint });
  const loaded: LoadedReport[] = [];
  for (const path of paths) loaded.push(await loadOne(path));
  const byRunId = new Map<string, string>();
  for (const { path, report } of loaded) {
    const other = byRunId.get(report.runId);
    if (other !== undefined) {
      throw badInput(`run ${report.runId} is given twice: ${other} and ${path}`, { where: path, hint: 'pass each report once (a downloaded artifact may hold a copy of a report you already have)' });
    }
    byRunId.set(report.runId, path);
  }
  const scenarios = new Map<string, string[]>();
  for (const { path, report } of loaded) scenarios.set(report.scenario.name, [...(scenarios.get(report.scenario.name) ?? []), path]);
  if (scenarios.size > 1) {
    const listed = [...scenarios].map(([name, where]) => `${name} (${where.slice(0, 3).join(', ')}${where.length > 3 ? `, +${where.length - 3} more` : ''})`);
    throw badInput(`the reports are of ${scenarios.size} different scenarios: ${listed.join('; ')}`, {
      where: [...scenarios.values()].map((where) => where[0]).join(', '),
      hint: `a trend follows one scenario: run kth report trend once per scenario (run directories are named <scenario>-<time>, e.g. kth report trend reports/${[...scenarios.keys()][0]}-*/)`,
    });
  }
  return loaded;
}

async function loadOne(path: string): Promise<LoadedReport> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw badInput(`cannot read ${path}: ${error.code ?? error.message}`, { where: path, hint: reportHint, cause: error });
  });
  const reportJson = info.isDirectory() ? join(path, 'report.json') : path;
  let text: string;
  try {
    text = await readFile(reportJson, 'utf8');
  } catch (error) {
    if (info.isDirectory() && (error as NodeJS.ErrnoException).code === 'ENOENT') throw badInput(`${path} has no report.json`, { where: path, hint: await missingReportHint(path) });
    throw badInput(`cannot read ${reportJson}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { where: reportJson, hint: reportHint, cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw badInput(`${reportJson} is not JSON: ${(error as Error).message}`, { where: reportJson, hint: reportHint });
  }
  const result = trendReportSchema.safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `  ${formatPath(issue.path)}: ${issue.message}`);
    throw badInput(`${reportJson} is not a valid report (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.join('\n')}`, { where: reportJson, hint: reportHint });
  }
  return { path, reportJson, report: result.data };
}

/** A parent of run directories (an --out dir, a downloaded artifact) is the likely mistake: say which to pass. */
async function missingReportHint(dir: string): Promise<string> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const runs: string[] = [];
  for (const entry of entries) {
    if (entry.isDirectory() && (await stat(join(dir, entry.name, 'report.json')).catch(() => undefined))) runs.push(entry.name);
  }
  if (runs.length === 0) return reportHint;
  return `${dir} holds ${runs.length} run director${runs.length === 1 ? 'y' : 'ies'} (${runs.slice(0, 2).join(', ')}${runs.length > 2 ? ', …' : ''}): pass those, e.g. kth report trend ${join(dir, '*')}/`;
}

/** The trend of already validated reports (any order; they are sorted by start time here). */
export function buildTrend(loaded: readonly LoadedReport[]): Trend {
  const sorted = [...loaded].sort((a, b) => Date.parse(a.report.startedAt) - Date.parse(b.report.startedAt) || a.report.runId.localeCompare(b.report.runId));
  const reports: TrendReport[] = sorted.map(({ path, report }) => ({
    path,
    runId: report.runId,
    startedAt: report.startedAt,
    // reportStatus reads nothing but runs[].status, which the schema checked.
    status: reportStatus(report as unknown as Pick<Report, 'runs'>),
    scenarioSha: report.scenario.sha256 ? report.scenario.sha256.slice(0, 12) : null,
    harnessVersion: report.environment?.harnessVersion ?? null,
  }));
  const series = new Map<string, { proxyMode: string; variant: string; runs: { report: number; run: InputRun }[] }>();
  sorted.forEach(({ report }, index) => {
    for (const run of report.runs) {
      const key = `${run.proxyMode}\u0000${run.variant}`;
      const entry = series.get(key) ?? { proxyMode: run.proxyMode, variant: run.variant, runs: [] };
      entry.runs.push({ report: index, run });
      series.set(key, entry);
    }
  });
  return {
    scenario: sorted[0]?.report.scenario.name ?? '',
    reports,
    series: [...series.values()].map(({ proxyMode, variant, runs }) => ({ proxyMode, variant, points: runs.map(({ report, run }) => point(report, run)), checks: checkTrends(runs) })),
  };
}

function point(report: number, run: InputRun): TrendPoint {
  const shares = (run.pods ?? []).map((pod) => pod.share);
  return {
    report,
    status: run.status,
    reason: run.reason ?? null,
    requests: run.totals?.requests ?? null,
    errorsTotal: run.errors?.total ?? null,
    errorsByKind: run.errors?.byKind ?? {},
    pods: shares.length,
    maxShare: shares.length ? Math.max(...shares) : null,
    minShare: shares.length ? Math.min(...shares) : null,
    fairShare: shares.length ? 1 / shares.length : null,
    jainIndex: run.metrics?.jainIndex ?? null,
    chiSquareP: run.metrics?.chiSquareP ?? null,
    maxMinRatio: run.metrics?.maxMinRatio ?? null,
    starvedPods: run.metrics?.starvedPods?.length ?? 0,
    p50Ms: run.latencyMs?.p50 ?? null,
    p99Ms: run.latencyMs?.p99 ?? null,
    rebalanceSeconds: run.metrics?.rebalanceSeconds ?? null,
    propagationLagMs: run.metrics?.propagationLagMs ?? null,
  };
}

function checkTrends(runs: readonly { report: number; run: InputRun }[]): CheckTrend[] {
  const names: string[] = [];
  for (const { run } of runs) for (const check of run.checks) if (!names.includes(check.name)) names.push(check.name);
  return names.map((name) => {
    const results = runs.map(({ run }) => {
      const check = run.checks.find((c) => c.name === name);
      return check ? { pass: check.pass, value: check.value } : null;
    });
    const expect = runs.map(({ run }) => run.checks.find((c) => c.name === name)?.expect).findLast((e) => e !== undefined) ?? null;
    const broke: number[] = [];
    const fixed: number[] = [];
    let previous: boolean | null = null;
    let streakStart: number | null = null;
    results.forEach((result, i) => {
      if (result === null) return;
      const report = runs[i]!.report;
      if (previous === true && !result.pass) broke.push(report);
      if (previous === false && result.pass) fixed.push(report);
      if (!result.pass && previous !== false) streakStart = report;
      previous = result.pass;
    });
    const present = results.filter((r) => r !== null);
    return { name, expect, results, broke, fixed, failingSince: previous === false ? streakStart : null, neverPassed: present.length > 0 && present.every((r) => !r.pass) };
  });
}

// ---- rendering ----

const dateOf = (iso: string) => iso.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, 'Z');
const shortDate = (iso: string) => iso.slice(5, 10);
const reportRef = (trend: Trend, index: number) => `#${index + 1} (${dateOf(trend.reports[index]!.startedAt)})`;

/** What happened to each check, in words, for both renderers (plain text; callers escape). */
export function checkStory(trend: Trend, check: CheckTrend): string | null {
  if (check.broke.length === 0) {
    if (check.neverPassed) return `failed in every report that has it (first ${reportRef(trend, firstWith(check, trend))})`;
    return null;
  }
  const parts = [`started failing in ${reportRef(trend, check.broke[0]!)}`];
  if (check.broke.length > 1) parts.push(`broke ${check.broke.length} times (${check.broke.map((i) => `#${i + 1}`).join(', ')})`);
  if (check.failingSince !== null) {
    const streak = check.results.filter((r, i) => r !== null && seriesOf(trend, check).points[i]!.report >= check.failingSince!).length;
    const since = check.failingSince === check.broke[0] ? 'still failing' : `failing again since ${reportRef(trend, check.failingSince)}`;
    parts.push(`${since} (${streak} report${streak === 1 ? '' : 's'})`);
  } else if (check.fixed.length > 0) parts.push(`passing again since ${reportRef(trend, check.fixed.at(-1)!)}`);
  return parts.join('; ');
}

const seriesOf = (trend: Trend, check: CheckTrend) => trend.series.find((s) => s.checks.includes(check))!;

function firstWith(check: CheckTrend, trend: Trend): number {
  return seriesOf(trend, check).points[check.results.findIndex((r) => r !== null)]!.report;
}

const errorKinds = (point: TrendPoint) =>
  Object.entries(point.errorsByKind)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([kind, n]) => `${kind} ${n}`)
    .join(', ');

const shareText = (point: TrendPoint) => (point.maxShare === null ? formatShare(null) : `${formatShare(point.maxShare)} / ${formatShare(point.minShare)} (fair ${formatShare(point.fairShare)})`);

const metricHead = ['errors', 'by kind', 'max / min share', 'Jain', 'χ² p', 'p99'];
const metricCells = (point: TrendPoint) => [formatNumber(point.errorsTotal), errorKinds(point), shareText(point), formatNumber(point.jainIndex), formatP(point.chiSquareP), formatMs(point.p99Ms)];

/** trend.md: for a CI step summary or a PR comment. */
export function renderTrendMarkdown(trend: Trend): string {
  const first = trend.reports[0];
  const last = trend.reports.at(-1);
  const lines = [`# kth report trend: ${escapeMarkdown(trend.scenario)}`, ''];
  if (first && last) lines.push(`${trend.reports.length} report${trend.reports.length === 1 ? '' : 's'}, ${escapeMarkdown(dateOf(first.startedAt))} → ${escapeMarkdown(dateOf(last.startedAt))}, oldest first.`, '');
  lines.push(
    markdownTable(
      ['#', 'started', 'run', 'status', 'scenario sha256', 'kth'],
      trend.reports.map((report, i) => {
        const changed = i > 0 && report.scenarioSha !== trend.reports[i - 1]!.scenarioSha;
        return [String(i + 1), escapeMarkdown(dateOf(report.startedAt)), markdownCode(report.runId), statusText(report.status), `${markdownCode(report.scenarioSha ?? '')}${changed ? ' (changed)' : ''}`, escapeMarkdown(report.harnessVersion ?? '')];
      }),
      ['r', 'l', 'l', 'l', 'l', 'l'],
    ),
  );
  for (const series of trend.series) {
    lines.push('', `## ${escapeMarkdown(runLabel(series))}`, '');
    const stories = series.checks.map((check) => [check, checkStory(trend, check)] as const).filter(([, story]) => story !== null);
    if (stories.length === 0) lines.push('No check started failing in these reports.', '');
    else lines.push(...stories.map(([check, story]) => `- ${markdownCode(check.name)}${check.expect ? ` (${markdownCode(check.expect)})` : ''}: ${escapeMarkdown(story)}`), '');
    const rows = series.points.map((point, i) => [
      String(point.report + 1),
      escapeMarkdown(dateOf(trend.reports[point.report]!.startedAt)),
      statusText(point.status),
      ...series.checks.map((check) => {
        const result = check.results[i];
        return result ? `${result.pass ? '✅' : '❌'} ${formatNumber(result.value)}` : '—';
      }),
      ...metricCells(point).map(escapeMarkdown),
    ]);
    lines.push(markdownTable(['#', 'started', 'status', ...series.checks.map((c) => markdownCode(c.name)), ...metricHead], rows, ['r', 'l', 'l', ...series.checks.map(() => 'l' as const), 'r', 'l', 'r', 'r', 'r', 'r']));
    const reasons = series.points.filter((p) => p.reason);
    if (reasons.length > 0) lines.push('', ...reasons.map((p) => `> #${p.report + 1}: ${escapeMarkdown(p.reason)}`));
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

/** trend.html: self-contained (inline CSS and SVG, no script), like index.html. */
export function renderTrendHtml(trend: Trend): string {
  const body = [`<header><h1>${esc(`kth report trend: ${trend.scenario}`)}</h1>`, `<p>${esc(`${trend.reports.length} reports, oldest first.`)}</p></header>`, reportsTable(trend), ...trend.series.map((series, i) => seriesSection(trend, series, `series-${i + 1}`))];
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8"/><meta name="viewport" content="width=device-width, initial-scale=1"/>',
    `<title>${esc(`${trend.scenario} — trend — kth report`)}</title>`,
    `<style>${css}</style></head>`,
    `<body>${body.join('\n')}</body></html>`,
    '',
  ].join('\n');
}

function htmlTable(head: string[], rows: string[][], className = ''): string {
  const cells = (row: string[], tag: string) => row.map((cell) => `<${tag}>${cell}</${tag}>`).join('');
  return `<table${className ? ` class="${className}"` : ''}><thead><tr>${cells(head, 'th')}</tr></thead><tbody>${rows.map((row) => `<tr>${cells(row, 'td')}</tr>`).join('')}</tbody></table>`;
}

const statusHtml = (status: RunStatus) => `<span class="status ${status}">${esc(status)}</span>`;

function reportsTable(trend: Trend): string {
  const rows = trend.reports.map((report, i) => {
    const changed = i > 0 && report.scenarioSha !== trend.reports[i - 1]!.scenarioSha;
    return [String(i + 1), esc(dateOf(report.startedAt)), `<code>${esc(report.runId)}</code>`, statusHtml(report.status), `<code>${esc(report.scenarioSha ?? '')}</code>${changed ? ' <strong>changed</strong>' : ''}`, esc(report.harnessVersion ?? ''), `<code>${esc(report.path)}</code>`];
  });
  return `<section id="reports"><h2>Reports</h2>${htmlTable(['#', 'started', 'run', 'status', 'scenario sha256', 'kth', 'from'], rows)}</section>`;
}

function seriesSection(trend: Trend, series: TrendSeries, id: string): string {
  const out = [`<section class="series" id="${id}"><h2>${esc(runLabel(series))}</h2>`];
  const stories = series.checks.map((check) => [check, checkStory(trend, check)] as const).filter(([, story]) => story !== null);
  out.push(
    stories.length === 0
      ? '<p>No check started failing in these reports.</p>'
      : `<ul class="stories">${stories.map(([check, story]) => `<li><code>${esc(check.name)}</code>${check.expect ? ` (<code>${esc(check.expect)}</code>)` : ''}: ${esc(story)}</li>`).join('')}</ul>`,
  );
  const rows = series.points.map((point, i) => [
    String(point.report + 1),
    esc(dateOf(trend.reports[point.report]!.startedAt)),
    statusHtml(point.status),
    ...series.checks.map((check) => {
      const result = check.results[i];
      return result ? `<span class="${result.pass ? 'pass' : 'fail'}">${result.pass ? 'pass' : 'FAIL'} ${esc(formatNumber(result.value))}</span>` : '—';
    }),
    ...metricCells(point).map(esc),
  ]);
  out.push('<h3>Checks and metrics per report</h3>', htmlTable(['#', 'started', 'status', ...series.checks.map((c) => `<code>${esc(c.name)}</code>`), ...metricHead.map(esc)], rows, 'numbers'));
  const labels = series.points.map((p) => `#${p.report + 1} ${shortDate(trend.reports[p.report]!.startedAt)}`);
  const failed = series.points.flatMap((p, i) => (p.status === 'failed' || p.status === 'error' ? [i] : []));
  const kinds = [...new Set(series.points.flatMap((p) => Object.keys(p.errorsByKind)))].sort();
  const charts: { title: string; lines: TrendLine[]; format: (v: number) => string }[] = [
    {
      title: 'Errors per report',
      lines: [{ name: 'errors (total)', values: series.points.map((p) => p.errorsTotal) }, ...kinds.map((kind) => ({ name: kind, values: series.points.map((p) => (p.errorsTotal === null ? null : (p.errorsByKind[kind] ?? 0))) }))],
      format: formatNumber,
    },
    {
      title: 'Largest and smallest pod share',
      lines: [
        { name: 'largest share', values: series.points.map((p) => p.maxShare) },
        { name: 'smallest share', values: series.points.map((p) => p.minShare) },
        { name: 'fair share', values: series.points.map((p) => p.fairShare), reference: true },
      ],
      format: formatShare,
    },
    { title: 'Latency', lines: [{ name: 'p50', values: series.points.map((p) => p.p50Ms) }, { name: 'p99', values: series.points.map((p) => p.p99Ms) }], format: formatMs },
  ];
  charts.forEach((chart, k) => {
    const svg = trendChartSvg({ id: `${id}-chart-${k + 1}`, title: `${chart.title}, ${runLabel(series)}`, labels, lines: chart.lines, format: chart.format, failed });
    if (svg) out.push(`<h3>${esc(chart.title)}</h3>`, legend(chart.lines), svg);
  });
  const reasons = series.points.filter((p) => p.reason);
  if (reasons.length > 0) out.push(`<ul class="reasons">${reasons.map((p) => `<li>${esc(`#${p.report + 1}: ${p.reason}`)}</li>`).join('')}</ul>`);
  out.push('</section>');
  return out.join('\n');
}

/** The same styles trendChartSvg draws with, in the same order. */
function legend(lines: readonly TrendLine[]): string {
  let dataIndex = 0;
  const items = lines.map((line) => {
    const style = line.reference ? { color: '#000', dash: '5 3' } : seriesStyle(dataIndex++);
    return `<li>${legendSwatch(style.color, style.dash)} ${esc(line.name)}</li>`;
  });
  return `<ul class="legend">${items.join('')}</ul>`;
}

const css = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1100px;padding:1rem 1.5rem;color:#1a1a1a}
h1{font-size:1.5rem}h2{margin-top:2.2rem;border-bottom:1px solid #ccc}h3{font-size:1.05rem;margin-top:1.4rem}
table{border-collapse:collapse;margin:.4rem 0}th,td{border:1px solid #ddd;padding:.2rem .55rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}table.numbers td{text-align:right}table.numbers td:nth-child(-n+3){text-align:left}
.status{font-size:.8em;padding:.05rem .45rem;border-radius:.3rem;border:1px solid currentColor}
.passed,.pass{color:#0a6b2d}.failed,.error,.fail{color:#b00020;font-weight:600}.unsupported{color:#666}
svg.chart{max-width:100%;height:auto;font-size:12px;font-family:inherit}svg text{fill:#1a1a1a}svg .tick{fill:#555}
ul.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.3rem 1.2rem}ul.legend svg{vertical-align:middle}
ul.reasons li{border-left:4px solid #b00020;padding-left:.6rem;list-style:none}code{font-size:.92em}
`.trim();

export interface WrittenTrend {
  html: string;
  markdown: string;
}

/** Writes trend.html and trend.md into `dir` (created if missing). */
export async function writeTrend(dir: string, trend: Trend): Promise<WrittenTrend> {
  const files = { html: join(resolve(dir), 'trend.html'), markdown: join(resolve(dir), 'trend.md') };
  const rendered = { html: renderTrendHtml(trend), markdown: renderTrendMarkdown(trend) };
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(files.html, rendered.html);
    await writeFile(files.markdown, rendered.markdown);
  } catch (error) {
    throw environmentError(`could not write the trend into ${dir}`, { where: dir, hint: 'check that the --out directory is writable and its disk is not full', cause: error });
  }
  return files;
}
