import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HarnessError } from '../../../harness/core/errors.ts';
import { diffableReportSchema, readDiffableReport } from '../../../harness/report/schema.ts';
import { fixtureReport } from './fixture.ts';

describe('readDiffableReport', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kth-schema-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const write = async (name: string, content: string) => {
    const file = join(dir, name);
    await writeFile(file, content);
    return file;
  };
  const failure = (file: string) => readDiffableReport(file).then(() => null, (error: unknown) => error as HarnessError);

  it('GIVEN a full report.json THEN it reads, with only the fields the diff uses (unknown fields are allowed)', async () => {
    const report = await readDiffableReport(await write('ok.json', JSON.stringify({ ...fixtureReport(), addedLater: true })));
    expect(report.runs[1]!.checks[0]!.pass).toBe(false);
    expect(report.runs[0]!.metrics?.jainIndex).toBe(0.9999);
    expect('series' in report.runs[0]!).toBe(false);
  });

  it('GIVEN wrong types deep inside THEN a bad-input error lists every problem at its path', async () => {
    const report = JSON.parse(JSON.stringify(fixtureReport()));
    report.runs[1].checks[0].pass = 'no';
    report.runs[0].status = 'green';
    delete report.runId;
    const error = await failure(await write('bad.json', JSON.stringify(report)));
    expect(error).toBeInstanceOf(HarnessError);
    expect(error?.kind).toBe('bad-input');
    expect(error?.exitCode).toBe(2);
    expect(error?.where).toBe(join(dir, 'bad.json'));
    expect(error?.message).toMatch(/3 problems/);
    expect(error?.message).toMatch(/^ {2}runId: .*expected string/m);
    expect(error?.message).toMatch(/^ {2}runs\[0\]\.status: /m);
    expect(error?.message).toMatch(/^ {2}runs\[1\]\.checks\[0\]\.pass: .*expected boolean, received string/m);
  });

  it('GIVEN a file that is not JSON, or missing THEN bad input naming the file', async () => {
    const notJson = await write('truncated.json', '{"schemaVersion": 1, "runs": [');
    expect((await failure(notJson))?.message).toMatch(/truncated\.json is not JSON/);
    const missing = await failure(join(dir, 'nope.json'));
    expect(missing).toMatchObject({ kind: 'bad-input' });
    expect(missing?.message).toMatch(/cannot read .*nope\.json: ENOENT/);
  });

  it('GIVEN a newer schema version THEN it is refused (a reader must not guess at a format it does not know)', () => {
    const report = fixtureReport();
    report.schemaVersion = 99;
    const result = diffableReportSchema.safeParse(report);
    expect(result.error!.issues.map((issue) => [issue.path, issue.message])).toEqual([[['schemaVersion'], 'schema version is newer than this kth reads (1): use the kth that wrote it']]);
  });

  it('GIVEN two runs with the same proxy mode and variant THEN the duplicate is reported at its index', () => {
    const report = fixtureReport();
    report.runs[1]!.proxyMode = 'iptables';
    const result = diffableReportSchema.safeParse(report);
    expect(result.error!.issues.map((issue) => [issue.path, issue.message])).toEqual([[['runs', 1], 'duplicate run iptables/default (also runs[0])']]);
  });
});
