import type { Command } from 'commander';
import { HarnessError } from '../../core/errors.ts';
import { diffReports, renderDiff } from '../../report/diff.ts';
import { readDiffableReport } from '../../report/schema.ts';
import { buildTrend, loadTrendReports, renderTrendMarkdown, writeTrend } from '../../report/trend.ts';

/**
 * `kth report diff a b`: exit 0 no check regressed, 1 some did (after printing the diff), 2 bad input.
 * `kth report trend dir…`: exit 0 (a view, not a gate: the diff gates), 2 bad input.
 */
export function registerReport(program: Command): void {
  const report = program.command('report').description('work with report.json files of earlier runs');
  report
    .command('diff')
    .description('compare two runs\' report.json (matched by proxy mode and variant): metric deltas and check changes; exit 1 when a check that passed in a fails in b')
    .argument('<a>', 'the baseline report.json')
    .argument('<b>', 'the report.json to compare with it')
    .option('--json', 'print the diff as JSON')
    .action(async (a: string, b: string, options: { json?: boolean }) => {
      const [reportA, reportB] = await Promise.all([readDiffableReport(a), readDiffableReport(b)]);
      const diff = diffReports(reportA, reportB);
      process.stdout.write(options.json ? `${JSON.stringify(diff, null, 2)}\n` : renderDiff(diff));
      if (diff.regressions.length > 0) {
        throw new HarnessError('check-failed', `${diff.regressions.length} check(s) passed in ${a} and fail in ${b}`, {
          where: diff.regressions.map((r) => `${r.run}: ${r.check}`).join(', '),
        });
      }
    });
  report
    .command('trend')
    .description("one scenario's checks and key metrics over many reports (e.g. nightly runs), oldest first, per proxy mode and variant: which check started failing when, shares and errors over time")
    .argument('<dirs...>', 'report directories (<out>/<run-id>/, each holding report.json) or report.json files, in any order: sorted by start time')
    .option('--out <dir>', 'write trend.html and trend.md into this directory (default: print the Markdown)')
    .option('--json', 'print the trend as JSON')
    .action(async (dirs: string[], options: { out?: string; json?: boolean }) => {
      const trend = buildTrend(await loadTrendReports(dirs));
      if (options.out) {
        const files = await writeTrend(options.out, trend);
        process.stdout.write(options.json ? `${JSON.stringify(trend, null, 2)}\n` : `${files.markdown}\n${files.html}\n`);
        return;
      }
      process.stdout.write(options.json ? `${JSON.stringify(trend, null, 2)}\n` : renderTrendMarkdown(trend));
    });
}
