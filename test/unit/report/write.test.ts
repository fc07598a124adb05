import { mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HarnessError } from '../../../harness/core/errors.ts';
import { writeReport } from '../../../harness/report/write.ts';
import { fixtureReport } from './fixture.ts';

describe('writeReport', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kth-report-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('GIVEN a report and an events file elsewhere THEN the four reports and a copy of the events are written, and no temporary file is left', async () => {
    const events = join(dir, 'source-events.ndjson');
    await writeFile(events, '{"kind":"marker","t":1,"name":"start","detail":{}}\n');
    const out = join(dir, 'run-1');
    const paths = await writeReport(out, fixtureReport(), events);
    expect(paths).toEqual({
      reportJson: join(out, 'report.json'),
      summaryMd: join(out, 'summary.md'),
      indexHtml: join(out, 'index.html'),
      junitXml: join(out, 'junit.xml'),
      eventsNdjson: join(out, 'events.ndjson'),
    });
    expect((await readdir(out)).sort()).toEqual(['events.ndjson', 'index.html', 'junit.xml', 'report.json', 'summary.md']);
    expect(JSON.parse(await readFile(paths.reportJson, 'utf8'))).toEqual(fixtureReport());
    expect(await readFile(paths.reportJson, 'utf8')).toMatch(/^\{\n {2}"schemaVersion": 1,/);
    expect(await readFile(paths.eventsNdjson!, 'utf8')).toBe(await readFile(events, 'utf8'));
    expect(await readFile(paths.summaryMd, 'utf8')).toMatch(/^# proxy-mode-matrix/);
  });

  it('GIVEN the events file already in the directory THEN it is left as it is', async () => {
    const events = join(dir, 'events.ndjson');
    await writeFile(events, 'x\n');
    const paths = await writeReport(dir, fixtureReport(), events);
    expect(paths.eventsNdjson).toBe(events);
    expect(await readFile(events, 'utf8')).toBe('x\n');
  });

  it('GIVEN an earlier report open for reading WHEN it is rewritten THEN the reader keeps the whole old file (replaced by rename, never truncated in place)', async () => {
    await writeReport(dir, fixtureReport());
    const before = await readFile(join(dir, 'summary.md'), 'utf8');
    const reader = await open(join(dir, 'summary.md'), 'r');
    try {
      const changed = fixtureReport();
      changed.scenario.name = 'renamed';
      await writeReport(dir, changed);
      expect((await reader.readFile('utf8'))).toBe(before);
      expect(await readFile(join(dir, 'summary.md'), 'utf8')).toMatch(/^# renamed/);
    } finally {
      await reader.close();
    }
  });

  it('GIVEN a missing events file THEN it throws an environment error naming the directory, and the earlier report stays whole', async () => {
    await writeReport(dir, fixtureReport());
    const before = await readFile(join(dir, 'report.json'), 'utf8');
    const changed = fixtureReport();
    changed.runId = 'other';
    const error = await writeReport(dir, changed, join(dir, 'missing.ndjson')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HarnessError);
    expect(error).toMatchObject({ kind: 'environment', where: dir });
    expect(await readFile(join(dir, 'report.json'), 'utf8')).toBe(before);
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });
});
