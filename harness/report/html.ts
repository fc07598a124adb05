import { escapeXml as esc } from './escape.ts';
import { formatMaxMin, formatMs, formatNumber, formatOffset, formatShare, runLabel } from './format.ts';
import { reportStatus, type Report, type RunReport, type RunStatus } from './model.ts';
import { legendSwatch, rateChartSvg, seriesStyle, shareBarsSvg } from './svg.ts';
import { checkValue, chiSquareText, clusterText, comparison, kindText, generatorTable, crossCheckVerdict, dataplaneText, emulatedCaveat, goawayText, latencyBasis, ingressText, loadBalancerText, numberedTimeline, propagationText, rateSeries, rebalanceText, recommendationLines } from './view.ts';

/**
 * index.html: one self-contained file (inline CSS and SVG, no script, nothing fetched), written as
 * well-formed XHTML-compatible markup so it can be checked with an XML parser. Every data string
 * goes through `esc`.
 */
export function renderHtml(report: Report): string {
  const status = reportStatus(report);
  const env = report.environment;
  const body = [
    `<header><h1>${esc(report.scenario.name)} ${statusBadge(status)}</h1>`,
    report.scenario.description ? `<p>${esc(report.scenario.description)}</p>` : '',
    '<dl class="meta">',
    meta('run', report.runId),
    meta('scenario file', `${report.scenario.file} (sha256 ${report.scenario.sha256.slice(0, 12)})`),
    meta('environment', `${env.provider} · Kubernetes ${env.kubernetesVersion} · kernel ${env.kernel} · kth ${env.harnessVersion} · ${env.host}`),
    ...(env.guestKernels?.length ? [meta('guest kernels', `${env.guestKernels.join('; ')}. ${emulatedCaveat}`)] : []),
    ...(clusterText(report) ? [meta('cluster', clusterText(report)!)] : []),
    ...(kindText(report) ? [meta('kind', kindText(report)!)] : []),
    meta('time', `${report.startedAt} → ${report.finishedAt}${report.timeScale !== 1 ? ` (time scale ${report.timeScale})` : ''}`),
    '</dl></header>',
    report.runs.length > 1 ? comparisonSection(report) : '',
    ...report.runs.map((run, i) => runSection(run, `run-${i + 1}`)),
    recommendationSection(report),
  ];
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8"/><meta name="viewport" content="width=device-width, initial-scale=1"/>',
    `<title>${esc(`${report.scenario.name} — ${status} — kth report`)}</title>`,
    `<style>${css}</style></head>`,
    `<body>${body.filter(Boolean).join('\n')}</body></html>`,
    '',
  ].join('\n');
}

/** A sweep ends with what it recommends, after the evidence; empty when the scenario asks for none. */
function recommendationSection(report: Report): string {
  const items = recommendationLines(report);
  if (items.length === 0) return '';
  return `<section id="recommendation"><h2>Recommendation</h2>${items.map((item) => `<p class="recommendation"><strong>${esc(item.text)}</strong></p><p class="basis">${esc(item.basis)}</p>`).join('')}</section>`;
}

const meta = (term: string, value: string) => `<dt>${esc(term)}</dt><dd>${esc(value)}</dd>`;

function table(head: string[], rows: string[][], className = ''): string {
  const cells = (row: string[], tag: string) => row.map((cell) => `<${tag}>${cell}</${tag}>`).join('');
  return `<table${className ? ` class="${className}"` : ''}><thead><tr>${cells(head, 'th')}</tr></thead><tbody>${rows.map((row) => `<tr>${cells(row, 'td')}</tr>`).join('')}</tbody></table>`;
}

function comparisonSection(report: Report): string {
  const { head, rows } = comparison(report);
  // The status row gets the same badges as the run headings, not format.ts's emoji.
  const escaped = rows.map((row) => row.map((cell, i) => (i === 0 ? `<strong>${esc(cell)}</strong>` : row[0] === 'status' ? statusBadge(report.runs[i - 1]!.status) : esc(cell))));
  return `<section id="comparison"><h2>Comparison of runs</h2>${table(head.map(esc), escaped, 'numbers')}</section>`;
}

function runSection(run: RunReport, id: string): string {
  const out = [`<section class="run" id="${id}"><h2>${esc(runLabel(run))} ${statusBadge(run.status)}</h2>`];
  if (run.reason) out.push(`<p class="reason">${esc(run.reason)}</p>`);
  out.push(`<p>Duration ${esc(formatOffset(run.durationMs))}.</p>`);

  const bars = shareBarsSvg(run, `${id}-shares`);
  if (bars) out.push('<h3>Share per pod</h3>', bars);

  const rates = rateChartSvg(run, `${id}-rate`);
  // The timeline table sits under the chart whose numbered markers it explains.
  if (rates) out.push('<h3>Requests per second per pod</h3>', rates, legend(run), rateTable(run), ...timelineTable(run));

  if (run.checks.length > 0) {
    out.push(
      '<h3>Checks</h3>',
      table(
        ['check', 'expect', 'value', 'threshold', 'result'].map(esc),
        run.checks.map((check) => [
          esc(check.name),
          `<code>${esc(check.expect)}</code>`,
          esc(checkValue(check)),
          esc(formatNumber(check.threshold)),
          `<span class="${check.pass ? 'pass' : 'fail'}">${mark(check.pass ? 'pass' : 'fail')} ${check.pass ? 'pass' : 'fail'}</span>${check.note ? ` ${esc(check.note)}` : ''}`,
        ]),
        'checks',
      ),
    );
  }
  if (run.pods && run.pods.length > 0) {
    out.push(
      '<h3>Pods</h3>',
      table(
        ['pod', 'node', 'ip', 'requests', 'connections', 'share', 'errors', 'p50', 'p99'].map(esc),
        run.pods.map((pod) =>
          [pod.name, pod.node, pod.ip, String(pod.requests), String(pod.connections), formatShare(pod.share), String(pod.errors), formatMs(pod.latencyMs?.p50), formatMs(pod.latencyMs?.p99)].map(esc),
        ),
        'numbers',
      ),
    );
  }
  if (run.metrics || run.totals) {
    const verdict = crossCheckVerdict(run);
    const items: string[] = [];
    const plane = dataplaneText(run);
    if (plane) items.push(meta('data plane', plane.summary), ...(plane.features ? [meta('kernel features', plane.features)] : []));
    if (run.server) items.push(meta('server', `${run.server.implementation} (${run.server.kind}, runtime ${run.server.runtime})`));
    if (run.metrics) {
      items.push(meta('Jain index', formatNumber(run.metrics.jainIndex)), meta('max/min', formatMaxMin(run)), meta('χ²', chiSquareText(run)));
      const rebalance = rebalanceText(run);
      if (rebalance) items.push(meta('rebalance', rebalance));
      const propagation = propagationText(run);
      if (propagation) items.push(meta('endpoints', propagation));
      items.push(meta('source IP preserved', formatShare(run.metrics.sourceIpPreservedRatio)));
      if (run.metrics.forwardedForPreservedRatio !== undefined) items.push(meta('client in X-Forwarded-For', formatShare(run.metrics.forwardedForPreservedRatio)));
      if (run.metrics.crossNodeRatio !== undefined) items.push(meta('cross-node hops', formatShare(run.metrics.crossNodeRatio)));
      const balancer = loadBalancerText(run);
      if (balancer) items.push(meta('load balancer', balancer));
      const ingress = ingressText(run);
      if (ingress) items.push(meta('Ingress', ingress));
      if (run.metrics.goaways !== undefined) items.push(meta('GOAWAYs received', `${goawayText(run)} (client side: each connection told to go away counts once; inferred = a grpc-js channel went idle without a failed call)`));
    }
    if (run.totals) {
      const t = run.totals;
      items.push(meta('requests', `${t.requests} (${t.attributed} attributed, ${t.unattributed} unattributed, ${t.dropped} dropped)`), meta('server-counted', formatNumber(t.serverCounted)));
      items.push(`<dt>cross-check</dt><dd${verdict.agree === false ? ' class="fail"' : ''}>${esc(verdict.text)}${verdict.differences.length ? `<ul>${verdict.differences.map((d) => `<li>${esc(d)}</li>`).join('')}</ul>` : ''}</dd>`);
    }
    out.push('<h3>Fairness and totals</h3>', `<dl class="meta">${items.join('')}</dl>`);
  }
  const generators = generatorTable(run);
  if (generators) {
    out.push('<h3>Load generators</h3><p>Each ran the whole load; their counts and latencies merge exactly into the figures above. Started late: against the shared start time, by the generator\'s own clock.</p>', table(generators.head.map(esc), generators.rows.map((row) => row.map(esc)), 'numbers'));
  }
  if (run.errors) {
    const kinds = Object.entries(run.errors.byKind).sort((a, b) => b[1] - a[1]);
    out.push(`<h3>Errors by kind</h3><p>${esc(`${run.errors.total} errors in total.`)}</p>`);
    if (kinds.length > 0) out.push(table(['kind', 'count'], kinds.map(([kind, n]) => [esc(kind), esc(String(n))]), 'numbers'));
  }
  if (run.latencyMs) {
    const l = run.latencyMs;
    out.push('<h3>Latency</h3>', table(['p50', 'p90', 'p99', 'max'], [[l.p50, l.p90, l.p99, l.max].map((v) => esc(formatMs(v)))], 'numbers'), `<p>${esc(latencyBasis(run))}</p>`);
  }
  if (!rates) out.push(...timelineTable(run));
  out.push('</section>');
  return out.join('\n');
}

/** The chart's legend as text next to a line sample: pod names are readable and searchable here. */
function legend(run: RunReport): string {
  const series = rateSeries(run);
  const items = series.pods.map((pod, i) => {
    const style = seriesStyle(i);
    return `<li>${legendSwatch(style.color, style.dash)} ${esc(pod.name)}</li>`;
  });
  if (series.errors.some((n) => n > 0)) items.push(`<li>${legendSwatch('#000', '1 2')} errors (all pods)</li>`);
  if (run.timeline.length > 0) items.push(`<li>${legendSwatch('#B00020', '4 2')} timeline marker, numbered as in the timeline below</li>`);
  return `<ul class="legend">${items.join('')}</ul>`;
}

/** The chart's numbers as a table, folded away: for screen readers and for reading exact values. */
function rateTable(run: RunReport): string {
  const series = rateSeries(run);
  const rows = series.times.map((t, k) => [esc(formatOffset(t)), ...series.pods.map((pod) => esc(String(pod.rps[k]))), esc(String(series.errors[k]))]);
  return `<details><summary>Data: requests per second per pod</summary>${table(['t', ...series.pods.map((pod) => esc(pod.name)), 'errors'], rows, 'numbers')}</details>`;
}

/** The chart's markers carry these numbers; empty when the run has no timeline. */
function timelineTable(run: RunReport): string[] {
  const entries = numberedTimeline(run);
  if (entries.length === 0) return [];
  return ['<h3>Timeline</h3>', table(['#', 't', 'kind', 'detail'], entries.map(({ n, entry }) => [esc(String(n)), esc(formatOffset(entry.t)), esc(entry.kind), esc(entry.detail)]), 'timeline')];
}

/**
 * Status as a word in a coloured badge with a drawn mark: emoji (✅ ❌) need an emoji font, and
 * hosts without one (CI runners, minimal desktops) show empty boxes.
 */
export function statusBadge(status: RunStatus): string {
  return `<span class="status ${status}">${mark(status === 'passed' ? 'pass' : status === 'unsupported' ? 'skip' : 'fail')} ${esc(status)}</span>`;
}

/** A tick, cross or skip sign as inline SVG in the text colour: no font needed. Decorative, the word beside it says the same. */
function mark(kind: 'pass' | 'fail' | 'skip'): string {
  const paths = { pass: 'M2 6.5 4.8 9.2 10 3', fail: 'M3 3 9 9M9 3 3 9', skip: 'M2 3 6 6 2 9M6 3 10 6 6 9' };
  return `<svg class="mark" width="12" height="12" viewBox="0 0 12 12" aria-hidden="true"><path d="${paths[kind]}" fill="none" stroke="currentColor" stroke-width="2"/></svg>`;
}

const css = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1000px;padding:1rem 1.5rem;color:#1a1a1a}
h1{font-size:1.5rem}h2{margin-top:2.2rem;border-bottom:1px solid #ccc}h3{font-size:1.05rem;margin-top:1.4rem}
table{border-collapse:collapse;margin:.4rem 0}th,td{border:1px solid #ddd;padding:.2rem .55rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}table.numbers td{text-align:right}table.numbers td:first-child{text-align:left}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem}dl.meta dt{font-weight:600}dl.meta dd{margin:0}
.status{font-size:.8em;padding:.05rem .45rem;border-radius:.3rem;border:1px solid currentColor}
.passed,.pass{color:#0a6b2d}.failed,.error,.fail{color:#b00020;font-weight:600}.unsupported{color:#666}
table.checks td:last-child{white-space:nowrap}
.reason{border-left:4px solid #b00020;padding-left:.6rem}
p.recommendation{border-left:4px solid #555;padding-left:.6rem}p.basis{color:#444}
svg.chart{max-width:100%;height:auto;font-size:12px;font-family:inherit}svg text{fill:#1a1a1a}svg .tick{fill:#555}svg .value{paint-order:stroke;stroke:#fff;stroke-width:3px}svg .marker-badge text{fill:#B00020;font-size:11px}
svg.mark{vertical-align:-1px}.status svg.mark{width:.75em;height:.75em;margin-right:.1rem}table.timeline td:first-child{text-align:right}
ul.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.3rem 1.2rem}ul.legend svg{vertical-align:middle}
code{font-size:.92em}details{margin:.4rem 0}
`.trim();
