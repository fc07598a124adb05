import { renderHtml } from '../../../harness/report/html.ts';
import { escapeXml } from '../../../harness/report/escape.ts';
import { checkXml, type XmlCheck } from './xml.ts';
import { evilPod, fixtureReport } from './fixture.ts';

type Element = XmlCheck['elements'][number];

/** A chart's elements: the checker lists elements in document order, so everything up to the next chart, heading or section. */
function subtree(elements: Element[], start: Element): Element[] {
  const from = elements.indexOf(start);
  const end = elements.findIndex((e, i) => i > from && ((e.name === 'svg' && e.attributes.class === 'chart') || e.name === 'section' || e.name === 'h3'));
  return elements.slice(from, end === -1 ? undefined : end);
}

describe('index.html', () => {
  const report = fixtureReport();
  const html = renderHtml(report);
  const parsed = checkXml(html);
  const charts = parsed.elements.filter((e) => e.name === 'svg' && e.attributes.class === 'chart');

  it('GIVEN the fixture THEN the page is well-formed (every data string escaped) and self-contained: no script, link, source or URL', () => {
    expect(parsed.problems).toEqual([]);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|<object|@import|url\(|\bsrc=|\bhref=/i);
    expect(html).not.toMatch(/https?:\/\//);
  });

  it('GIVEN two runs THEN a comparison table comes first with one column per run', () => {
    const comparison = html.indexOf('<section id="comparison">');
    expect(comparison).toBeGreaterThan(0);
    expect(comparison).toBeLessThan(html.indexOf('<section class="run"'));
    const table = html.slice(comparison, html.indexOf('</section>', comparison));
    expect(table).toContain('<th>iptables/default</th><th>nftables/default</th>');
    for (const row of ['status', 'Jain index', 'χ² p', 'max/min', 'errors', 'p99']) expect(table).toContain(`<strong>${row}</strong>`);
    expect(table).toContain('<td>0.9999</td><td>0.5848</td>');
  });

  it('GIVEN a single run THEN there is no comparison table', () => {
    const single = fixtureReport();
    single.runs = single.runs.slice(0, 1);
    expect(renderHtml(single)).not.toContain('id="comparison"');
  });

  it('GIVEN two runs with pods and series THEN there are two charts per run, each titled and described', () => {
    expect(charts).toHaveLength(4);
    for (const chart of charts) {
      const inner = subtree(parsed.elements, chart);
      expect(inner.find((e) => e.name === 'title')?.text).toMatch(/^(Share of requests per pod|Requests per second per pod), (iptables|nftables)\/default$/);
      expect(inner.some((e) => e.name === 'desc')).toBe(true);
      expect(chart.attributes.role).toBe('img');
    }
  });

  it('GIVEN the nftables shares THEN bar widths are proportional to the shares and the fair-share line sits at 1/3 on the same scale', () => {
    const bars = subtree(parsed.elements, charts[2]!);
    const rects = bars.filter((e) => e.name === 'rect');
    expect(rects.map((r) => Number(r.attributes['data-share']))).toEqual([0.7, 0.25, 0.05]);
    const pxPerShare = rects.map((r) => Number(r.attributes.width) / Number(r.attributes['data-share']));
    for (const k of pxPerShare) expect(k).toBeCloseTo(pxPerShare[0]!, 0);
    const fair = bars.find((e) => e.name === 'line' && e.attributes['stroke-dasharray'] === '5 3')!;
    const x0 = Number(rects[0]!.attributes.x);
    expect(Number(fair.attributes.x1) - x0).toBeCloseTo(pxPerShare[0]! / 3, 0);
    expect(bars.some((e) => e.name === 'text' && e.text === 'fair 33.3%')).toBe(true);
  });

  it('GIVEN a pod name with <&>"\' THEN it is escaped everywhere and reads back exactly (bar tooltip, legend, tables)', () => {
    expect(html).not.toContain(evilPod);
    expect(html).toContain(escapeXml(evilPod));
    const barTitles = subtree(parsed.elements, charts[0]!).filter((e) => e.name === 'title').map((e) => e.text);
    expect(barTitles).toContain(`${evilPod}: 33.0% of requests (330 requests, 4 connections, 3 errors)`);
    expect(parsed.elements.filter((e) => e.name === 'td').map((e) => e.text)).toContain(evilPod);
  });

  it('GIVEN a chaos entry at 4 s THEN the rate chart has a marker numbered 1 between the points of seconds 3 and 4', () => {
    const rate = subtree(parsed.elements, charts[3]!);
    const markerTitle = rate.find((e) => e.name === 'title' && e.text.startsWith('#1 4.0 s chaos: delete-pod'))!;
    expect(markerTitle.text).toBe(`#1 4.0 s chaos: delete-pod ${evilPod} (graceful)`);
    const badge = rate.filter((e) => e.name === 'text' && e.text === '1');
    expect(badge).toHaveLength(1);
    const marker = rate[rate.indexOf(markerTitle) + 1]!;
    expect(marker.name).toBe('line');
    const lines = rate.filter((e) => e.name === 'polyline' && e.attributes.class === 'pod');
    expect(lines).toHaveLength(3);
    const xs = lines[0]!.attributes.points!.split(' ').map((p) => Number(p.split(',')[0]));
    expect(xs).toHaveLength(10);
    // Buckets plot at their middle: 3.5 s < 4 s < 4.5 s.
    expect(Number(marker.attributes.x1)).toBeGreaterThan(xs[3]!);
    expect(Number(marker.attributes.x1)).toBeLessThan(xs[4]!);
  });

  it('GIVEN the deleted pod stops answering at 5 s THEN its line drops to the axis instead of ending (gap filled with 0)', () => {
    const rate = subtree(parsed.elements, charts[3]!);
    const evil = rate.filter((e) => e.name === 'polyline' && e.attributes.class === 'pod')[2]!;
    const ys = evil.attributes.points!.split(' ').map((p) => Number(p.split(',')[1]));
    expect(new Set(ys.slice(5)).size).toBe(1);
    expect(ys[5]).toBeGreaterThan(ys[0]!);
    expect(rate.some((e) => e.name === 'polyline' && e.attributes.class === 'errors')).toBe(true);
  });

  it('GIVEN a failed check THEN its row says fail in words as well as colour, with value and threshold', () => {
    expect(html).toContain('<td>spread</td><td><code>metrics.chiSquareP &gt;= 0.001</code></td><td>0.0002</td><td>0.001</td><td><span class="fail"><svg class="mark"');
    expect(html).toContain('</svg> fail</span> one pod holds most connections</td>');
  });

  it('GIVEN run statuses THEN they are words in badges with drawn marks, no emoji (hosts without an emoji font show boxes)', () => {
    expect(html).not.toMatch(/\p{Extended_Pictographic}/u);
    expect(html).toMatch(/<h1>proxy-mode-matrix <span class="status failed"><svg class="mark"[^]*?<\/svg> failed<\/span><\/h1>/);
    const comparison = html.slice(html.indexOf('<section id="comparison">'), html.indexOf('<section class="run"'));
    expect(comparison).toMatch(/<span class="status passed"><svg[^]*?<\/svg> passed<\/span><\/td><td><span class="status failed">/);
  });

  it('GIVEN a timeline THEN the Timeline table numbers its entries in time order, under the rate chart', () => {
    const timeline = parsed.elements.filter((e) => e.name === 'table' && e.attributes.class === 'timeline');
    expect(timeline).toHaveLength(2);
    expect(html).toContain(`<tr><td>1</td><td>4.0 s</td><td>chaos</td><td>delete-pod ${escapeXml(evilPod)} (graceful)</td></tr>`);
    const run = html.indexOf('<section class="run" id="run-1">');
    expect(html.indexOf('<table class="timeline">', run)).toBeLessThan(html.indexOf('<h3>Checks</h3>', run));
  });

  it('GIVEN errors by kind and latency THEN both tables are there, with how latency was measured', () => {
    expect(html).toContain('<tr><td>reset</td><td>2</td></tr><tr><td>http-5xx</td><td>1</td></tr>');
    expect(html).toContain('<td>2.40 ms</td><td>5.10 ms</td><td>14.2 ms</td><td>40.0 ms</td>');
    expect(html).toContain('coordinated omission');
  });

  it('GIVEN an errored run THEN it shows the escaped reason and no charts', () => {
    const report = fixtureReport();
    report.runs = [{ proxyMode: 'ipvs', variant: 'default', status: 'error', reason: 'apiserver <down> & out', durationMs: 1200, timeline: [], series: [], checks: [] }];
    const out = renderHtml(report);
    expect(checkXml(out).problems).toEqual([]);
    expect(out).toContain('<p class="reason">apiserver &lt;down&gt; &amp; out</p>');
    expect(out).not.toContain('class="chart"');
  });
});
