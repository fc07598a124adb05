import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderHtml } from '../../../harness/report/html.ts';
import type { Recommendation, Report } from '../../../harness/report/model.ts';
import { readDiffableReport } from '../../../harness/report/schema.ts';
import { renderSummaryMarkdown } from '../../../harness/report/summary-md.ts';
import { recommendationLines } from '../../../harness/report/view.ts';
import { fixtureReport } from './fixture.ts';
import { checkXml } from './xml.ts';

const picked: Recommendation = {
  proxyMode: 'iptables',
  subject: 'MaxConnectionAge',
  variant: 'age-2s',
  text: 'MaxConnectionAge: maxConnectionAge 2s, maxConnectionAgeGrace 1s (variant age-2s) — the smallest tried that meets the rebalance target with no failed RPCs.',
  basis: "Candidates by ascending maxConnectionAge: age-1s (1s): no — check 'rebalances' failed; age-2s (2s): qualified. A candidate qualifies when its run passed every check of its variant and errors.total == 0.",
  candidates: [
    { variant: 'age-1s', settings: { maxConnectionAge: '1s' }, qualified: false, why: "check 'rebalances' failed" },
    { variant: 'age-2s', settings: { maxConnectionAge: '2s' }, qualified: true },
  ],
};
const none: Recommendation = {
  ...picked,
  proxyMode: 'nftables',
  variant: null,
  text: 'MaxConnectionAge: none of the candidates tried (age-1s (1s), age-2s (2s)) meets the rebalance target with <no> failed RPCs.',
  candidates: picked.candidates.map((c) => ({ ...c, qualified: false })),
};

const withRecommendations = (recommendations: Recommendation[]): Report => ({ ...fixtureReport(), recommendations });

describe('recommendation in every report view', () => {
  it('GIVEN one proxy mode THEN the line is the text alone; GIVEN several THEN each starts with its proxy mode; GIVEN none asked THEN no lines', () => {
    expect(recommendationLines(withRecommendations([picked])).map((line) => line.text)).toEqual([picked.text]);
    expect(recommendationLines(withRecommendations([picked, none])).map((line) => line.text)).toEqual([`iptables: ${picked.text}`, `nftables: ${none.text}`]);
    expect(recommendationLines(fixtureReport())).toEqual([]);
  });

  it('GIVEN a pick and a none THEN summary.md ends with a Recommendation section stating both, with their basis', () => {
    const md = renderSummaryMarkdown(withRecommendations([picked, none]));
    const section = md.slice(md.indexOf('## Recommendation'));
    expect(md.indexOf('## Recommendation')).toBeGreaterThan(md.lastIndexOf('## nftables/default'));
    expect(section).toContain('**iptables: MaxConnectionAge: maxConnectionAge 2s, maxConnectionAgeGrace 1s (variant age-2s) — the smallest tried');
    expect(section).toContain('**nftables: MaxConnectionAge: none of the candidates tried');
    expect(section).toContain('with \\<no> failed RPCs'); // escaped like every data string
    expect(section).toContain('Candidates by ascending maxConnectionAge');
    expect(md.endsWith('errors.total == 0.\n')).toBe(true);
  });

  it('GIVEN a pick and a none THEN index.html ends with a well-formed Recommendation section', () => {
    const html = renderHtml(withRecommendations([picked, none]));
    const parsed = checkXml(html);
    expect(parsed.problems).toEqual([]);
    const section = parsed.elements.find((e) => e.name === 'section' && e.attributes.id === 'recommendation')!;
    expect(section.text).toContain(`iptables: ${picked.text}`);
    expect(section.text).toContain(`nftables: ${none.text}`);
    const sections = parsed.elements.filter((e) => e.name === 'section');
    expect(sections.at(-1)).toBe(section);
  });

  it('GIVEN a scenario without a recommendation THEN neither view has the section or any of its words', () => {
    const md = renderSummaryMarkdown(fixtureReport());
    const html = renderHtml(fixtureReport());
    expect(md).not.toMatch(/recommend/i);
    // (the stylesheet names the class whatever the report holds)
    expect(html.slice(html.indexOf('</style>'))).not.toMatch(/recommend/i);
  });

  describe('report.json', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'kth-recommendation-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('GIVEN recommendations (or none) THEN the report reads with schemaVersion 1; a malformed one is bad input naming the field', async () => {
      const file = join(dir, 'report.json');
      await writeFile(file, JSON.stringify(withRecommendations([picked, none])));
      expect((await readDiffableReport(file)).recommendations?.map((item) => item.variant)).toEqual(['age-2s', null]);
      await writeFile(file, JSON.stringify(fixtureReport()));
      expect((await readDiffableReport(file)).recommendations).toBeUndefined();
      await writeFile(file, JSON.stringify({ ...fixtureReport(), recommendations: [{ ...picked, variant: 7 }] }));
      await expect(readDiffableReport(file)).rejects.toThrow(/recommendations\[0\]\.variant/);
    });
  });
});
