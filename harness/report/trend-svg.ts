import { escapeXml as esc } from './escape.ts';
import { niceScale, seriesStyle } from './svg.ts';

/**
 * A line chart over a sequence of reports (one x position per report, evenly spaced: nights are
 * what is compared, not wall-clock gaps between them), in the same style as the run charts of
 * svg.ts: its palette and dash patterns, a <title> on every mark, no script.
 */

export interface TrendLine {
  name: string;
  /** One value per x position; null where the report has no value (the line breaks there). */
  values: readonly (number | null)[];
  /** A reference line (e.g. the fair share): drawn thin and black, after the data lines. */
  reference?: boolean;
}

export interface TrendChartOptions {
  id: string;
  title: string;
  /** Labels of the x positions (report number and date), one per value. */
  labels: readonly string[];
  lines: readonly TrendLine[];
  /** How a value reads in tooltips and on the y axis. */
  format: (value: number) => string;
  /** x positions to shade as failed (the run failed or errored in that report). */
  failed?: readonly number[];
}

const width = 720;
const height = 260;
const margin = { left: 60, right: 16, top: 24, bottom: 40 };
const r1 = (v: number) => Math.round(v * 10) / 10;

/** Null when no line has a value. */
export function trendChartSvg(options: TrendChartOptions): string | null {
  const { id, labels, lines, format } = options;
  const present = lines.flatMap((line) => line.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  if (present.length === 0 || labels.length === 0) return null;
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  // Each report owns an equal band and sits at its middle: end labels stay inside the chart and a
  // failed report's shading covers exactly its band.
  const band = plotWidth / labels.length;
  const x = (i: number) => r1(margin.left + (i + 0.5) * band);
  const yScale = niceScale(Math.max(...present));
  const y = (v: number) => r1(margin.top + plotHeight - (Math.max(0, v) / yScale.max) * plotHeight);
  const bottomY = margin.top + plotHeight;
  const desc = `${labels.length} reports, oldest first; ${lines.map((l) => l.name).join(', ')}.`;
  const parts = [
    `<svg class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-labelledby="${id}-title ${id}-desc">` +
      `<title id="${id}-title">${esc(options.title)}</title><desc id="${id}-desc">${esc(desc)}</desc>`,
  ];
  for (const i of options.failed ?? []) {
    parts.push(`<rect class="failed-report" x="${r1(x(i) - band / 2)}" y="${margin.top}" width="${r1(band)}" height="${plotHeight}" fill="#B00020" fill-opacity="0.08"><title>${esc(`${labels[i]}: run failed`)}</title></rect>`);
  }
  for (let v = 0; v <= yScale.max + 1e-9; v += yScale.step) {
    parts.push(
      `<line x1="${margin.left}" y1="${y(v)}" x2="${margin.left + plotWidth}" y2="${y(v)}" stroke="#ddd"/>` +
        `<text class="tick" x="${margin.left - 6}" y="${y(v) + 4}" text-anchor="end">${esc(format(Number(v.toPrecision(6))))}</text>`,
    );
  }
  parts.push(`<line x1="${margin.left}" y1="${bottomY}" x2="${margin.left + plotWidth}" y2="${bottomY}" stroke="#999"/>`);
  // At most ~12 x labels: every k-th report, always the last.
  const every = Math.max(1, Math.ceil(labels.length / 12));
  labels.forEach((label, i) => {
    if (i % every !== 0 && i !== labels.length - 1) return;
    parts.push(`<text class="tick" x="${x(i)}" y="${bottomY + 16}" text-anchor="middle">${esc(label)}</text>`);
  });
  let dataIndex = 0;
  for (const line of lines) {
    const style = line.reference ? { color: '#000', dash: '5 3' } : seriesStyle(dataIndex++);
    const stroke = `stroke="${style.color}" stroke-width="${line.reference ? 1.5 : 2}"${style.dash ? ` stroke-dasharray="${style.dash}"` : ''}`;
    // A missing value breaks the line rather than bridging two reports that are not neighbours in the data.
    for (const segment of segments(line.values)) {
      if (segment.length > 1) parts.push(`<polyline fill="none" ${stroke} points="${segment.map((i) => `${x(i)},${y(line.values[i]!)}`).join(' ')}"><title>${esc(line.name)}</title></polyline>`);
    }
    if (line.reference) continue;
    line.values.forEach((value, i) => {
      if (value === null || !Number.isFinite(value)) return;
      parts.push(`<circle cx="${x(i)}" cy="${y(value)}" r="3" fill="${style.color}"><title>${esc(`${labels[i]} · ${line.name}: ${format(value)}`)}</title></circle>`);
    });
  }
  parts.push('</svg>');
  return parts.join('');
}

/** Runs of consecutive indices with a finite value. */
function segments(values: readonly (number | null)[]): number[][] {
  const out: number[][] = [];
  let current: number[] = [];
  values.forEach((value, i) => {
    if (value !== null && Number.isFinite(value)) current.push(i);
    else if (current.length > 0) {
      out.push(current);
      current = [];
    }
  });
  if (current.length > 0) out.push(current);
  return out;
}
