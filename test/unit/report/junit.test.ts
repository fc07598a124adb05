import { renderJunit } from '../../../harness/report/junit.ts';
import type { Report } from '../../../harness/report/model.ts';
import { checkXml } from './xml.ts';
import { fixtureReport } from './fixture.ts';

const parse = (report: Report) => {
  const xml = renderJunit(report);
  const parsed = checkXml(xml);
  expect(parsed.problems).toEqual([]);
  return parsed.elements;
};

describe('junit.xml', () => {
  it('GIVEN two runs THEN one testsuite per run named "<scenario> [<proxyMode>/<variant>]" with one testcase per check', () => {
    const elements = parse(fixtureReport());
    const suites = elements.filter((e) => e.name === 'testsuite');
    expect(suites.map((s) => s.attributes.name!)).toEqual(['proxy-mode-matrix [iptables/default]', 'proxy-mode-matrix [nftables/default]']);
    expect(suites.map((s) => [s.attributes.tests, s.attributes.failures, s.attributes.errors, s.attributes.skipped])).toEqual([
      ['2', '0', '0', '0'],
      ['2', '1', '0', '0'],
    ]);
    expect(elements.filter((e) => e.name === 'testcase').map((e) => e.attributes.name)).toEqual(['spread', 'errors', 'spread', 'errors']);
    const root = elements[0]!;
    expect([root.name, root.attributes.tests, root.attributes.failures]).toEqual(['testsuites', '4', '1']);
  });

  it('GIVEN a failed check THEN its failure says value vs threshold, with the note in the body', () => {
    const failures = parse(fixtureReport()).filter((e) => e.name === 'failure');
    expect(failures).toHaveLength(1);
    expect(failures[0]!.attributes.message!).toBe('metrics.chiSquareP >= 0.001: value 0.0002 vs threshold 0.001');
    expect(failures[0]!.text).toContain('one pod holds most connections');
  });

  it('GIVEN an errored and an unsupported run THEN an <error> testcase and a <skipped message=reason> testcase, reasons escaped', () => {
    const report = fixtureReport();
    report.runs = [
      { proxyMode: 'nftables', variant: 'fix', status: 'error', reason: 'pods never ready: <none> & timeout', durationMs: 5000, timeline: [], series: [], checks: [] },
      { proxyMode: 'ipvs', variant: 'default', status: 'unsupported', reason: 'IPVS needs the "ip_vs" kernel module', durationMs: 0, timeline: [], series: [], checks: [] },
    ];
    const elements = parse(report);
    const error = elements.find((e) => e.name === 'error')!;
    expect(error.attributes.message!).toBe('pods never ready: <none> & timeout');
    const skipped = elements.find((e) => e.name === 'skipped')!;
    expect(skipped.attributes.message!).toBe('IPVS needs the "ip_vs" kernel module');
    const suites = elements.filter((e) => e.name === 'testsuite');
    expect(suites.map((s) => [s.attributes.tests, s.attributes.errors, s.attributes.skipped])).toEqual([
      ['1', '1', '0'],
      ['1', '0', '1'],
    ]);
  });

  it('GIVEN a failed run whose checks all pass THEN a failing "run" testcase keeps CI from showing it green', () => {
    const report = fixtureReport();
    report.runs = [{ ...report.runs[0]!, status: 'failed', reason: 'cross-check disagrees' }];
    const elements = parse(report);
    expect(elements.filter((e) => e.name === 'failure').map((e) => e.attributes.message!)).toEqual(['cross-check disagrees']);
  });
});
