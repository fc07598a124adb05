import { escapeXml as esc } from './escape.ts';
import { formatNumber } from './format.ts';
import type { CheckResult, Report, RunReport } from './model.ts';
import { checkValue } from './view.ts';

/**
 * junit.xml for CI test views: one testsuite per run (`<scenario> [<proxyMode>/<variant>]`), one
 * testcase per check. A run that errored adds a testcase with <error>; an unsupported run is one
 * skipped testcase with the reason; a failed run with no failing check (failed for a reason of its
 * own) adds a failing testcase so CI never shows it green.
 */
export function renderJunit(report: Report): string {
  const suites = report.runs.map((run) => suite(report, run));
  const count = (key: keyof SuiteCounts) => suites.reduce((sum, s) => sum + s.counts[key], 0);
  const seconds = report.runs.reduce((sum, run) => sum + run.durationMs, 0) / 1000;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${esc(report.scenario.name)}" tests="${count('tests')}" failures="${count('failures')}" errors="${count('errors')}" skipped="${count('skipped')}" time="${seconds.toFixed(3)}">`,
    ...suites.map((s) => s.xml),
    '</testsuites>',
    '',
  ].join('\n');
}

interface SuiteCounts {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
}

function suite(report: Report, run: RunReport): { xml: string; counts: SuiteCounts } {
  const name = `${report.scenario.name} [${run.proxyMode}/${run.variant}]`;
  const className = `${report.scenario.name}.${run.proxyMode}.${run.variant}`;
  const cases: string[] = [];
  const counts: SuiteCounts = { tests: 0, failures: 0, errors: 0, skipped: 0 };
  const testcase = (caseName: string, inner = '') => {
    counts.tests++;
    cases.push(`    <testcase name="${esc(caseName)}" classname="${esc(className)}" time="0"${inner ? `>\n      ${inner}\n    </testcase>` : '/>'}`);
  };

  if (run.status === 'unsupported') {
    counts.skipped++;
    testcase('run', `<skipped message="${esc(run.reason ?? 'unsupported here')}"/>`);
  } else {
    if (run.status === 'error') {
      counts.errors++;
      const reason = run.reason ?? 'the run failed before its checks could be evaluated';
      testcase('run', `<error message="${esc(reason)}" type="run-error">${esc(reason)}</error>`);
    }
    for (const check of run.checks) {
      if (check.pass) testcase(check.name);
      else {
        counts.failures++;
        testcase(check.name, failure(check));
      }
    }
    if (run.status === 'failed' && run.checks.every((check) => check.pass)) {
      counts.failures++;
      const reason = run.reason ?? 'run failed';
      testcase('run', `<failure message="${esc(reason)}" type="run-failed">${esc(reason)}</failure>`);
    }
  }
  const properties = [['proxyMode', run.proxyMode], ['variant', run.variant], ['status', run.status], ['runId', report.runId]]
    .map(([key, value]) => `      <property name="${esc(key)}" value="${esc(value)}"/>`)
    .join('\n');
  const xml = [
    `  <testsuite name="${esc(name)}" tests="${counts.tests}" failures="${counts.failures}" errors="${counts.errors}" skipped="${counts.skipped}" time="${(run.durationMs / 1000).toFixed(3)}" timestamp="${esc(report.startedAt)}">`,
    `    <properties>\n${properties}\n    </properties>`,
    ...cases,
    '  </testsuite>',
  ].join('\n');
  return { xml, counts };
}

function failure(check: CheckResult): string {
  const message = `${check.expect}: value ${checkValue(check)} vs threshold ${formatNumber(check.threshold)}`;
  const body = check.note ? `${message}\n${check.note}` : message;
  return `<failure message="${esc(message)}" type="check-failed">${esc(body)}</failure>`;
}
