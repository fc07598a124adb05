import { escapeXml as esc } from './escape.ts';
import { formatOffset, formatShare } from './format.ts';
import type { RunReport } from './model.ts';
import { fairShare, numberedTimeline, rateSeries, seriesBucketMs } from './view.ts';

/**
 * The report's charts as inline SVG built from the data: no chart library, nothing fetched, so
 * index.html opens anywhere (CI artifact viewers, air-gapped hosts). Every mark carries a <title>
 * and lines differ by dash pattern as well as colour, so the charts read without colour.
 */

/** Okabe–Ito (colour-blind safe), without yellow (unreadable on white). */
export const palette = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#555555'];
/** 5 patterns against 7 colours (coprime): 35 pods before a style repeats. */
export const dashes = ['', '7 3', '2 3', '9 3 2 3', '1 3'];

export const seriesStyle = (i: number) => ({ color: palette[i % palette.length]!, dash: dashes[i % dashes.length]! });

const width = 720;
const r1 = (v: number) => Math.round(v * 10) / 10;

/** At most 8 px per character at 12 px sans-serif: enough to size label columns. */
const textWidth = (text: string) => text.length * 8;
const truncate = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

function svgOpen(id: string, height: number, title: string, desc: string): string {
  return (
    `<svg class="chart" viewBox="0 0 ${width} ${r1(height)}" width="${width}" height="${r1(height)}" role="img" aria-labelledby="${id}-title ${id}-desc">` +
    `<title id="${id}-title">${esc(title)}</title><desc id="${id}-desc">${esc(desc)}</desc>`
  );
}

/** An axis maximum at 1, 2 or 5 × 10^k above `value`, with its tick step. */
export function niceScale(value: number, ticks = 4): { max: number; step: number } {
  if (!(value > 0)) return { max: 1, step: 0.25 };
  const raw = value / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * magnitude >= raw) ?? 10) * magnitude;
  return { max: Math.ceil(value / step - 1e-9) * step, step };
}

/** Horizontal bars of per-pod shares, with the fair share marked. Null when the run has no pods. */
export function shareBarsSvg(run: RunReport, id: string): string | null {
  const pods = run.pods ?? [];
  if (pods.length === 0) return null;
  const fair = fairShare(run)!;
  const rowHeight = 22;
  const top = 20;
  const bottom = 22;
  const names = pods.map((pod) => truncate(pod.name, 40));
  const labelWidth = Math.min(320, Math.max(60, ...names.map(textWidth))) + 16;
  const valueWidth = 150;
  const area = width - labelWidth - valueWidth;
  // Scale to the largest share (not to 100%) so small differences between pods stay visible.
  const scaleMax = Math.min(1, Math.ceil(Math.max(fair, ...pods.map((p) => p.share)) * 1.1 * 20) / 20) || 1;
  const x = (share: number) => labelWidth + (share / scaleMax) * area;
  const height = top + pods.length * rowHeight + bottom;
  const parts = [svgOpen(id, height, `Share of requests per pod, ${run.proxyMode}/${run.variant}`, `${pods.length} pods; fair share ${formatShare(fair)}; bars scaled to ${formatShare(scaleMax)}.`)];
  pods.forEach((pod, i) => {
    const y = top + i * rowHeight;
    const barWidth = r1(x(pod.share) - labelWidth);
    const tip = `${pod.name}: ${formatShare(pod.share)} of requests (${pod.requests} requests, ${pod.connections} connections, ${pod.errors} errors)`;
    parts.push(
      `<g class="bar"><title>${esc(tip)}</title>` +
        `<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end">${esc(names[i])}</text>` +
        `<rect x="${labelWidth}" y="${y + 3}" width="${barWidth}" height="${rowHeight - 6}" fill="${palette[0]}" data-share="${pod.share}"/>` +
        `<text class="value" x="${r1(labelWidth + barWidth + 6)}" y="${y + 15}">${esc(`${formatShare(pod.share)} · ${pod.requests} req`)}</text></g>`,
    );
  });
  const fx = r1(x(fair));
  const axisY = top + pods.length * rowHeight;
  parts.push(
    `<g class="fair"><title>${esc(`fair share ${formatShare(fair)} (1/${pods.length} pods)`)}</title>` +
      `<line x1="${fx}" y1="${top - 4}" x2="${fx}" y2="${axisY}" stroke="#000" stroke-width="1.5" stroke-dasharray="5 3"/>` +
      `<text x="${fx}" y="${top - 7}" text-anchor="middle">${esc(`fair ${formatShare(fair)}`)}</text></g>`,
    `<line x1="${labelWidth}" y1="${axisY}" x2="${labelWidth + area}" y2="${axisY}" stroke="#999"/>`,
  );
  for (const tick of [0, scaleMax / 2, scaleMax]) {
    parts.push(`<text class="tick" x="${r1(x(tick))}" y="${axisY + 15}" text-anchor="middle">${esc(formatShare(tick))}</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

/**
 * Requests per second per pod over the run (one line per pod, errors as a dotted black line), with
 * every timeline entry as a vertical marker. Markers are labelled with their number in the
 * Timeline table, not with text: a rollout puts chaos and several endpoint changes within one
 * second, and text labels there print on top of each other. Null when the run recorded no series.
 */
export function rateChartSvg(run: RunReport, id: string): string | null {
  const series = rateSeries(run);
  if (series.times.length === 0) return null;
  const margin = { left: 52, right: 16, top: 50, bottom: 34 };
  const height = 300;
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const markerTimes = run.timeline.map((entry) => entry.t);
  const t0 = Math.min(0, series.times[0]!, ...markerTimes);
  // The axis spans the load clock (series and timeline), not durationMs, which also counts deploy and settle.
  const t1 = Math.max(series.times.at(-1)! + seriesBucketMs, ...markerTimes);
  const hasErrors = series.errors.some((n) => n > 0);
  const peak = Math.max(...series.pods.flatMap((pod) => pod.rps), ...(hasErrors ? series.errors : [0]));
  const yScale = niceScale(peak);
  const xScale = niceScale((t1 - t0) / 1000, 8);
  const x = (ms: number) => r1(margin.left + ((ms - t0) / (t1 - t0)) * plotWidth);
  const y = (rps: number) => r1(margin.top + plotHeight - (rps / yScale.max) * plotHeight);
  // A bucket covers [t, t + 1 s): plot it at its middle so it lines up with markers in that second.
  const mid = (t: number) => t + seriesBucketMs / 2;
  const bottomY = margin.top + plotHeight;

  const parts = [
    svgOpen(
      id,
      height,
      `Requests per second per pod, ${run.proxyMode}/${run.variant}`,
      `${series.pods.length} pods over ${formatOffset(t1 - t0)}; peak ${Math.round(peak)} requests/s; ${run.timeline.length} timeline markers.`,
    ),
  ];
  for (let v = 0; v <= yScale.max + 1e-9; v += yScale.step) {
    parts.push(
      `<line x1="${margin.left}" y1="${y(v)}" x2="${margin.left + plotWidth}" y2="${y(v)}" stroke="#ddd"/>` +
        `<text class="tick" x="${margin.left - 6}" y="${y(v) + 4}" text-anchor="end">${esc(String(Number(v.toPrecision(6))))}</text>`,
    );
  }
  for (let s = Math.ceil(t0 / 1000 / xScale.step) * xScale.step; s * 1000 <= t1 + 1e-6; s += xScale.step) {
    parts.push(`<text class="tick" x="${x(s * 1000)}" y="${bottomY + 16}" text-anchor="middle">${esc(`${Number(s.toPrecision(6))} s`)}</text>`);
  }
  parts.push(
    `<line x1="${margin.left}" y1="${bottomY}" x2="${margin.left + plotWidth}" y2="${bottomY}" stroke="#999"/>`,
    `<text class="tick" x="${margin.left}" y="${margin.top - 38}">requests/s</text>`,
  );
  series.pods.forEach((pod, i) => {
    const style = seriesStyle(i);
    const points = pod.rps.map((v, k) => `${x(mid(series.times[k]!))},${y(v)}`).join(' ');
    parts.push(
      `<polyline class="pod" fill="none" stroke="${style.color}" stroke-width="2"${style.dash ? ` stroke-dasharray="${style.dash}"` : ''} points="${points}">` +
        `<title>${esc(`${pod.name}: peak ${Math.max(...pod.rps)} requests/s`)}</title></polyline>`,
    );
  });
  if (hasErrors) {
    const points = series.errors.map((v, k) => `${x(mid(series.times[k]!))},${y(v)}`).join(' ');
    parts.push(
      `<polyline class="errors" fill="none" stroke="#000" stroke-width="2" stroke-dasharray="1 2" points="${points}">` +
        `<title>${esc(`errors (all pods): ${series.errors.reduce((a, b) => a + b, 0)} in total`)}</title></polyline>`,
    );
  }
  const markers = numberedTimeline(run).map((m) => ({ ...m, x: x(m.entry.t) }));
  for (const { n, entry, x: mx } of markers) {
    parts.push(
      `<g class="marker"><title>${esc(`#${n} ${formatOffset(entry.t)} ${entry.kind}: ${entry.detail}`)}</title>` +
        `<line x1="${mx}" y1="${margin.top - 6}" x2="${mx}" y2="${bottomY}" stroke="#B00020" stroke-width="1.5" stroke-dasharray="4 2"/></g>`,
    );
  }
  for (const badge of markerBadges(markers, { left: 2, right: width - 2 })) {
    const members = markers.slice(badge.first, badge.last + 1);
    const tip = members.map(({ n, entry }) => `#${n} ${formatOffset(entry.t)} ${entry.kind}: ${entry.detail}`).join('\n');
    parts.push(
      `<g class="marker-badge"><title>${esc(tip)}</title>` +
        `<rect x="${r1(badge.left)}" y="${margin.top - 20}" width="${badge.width}" height="14" rx="3" fill="#fff" stroke="#B00020"/>` +
        `<text x="${r1(badge.left + badge.width / 2)}" y="${margin.top - 9}" text-anchor="middle">${esc(badge.label)}</text></g>`,
    );
  }
  parts.push('</svg>');
  return parts.join('');
}

/**
 * Number badges above the markers, left to right, never overlapping: a marker whose badge would
 * touch the previous one joins it ("3-7"), so any density fits in one row. The full list is in the
 * Timeline table and in each badge's hover text.
 */
export function markerBadges(markers: readonly { n: number; x: number }[], bounds: { left: number; right: number }): { first: number; last: number; label: string; left: number; width: number }[] {
  const gap = 3;
  const badgeWidth = (label: string) => textWidth(label) + 6;
  const badges: { first: number; last: number; label: string; left: number; width: number }[] = [];
  const place = (first: number, last: number) => {
    const label = first === last ? String(markers[first]!.n) : `${markers[first]!.n}-${markers[last]!.n}`;
    const w = badgeWidth(label);
    const previous = badges.at(-1);
    const floor = previous ? previous.left + previous.width + gap : bounds.left;
    // Centred on its first marker, pushed right past the previous badge, kept inside the chart.
    const left = Math.min(Math.max(markers[first]!.x - w / 2, floor), bounds.right - w);
    return { first, last, label, left, width: w };
  };
  markers.forEach((marker, i) => {
    const current = badges.at(-1);
    const alone = badgeWidth(String(marker.n));
    if (current && marker.x - alone / 2 < current.left + current.width + gap) {
      badges.pop();
      badges.push(place(current.first, i));
    } else {
      badges.push(place(i, i));
    }
    // At the right edge a badge can be pushed back onto its neighbour: merge until they fit.
    while (badges.length > 1 && badges.at(-1)!.left < badges.at(-2)!.left + badges.at(-2)!.width + gap) {
      const last = badges.pop()!;
      const before = badges.pop()!;
      badges.push(place(before.first, last.last));
    }
  });
  return badges;
}

/** A small line sample for the HTML legend (decorative: the legend text names the series). */
export function legendSwatch(color: string, dash: string): string {
  return `<svg width="30" height="10" aria-hidden="true"><line x1="0" y1="5" x2="30" y2="5" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/></svg>`;
}
