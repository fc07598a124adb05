import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReportDiff } from '../../../harness/report/diff.ts';
import type { Report } from '../../../harness/report/model.ts';
import { fixtureReport } from '../../unit/report/fixture.ts';

/** Runs the real CLI; resolves with its exit code and output whatever the code. */
function kth(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['harness/bin/kth.mjs', ...args], (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

describe('kth report diff', () => {
  let dir: string;
  const file = async (name: string, report: unknown) => {
    const path = join(dir, name);
    await writeFile(path, typeof report === 'string' ? report : JSON.stringify(report, null, 2));
    return path;
  };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kth-report-diff-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('GIVEN two identical reports THEN exit 0 and the diff on stdout says no check regressed', async () => {
    const a = await file('a.json', fixtureReport());
    const b = await file('b.json', fixtureReport());
    const result = await kth('report', 'diff', a, b);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('## iptables/default (passed → passed)');
    expect(result.stdout.trimEnd().endsWith('No check regressed.')).toBe(true);
  }, 30_000);

  it('GIVEN a check passing in a and failing in b THEN exit 1, the diff printed first, the regression named on stderr', async () => {
    const later: Report = fixtureReport();
    later.runs[0]!.status = 'failed';
    later.runs[0]!.checks[1] = { ...later.runs[0]!.checks[1]!, pass: false, value: 12 };
    const a = await file('a.json', fixtureReport());
    const b = await file('b-regressed.json', later);
    const result = await kth('report', 'diff', a, b);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('| errors | pass (3) | fail (12) | **REGRESSED** |');
    expect(result.stderr).toMatch(/^error: 1 check\(s\) passed in .*a\.json and fail in .*b-regressed\.json$/m);
    expect(result.stderr).toMatch(/where: iptables\/default: errors/);

    const json = await kth('report', 'diff', a, b, '--json');
    expect(json.code).toBe(1);
    const diff = JSON.parse(json.stdout) as ReportDiff;
    expect(diff.regressions).toEqual([{ run: 'iptables/default', check: 'errors' }]);
  }, 30_000);

  it('GIVEN an invalid report THEN exit 2 and stderr names the file and the field', async () => {
    const broken = JSON.parse(JSON.stringify(fixtureReport()));
    broken.runs[1].checks = 'none';
    const a = await file('a.json', fixtureReport());
    const bad = await file('broken.json', broken);
    const result = await kth('report', 'diff', a, bad);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/broken\.json is not a valid report/);
    expect(result.stderr).toMatch(/runs\[1\]\.checks: .*expected array/);
  }, 30_000);

  it('GIVEN a file that is not JSON or does not exist THEN exit 2', async () => {
    const a = await file('a.json', fixtureReport());
    expect((await kth('report', 'diff', a, await file('text.json', 'not json'))).code).toBe(2);
    expect((await kth('report', 'diff', a, join(dir, 'missing.json'))).code).toBe(2);
    // A missing argument is a usage mistake: bad input too.
    expect((await kth('report', 'diff', a)).code).toBe(2);
  }, 30_000);
});
