import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { PodRow } from '../../../harness/analysis/run-summary.ts';
import { reportSchemaVersion, type Report, type RunReport, type SeriesPoint, type TimelineEntry } from '../../../harness/report/model.ts';
import { rateSeries } from '../../../harness/report/view.ts';
import { writeReport } from '../../../harness/report/write.ts';
import { fixtureReport } from '../../unit/report/fixture.ts';

/**
 * index.html as a reader sees it: written by the report writer, opened in headless Chromium (Debian's
 * package, installed by harness/setup/setup.sh), read back through the DOM and layout engine.
 */

const executablePath = process.env.KTH_CHROMIUM ?? '/usr/bin/chromium';
/** Under reports/ (git-ignored): kept after the run so a person can look at what the test saw. */
const screenshotDir = resolve('reports/test-output/browser');

/** A pod name as a Deployment makes them. */
const podName = (hash: string, suffix: string) => `web-${hash}-${suffix}`;

/**
 * rollout-prestop as it runs: 100 requests/s over 3 pods for 30 s, a rollout restart at 10 s that
 * replaces every pod within one second — chaos and six endpoint changes fall inside that second.
 */
function rolloutRun(proxyMode: string, variant: 'no-prestop' | 'prestop-sleep'): RunReport {
  const old = ['x7k2p', 'm4q9z', 'c8w3r'].map((s) => podName('7d9f8c6b5', s));
  const fresh = ['h2v6n', 'p9d4t', 'b5j8s'].map((s) => podName('5c8b7d9f4', s));
  const lossy = variant === 'no-prestop';
  const series: SeriesPoint[] = [];
  for (let s = 0; s < 30; s++) {
    // Second 10 is the rollout: old and new pods both answer; without preStop some requests fail.
    const split = s < 10 ? old.map((pod, i) => [pod, [34, 33, 33][i]!] as const) : s === 10 ? [...old.map((pod) => [pod, 15] as const), ...fresh.map((pod) => [pod, 18] as const)] : fresh.map((pod, i) => [pod, [33, 34, 33][i]!] as const);
    for (const [pod, requests] of split) {
      const errors = lossy && s === 10 && pod === old[0] ? 7 : lossy && s === 11 && pod === fresh[0] ? 2 : 0;
      series.push({ t: s * 1000, load: 'client', pod, requests: requests - errors, errors });
    }
  }
  const timeline: TimelineEntry[] = [
    { t: 3, kind: 'load-start', detail: 'client: http short-lived 8 connection(s)' },
    { t: 10_000, kind: 'chaos-start', detail: 'rollout-restart' },
    ...fresh.flatMap((pod, i) => [
      { t: 10_212 + i * 270, kind: 'endpoint-ready', detail: `${pod} ready in the EndpointSlices` },
      { t: 10_236 + i * 270, kind: 'endpoint-removed', detail: `${old[i]} left the EndpointSlices` },
    ]),
    { t: 10_940, kind: 'chaos-end', detail: 'rollout-restart: 3 pods replaced' },
    { t: 30_021, kind: 'load-end', detail: `client (exit ${lossy ? 1 : 0})` },
  ];
  const totals = new Map<string, { requests: number; errors: number }>();
  for (const point of series) {
    const t = totals.get(point.pod) ?? { requests: 0, errors: 0 };
    totals.set(point.pod, { requests: t.requests + point.requests, errors: t.errors + point.errors });
  }
  const attributed = [...totals.values()].reduce((sum, t) => sum + t.requests, 0);
  const errors = [...totals.values()].reduce((sum, t) => sum + t.errors, 0);
  const pods: PodRow[] = [...totals].map(([name, t], i) => ({
    name,
    node: `lab-node-${(i % 3) + 1}`,
    ip: `198.18.${128 + (i % 3)}.${10 + i}`,
    requests: t.requests,
    connections: t.requests,
    share: t.requests / attributed,
    errors: t.errors,
    latencyMs: { p50: 1.9, p90: 3.2, p99: 8.4, max: 21 },
  }));
  return {
    proxyMode,
    variant,
    status: lossy === errors > 0 ? 'passed' : 'failed',
    durationMs: 34_500,
    pods,
    totals: { requests: attributed + errors, attributed, unattributed: 0, errors, dropped: 0, serverCounted: attributed },
    errors: { total: errors, byKind: errors ? { refused: errors } : {} },
    latencyMs: { p50: 1.9, p90: 3.2, p99: 8.4, max: 21 },
    load: { source: 'http', latencyMeasuredFrom: 'intended', coordinatedOmission: false, sent: attributed + errors },
    crossCheck: { rows: [], clientTotal: attributed, serverTotal: attributed, agree: true, differences: [] },
    timeline,
    series,
    checks: [
      lossy
        ? { name: 'rollout fails requests', expect: 'errors.total > 0', pass: errors > 0, value: errors, threshold: 0 }
        : { name: 'rollout is lossless', expect: 'errors.total == 0', pass: errors === 0, value: errors, threshold: 0 },
    ],
  };
}

function rolloutReport(): Report {
  return {
    schemaVersion: reportSchemaVersion,
    runId: 'rollout-prestop-2026-12-06T10-00-00-000Z',
    scenario: { name: 'rollout-prestop', description: 'A rollout restart under load fails requests while proxies still route to terminating pods; a preStop sleep makes it lossless.', file: 'scenarios/rollout-prestop.ts', sha256: 'b'.repeat(64) },
    startedAt: '2026-12-06T10:00:00.000Z',
    finishedAt: '2026-12-06T10:02:30.000Z',
    timeScale: 1,
    environment: { provider: 'lab', kubernetesVersion: 'v1.36.0', kernel: '6.18.0', harnessVersion: '0.1.0', host: 'ci-runner' },
    runs: ['iptables', 'nftables'].flatMap((mode) => [rolloutRun(mode, 'no-prestop'), rolloutRun(mode, 'prestop-sleep')]),
  };
}

interface Box { text: string; left: number; top: number; right: number; bottom: number }

/** Everything the assertions need, read from the live page in one pass. */
interface PageReading {
  rateCharts: {
    /** y pixel → value, from the gridlines' tick labels. */
    yTicks: { y: number; value: number }[];
    /** x pixel → seconds, from the axis tick labels. */
    xTicks: { x: number; seconds: number }[];
    pods: string[];
    errors: string | null;
    markerXs: number[];
    /** Marker label boxes in CSS pixels, as laid out. */
    labels: Box[];
    /** The run's timeline table: number and time cells per row. */
    timelineRows: string[][];
  }[];
  shareCharts: { ticks: { x: number; text: string }[]; bars: { x: number; width: number; label: string }[] }[];
  /** Characters of the rendered text that would need an emoji (or symbol) font. */
  pictographs: string[];
}

/** The little of the DOM readPage uses (the project compiles without the DOM library). */
interface DomElement {
  textContent: string | null;
  nextElementSibling: DomElement | null;
  getAttribute(name: string): string | null;
  querySelector(selector: string): DomElement | null;
  closest(selector: string): DomElement | null;
  querySelectorAll(selector: string): Iterable<DomElement>;
  getBoundingClientRect(): { left: number; top: number; right: number; bottom: number };
}

async function readPage(page: Page): Promise<PageReading> {
  return page.evaluate(() => {
    type Element = DomElement;
    const document = (globalThis as unknown as { document: { title: string; body: { innerText: string }; querySelectorAll(selector: string): Iterable<DomElement> } }).document;
    const num = (el: Element, name: string) => Number(el.getAttribute(name));
    const charts = [...document.querySelectorAll('svg.chart')];
    const rate = charts.filter((svg) => svg.querySelector('polyline.pod'));
    const share = charts.filter((svg) => svg.querySelector('g.bar'));
    const box = (el: Element) => {
      const r = el.getBoundingClientRect();
      return { text: el.textContent ?? '', left: r.left, top: r.top, right: r.right, bottom: r.bottom };
    };
    return {
      rateCharts: rate.map((svg) => ({
        yTicks: [...svg.querySelectorAll(':scope > line[stroke="#ddd"]')].map((line) => ({ y: num(line, 'y1'), value: Number((line.nextElementSibling as Element).textContent) })),
        xTicks: [...svg.querySelectorAll(':scope > text.tick')].filter((t) => / s$/.test(t.textContent ?? '')).map((t) => ({ x: num(t, 'x'), seconds: parseFloat(t.textContent ?? '') })),
        pods: [...svg.querySelectorAll('polyline.pod')].map((p) => p.getAttribute('points') ?? ''),
        errors: svg.querySelector('polyline.errors')?.getAttribute('points') ?? null,
        markerXs: [...svg.querySelectorAll('g.marker > line')].map((line) => num(line, 'x1')),
        labels: [...svg.querySelectorAll('[class^="marker"] text')].map(box),
        timelineRows: [...(svg.closest('section')?.querySelectorAll('table.timeline tbody tr') ?? [])].map((tr) => [...tr.querySelectorAll('td')].slice(0, 2).map((td) => td.textContent ?? '')),
      })),
      shareCharts: share.map((svg) => ({
        ticks: [...svg.querySelectorAll('text.tick')].map((t) => ({ x: num(t, 'x'), text: t.textContent ?? '' })),
        bars: [...svg.querySelectorAll('g.bar')].map((g) => ({ x: num(g.querySelector('rect')!, 'x'), width: num(g.querySelector('rect')!, 'width'), label: g.querySelector('text.value')?.textContent ?? '' })),
      })),
      pictographs: [...(document.body.innerText + document.title).matchAll(/\p{Extended_Pictographic}/gu)].map((m) => m[0]),
    };
  });
}

/** A linear map fitted through two known points (the first and last tick). */
function linear(points: { from: number; to: number }[]): (v: number) => number {
  const a = points[0]!;
  const b = points[points.length - 1]!;
  return (v) => a.to + ((v - a.from) * (b.to - a.to)) / (b.from - a.from);
}

const parsePoints = (points: string) => points.split(' ').map((p) => p.split(',').map(Number) as [number, number]);

const overlaps = (a: Box, b: Box) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;

describe('index.html in headless Chromium', () => {
  let browser: Browser;
  let dir: string;

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
    dir = await mkdtemp(join(tmpdir(), 'kth-report-browser-'));
    await mkdir(screenshotDir, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe.each([
    ['rollout-prestop', rolloutReport],
    ['proxy-mode-matrix', fixtureReport],
  ])('GIVEN the %s report written by writeReport', (name, build) => {
    let report: Report;
    let reading: PageReading;
    const consoleErrors: string[] = [];
    const requests: string[] = [];

    beforeAll(async () => {
      const written = await writeReport(join(dir, name), build());
      // The numbers to check against are report.json's, as a reader of the report would have them.
      report = JSON.parse(await readFile(written.reportJson, 'utf8')) as Report;
      const url = pathToFileURL(written.indexHtml).href;
      const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      page.on('console', (message) => {
        if (message.type() === 'error') consoleErrors.push(message.text());
      });
      page.on('pageerror', (error) => consoleErrors.push(String(error)));
      await page.route('**/*', async (route) => {
        const requested = route.request().url();
        if (requested === url) return route.continue();
        requests.push(requested);
        return route.abort();
      });
      await page.goto(url, { waitUntil: 'load' });
      reading = await readPage(page);
      const screenshot = join(screenshotDir, `${name}.png`);
      await page.screenshot({ path: screenshot, fullPage: true });
      // The densest part, at full size: the first run's rate chart with its markers.
      await page.locator('svg.chart:has(polyline.pod)').first().screenshot({ path: join(screenshotDir, `${name}-rate-chart.png`) });
      console.log(`screenshots of the ${name} report: ${screenshot}, ${name}-rate-chart.png`);
      await page.close();
    });

    it('THEN the page logs no console error and requests nothing but itself', () => {
      expect(consoleErrors).toEqual([]);
      expect(requests).toEqual([]);
    });

    it('THEN no text needs an emoji font (status and check marks read without one)', () => {
      expect(reading.pictographs).toEqual([]);
    });

    it('THEN every rate chart plots each pod and the errors at report.json\'s numbers, one point per second', () => {
      const runs = report.runs.filter((run) => run.series.length > 0);
      expect(reading.rateCharts).toHaveLength(runs.length);
      runs.forEach((run, i) => {
        const chart = reading.rateCharts[i]!;
        const expected = rateSeries(run);
        const value = linear(chart.yTicks.map((t) => ({ from: t.y, to: t.value })));
        const seconds = linear(chart.xTicks.map((t) => ({ from: t.x, to: t.seconds })));
        const step = chart.yTicks[1]!.value - chart.yTicks[0]!.value;
        const check = (points: string, rps: number[]) => {
          const xy = parsePoints(points);
          expect(xy).toHaveLength(expected.times.length);
          // Coordinates are rounded to 0.1 px: allow 1% of a gridline step in value, 20 ms in time.
          xy.forEach(([x, y], k) => {
            expect(Math.abs(seconds(x) * 1000 - (expected.times[k]! + 500))).toBeLessThan(20);
            expect(Math.abs(value(y) - rps[k]!)).toBeLessThan(step / 100);
          });
        };
        expect(chart.pods).toHaveLength(expected.pods.length);
        expected.pods.forEach((pod, k) => check(chart.pods[k]!, pod.rps));
        if (expected.errors.some((n) => n > 0)) check(chart.errors!, expected.errors);
        else expect(chart.errors).toBeNull();
        // One marker line per timeline entry, at its time.
        expect(chart.markerXs).toHaveLength(run.timeline.length);
        const markerTimes = chart.markerXs.map((x) => seconds(x) * 1000).sort((a, b) => a - b);
        const entryTimes = run.timeline.map((e) => e.t).sort((a, b) => a - b);
        markerTimes.forEach((t, k) => expect(Math.abs(t - entryTimes[k]!)).toBeLessThan(20));
      });
    });

    it('THEN every share chart draws each pod\'s share and request count from report.json', () => {
      const runs = report.runs.filter((run) => (run.pods ?? []).length > 0);
      expect(reading.shareCharts).toHaveLength(runs.length);
      runs.forEach((run, i) => {
        const chart = reading.shareCharts[i]!;
        // Axis ticks: 0%, half and the scale maximum, labelled in percent.
        const scale = linear(chart.ticks.map((t) => ({ from: t.x, to: parseFloat(t.text) / 100 })));
        expect(chart.bars).toHaveLength(run.pods!.length);
        run.pods!.forEach((pod, k) => {
          const bar = chart.bars[k]!;
          expect(Math.abs(scale(bar.x + bar.width) - pod.share)).toBeLessThan(0.002);
          expect(bar.label).toBe(`${(pod.share * 100).toFixed(1)}% · ${pod.requests} req`);
        });
      });
    });

    it('THEN no two timeline marker labels overlap on screen', () => {
      for (const chart of reading.rateCharts) {
        expect(chart.labels.length).toBeGreaterThan(0);
        const clashes = chart.labels.flatMap((a, i) => chart.labels.slice(i + 1).filter((b) => overlaps(a, b)).map((b) => `"${a.text}" × "${b.text}"`));
        expect(clashes).toEqual([]);
      }
    });

    it('THEN the marker labels number every timeline entry, and the table under the chart lists each number at its time', () => {
      const runs = report.runs.filter((run) => run.series.length > 0);
      runs.forEach((run, i) => {
        const chart = reading.rateCharts[i]!;
        // Labels are "n" or "first-last", in order, together covering 1..entries once each.
        const covered = chart.labels.flatMap((label) => {
          const [first, last = first] = label.text.split('-').map(Number);
          return Array.from({ length: last! - first! + 1 }, (_, k) => first! + k);
        });
        expect(covered).toEqual(run.timeline.map((_, k) => k + 1));
        const times = run.timeline.map((e) => e.t).sort((a, b) => a - b);
        expect(chart.timelineRows).toEqual(times.map((t, k) => [String(k + 1), `${(t / 1000).toFixed(1)} s`]));
      });
    });
  });
});
