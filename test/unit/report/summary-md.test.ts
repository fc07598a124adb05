import { renderSummaryMarkdown } from '../../../harness/report/summary-md.ts';
import type { Report } from '../../../harness/report/model.ts';
import { evilPod, fixtureReport } from './fixture.ts';

/** The section of one run: from its `## ` heading to the next. */
const section = (md: string, label: string) => md.split(/^## /m).find((part) => part.startsWith(label))!;
/** Rows of the first table in `text` whose first cell matches, split into cells on unescaped pipes. */
const rows = (text: string, first: RegExp) =>
  text
    .split('\n')
    .filter((line) => line.startsWith('| '))
    .map((line) => line.slice(2, -2).split(/(?<!\\) \| /))
    .filter((cells) => first.test(cells[0]!));
/** A unicode bar's length in eighths of a character. */
const eighths = (bar: string) => [...bar].reduce((sum, c) => sum + (c === '█' ? 8 : '▏▎▍▌▋▊▉'.indexOf(c) + 1), 0);

describe('summary.md', () => {
  const report = fixtureReport();
  const md = renderSummaryMarkdown(report);

  it('GIVEN one passed and one failed run THEN the title says failed and each run shows its status mark and word', () => {
    expect(md.split('\n')[0]).toBe('# proxy-mode-matrix — ❌ failed');
    expect(md).toMatch(/^## iptables\/default — ✅ passed$/m);
    expect(md).toMatch(/^## nftables\/default — ❌ failed$/m);
    const status = rows(md, /^status$/)[0]!;
    expect(status.slice(1)).toEqual(['✅ passed', '❌ failed']);
  });

  it('GIVEN per-pod shares THEN each pod has a bar, and the bars of a run add up to one full 20-character bar', () => {
    for (const run of report.runs) {
      const podRows = rows(section(md, `${run.proxyMode}/`), /^`/);
      expect(podRows).toHaveLength(3);
      const total = podRows.reduce((sum, cells) => sum + eighths(cells[6]!), 0);
      // Each bar rounds to the nearest eighth: the sum is off by at most half an eighth per pod.
      expect(Math.abs(total - 160)).toBeLessThanOrEqual(podRows.length / 2);
      expect(podRows.map((cells) => cells[5])).toEqual(run.pods!.map((pod) => `${(pod.share * 100).toFixed(1)}%`));
    }
    expect(section(md, 'nftables/')).toContain('bar (fair 33.3%)');
  });

  it('GIVEN totals and a cross-check THEN server-counted and the verdict are stated, with every difference', () => {
    expect(section(md, 'iptables/')).toMatch(/server-counted 1000 — cross-check agree/);
    const failed = section(md, 'nftables/');
    expect(failed).toMatch(/server-counted 1001 — cross-check differ/);
    expect(failed).toContain('- web-a: server counted 701 requests, clients attributed 700 (difference +1)');
  });

  it('GIVEN errors by kind and latency THEN both are listed, with how latency was measured per model', () => {
    expect(section(md, 'iptables/')).toContain('**Errors:** 3 — `reset` 2, `http-5xx` 1');
    expect(section(md, 'iptables/')).toMatch(/p50 2\.10 ms · p90 4\.50 ms · p99 9\.80 ms · max 31\.0 ms\. Latency measured from the intended send time \(open model/);
    expect(section(md, 'nftables/')).toMatch(/actual send time \(closed model: coordinated omission/);
  });

  it('GIVEN fairness metrics THEN Jain, max/min and χ² p come with the sampling unit and the validity note', () => {
    expect(section(md, 'iptables/')).toContain('**Fairness:** Jain 0.9999 · max/min 1.03 · χ² p 0.420 (over 12 connections');
    expect(section(md, 'iptables/')).toMatch(/not reliable: expected counts below 5/);
    expect(section(md, 'nftables/')).toMatch(/χ² p 2\.0e-4 \(over 12 connections, χ² 16\.5, df 2; valid\)/);
  });

  it('GIVEN a valid χ² whose lower tail is tiny THEN the fairness line says the spread is more even than random picks', () => {
    const even = fixtureReport();
    even.runs[0]!.metrics = { ...even.runs[0]!.metrics!, chiSquareP: 1, chiSquareLowerP: 0, chiSquare: { unit: 'connections', n: 300, statistic: 0, degreesOfFreedom: 2, valid: true, note: '300 connections over 3 categories; more even than random picks: round-robin-like' } };
    const text = section(renderSummaryMarkdown(even), 'iptables/');
    expect(text).toContain('χ² p 1.000 (over 300 connections, χ² 0, df 2; valid) — more even than random picks: round-robin-like (P(χ² ≤ 0) 0.000)');
    // Reports written before the lower tail existed say nothing about it.
    expect(section(md, 'iptables/')).not.toContain('round-robin');
  });

  it('GIVEN checks THEN each shows value vs threshold and pass/fail in words', () => {
    const failed = rows(section(md, 'nftables/'), /^spread$/)[0]!;
    expect(failed).toEqual(['spread', '`metrics.chiSquareP >= 0.001`', '0.0002', '0.001', '❌ fail — one pod holds most connections']);
    expect(rows(section(md, 'iptables/'), /^spread$/)[0]![4]).toBe('✅ pass');
  });

  it('GIVEN a chaos timeline entry THEN it is listed with its offset', () => {
    expect(section(md, 'iptables/')).toMatch(/^- 4\.0 s `chaos` delete-pod web-<&>"x' \(graceful\)$/m);
  });

  it('GIVEN a pod name with markup THEN it appears only inside code spans and never splits a table row', () => {
    const hostile: Report = fixtureReport();
    hostile.runs[0]!.pods![0]!.name = '<img src=x>|pwn';
    const out = renderSummaryMarkdown(hostile);
    const withoutCode = out.replace(/`[^`]*`/g, '');
    expect(withoutCode).not.toMatch(/<img/);
    const podRows = rows(section(out, 'iptables/'), /^`/);
    expect(podRows.every((cells) => cells.length === 7)).toBe(true);
    expect(podRows[0]![0]).toBe('`<img src=x>\\|pwn`');
    expect(out).toContain(`\`${evilPod}\``);
  });

  it('GIVEN an unsupported run THEN its section says why, without tables', () => {
    const report = fixtureReport();
    report.runs = [{ proxyMode: 'ipvs', variant: 'default', status: 'unsupported', reason: 'IPVS needs the ip_vs kernel module', durationMs: 0, timeline: [], series: [], checks: [] }];
    const out = renderSummaryMarkdown(report);
    expect(out).toMatch(/^# proxy-mode-matrix — ⏭️ unsupported$/m);
    expect(section(out, 'ipvs/')).toBe('ipvs/default — ⏭️ unsupported\n\n> IPVS needs the ip\\_vs kernel module\n');
  });
});
