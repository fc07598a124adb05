import type { Command } from 'commander';
import { HarnessError } from '../../core/errors.ts';
import { diffReports, renderDiff } from '../../report/diff.ts';
import { readDiffableReport } from '../../report/schema.ts';

/** `kth report diff a b`: exit 0 no check regressed, 1 some did (after printing the diff), 2 bad input. */
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
}
