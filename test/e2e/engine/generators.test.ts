/** @lab iptables/3 */
import { jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LatencyHistogram, TimelineEvent } from '../../../harness/recorder/events.ts';
import { decodeHistogram, newLatencyHistogram, percentilesMs } from '../../../harness/recorder/histogram.ts';
import type { Report } from '../../../harness/report/model.ts';
import { useSharedLab } from '../../support/shared-lab.ts';

/**
 * Distributed load on a 3-node lab: a load with `generators: 3` runs from 3 client pods on 3
 * different nodes, started together, merged exactly (counts summed, latency from the union of
 * every histogram), with a row per generator in every report view.
 */
jest.setTimeout(300_000);

describe('a load run by 3 generators on a 3-node lab', () => {
  const sharedLab = useSharedLab();
  let dir: string;
  let report: Report;
  let events: TimelineEvent[];
  let summary: string;
  let html: string;

  beforeAll(async () => {
    const out = await mkdtemp(join(tmpdir(), 'kth-e2e-generators-'));
    const stderr: string[] = [];
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, ['harness/bin/kth.mjs', 'run', 'test/e2e/engine/fixtures/generators.ts', '--time-scale', '0.5', '--proxy-mode', 'iptables', '--cluster', sharedLab().spec.name, '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
      child.once('close', resolve);
    });
    const [run] = await readdir(out);
    if (code !== 0 || !run) throw new Error(`kth run exited ${code}:\n${stderr.join('')}`);
    dir = out;
    report = JSON.parse(await readFile(join(out, run, 'report.json'), 'utf8')) as Report;
    events = (await readFile(join(out, run, 'events.ndjson'), 'utf8')).split('\n').filter(Boolean).map((line) => JSON.parse(line) as TimelineEvent);
    summary = await readFile(join(out, run, 'summary.md'), 'utf8');
    html = await readFile(join(out, run, 'index.html'), 'utf8');
  }, 300_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('GIVEN generators: 3 THEN each ran on its own node, kept its schedule, and started within a second of the shared time', () => {
    const run = report.runs[0]!;
    expect(run.status).toBe('passed');
    const rows = run.generators!;
    expect(rows.map((row) => row.generator)).toEqual([1, 2, 3]);
    expect(new Set(rows.map((row) => row.node)).size).toBe(3);
    for (const row of rows) {
      expect(row.status).toBe('ok');
      expect(row.errors).toBe(0);
      expect(row.startedLateMs).not.toBeNull();
      expect(row.startedLateMs!).toBeLessThan(1000);
    }
  });

  it('GIVEN one clock for every node (the lab shares the host\'s) THEN each generator measured an offset to the same server pod within its uncertainty of 0, and the starts compared on that clock lie within a second', () => {
    const rows = report.runs[0]!.generators!;
    const reference = rows[0]!.clock!.reference;
    expect(report.runs[0]!.pods!.map((pod) => pod.name)).toContain(reference);
    for (const row of rows) {
      const clock = row.clock!;
      expect(clock.reference).toBe(reference);
      expect(clock.offsetMs).not.toBeNull();
      // The true offset here is 0: what the measurement says must bracket it.
      expect(Math.abs(clock.offsetMs!)).toBeLessThanOrEqual(clock.uncertaintyMs!);
      expect(clock.uncertaintyMs!).toBeLessThan(50);
      expect(clock.startAfterFirstMs!).toBeGreaterThanOrEqual(0);
      expect(clock.startAfterFirstMs!).toBeLessThan(1000);
    }
    expect(Math.min(...rows.map((row) => row.clock!.startAfterFirstMs!))).toBe(0);
    expect(summary).toContain(`clock offset (vs pod ${reference})`);
  });

  it('GIVEN the merged run THEN its counts are the generators\' sums and equal the servers\' own counts exactly', () => {
    const run = report.runs[0]!;
    const sent = run.generators!.reduce((sum, row) => sum + row.requests, 0);
    expect(run.totals!.requests).toBe(sent);
    expect(run.totals!.attributed).toBe(sent);
    expect(run.crossCheck!.agree).toBe(true);
    expect(run.totals!.serverCounted).toBe(sent);
    // Every node's proxy carried traffic: each generator's connections spread over the pods.
    expect(run.pods!.every((pod) => pod.requests > 0)).toBe(true);
  });

  it('GIVEN the raw events THEN the merged p99 is the p99 of the union of every generator\'s latency histograms, not an average of percentiles', () => {
    const union = newLatencyHistogram();
    const sources = new Set<string>();
    for (const event of events) {
      if (event.kind !== 'latency-histogram') continue;
      union.add(decodeHistogram((event as LatencyHistogram).histogram));
      sources.add((event as LatencyHistogram).source);
    }
    const expected = percentilesMs(union);
    const run = report.runs[0]!;
    expect(run.latencyMs).toEqual(expected);
    expect(run.loads!.spread!.latencyMs).toEqual(expected);
    expect(union.totalCount).toBe(run.totals!.requests);
  });

  it('GIVEN every report view THEN each has a row per generator', () => {
    expect(summary).toContain('**Load generators**');
    for (const row of report.runs[0]!.generators!) expect(summary).toMatch(new RegExp(`\\| spread +\\| ${row.generator} +\\| ${row.node} `));
    expect(html).toContain('<h3>Load generators</h3>');
    expect((html.match(/<td>spread<\/td>/g) ?? []).length).toBe(3);
  });
});
