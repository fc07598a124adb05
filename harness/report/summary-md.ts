import { escapeMarkdown, markdownCode } from './escape.ts';
import { formatMaxMin, formatMs, formatNumber, formatOffset, formatShare, runLabel, statusText } from './format.ts';
import { markdownTable, unicodeBar } from './markdown-table.ts';
import { reportStatus, type Report, type RunReport } from './model.ts';
import { checkValue, chiSquareText, clusterText, comparison, kindText, generatorTable, crossCheckVerdict, dataplaneText, emulatedCaveat, fairShare, latencyBasis, ingressText, loadBalancerText, propagationText, rebalanceText, recommendationLines } from './view.ts';

/** Timeline entries listed per run; the rest are in index.html and report.json. */
const timelineLimit = 20;

/** summary.md: the report for people reading a CI log or a PR comment. Short, one section per run. */
export function renderSummaryMarkdown(report: Report): string {
  const env = report.environment;
  const lines = [
    `# ${escapeMarkdown(report.scenario.name)} — ${statusText(reportStatus(report))}`,
    '',
    ...(report.scenario.description ? [escapeMarkdown(report.scenario.description), ''] : []),
    `Run ${markdownCode(report.runId)} · ${escapeMarkdown(env.provider)} · Kubernetes ${escapeMarkdown(env.kubernetesVersion)} · kernel ${escapeMarkdown(env.kernel)} · kth ${escapeMarkdown(env.harnessVersion)}` +
      `${report.timeScale !== 1 ? ` · time scale ${report.timeScale}` : ''} · ${escapeMarkdown(report.startedAt)} → ${escapeMarkdown(report.finishedAt)}`,
    '',
    ...(env.guestKernels?.length ? [`**Guest kernels:** ${escapeMarkdown(env.guestKernels.join('; '))}. ${escapeMarkdown(emulatedCaveat)}`, ''] : []),
    ...(clusterText(report) ? [`**Cluster:** ${escapeMarkdown(clusterText(report)!)}`, ''] : []),
    ...(kindText(report) ? [`**kind:** ${escapeMarkdown(kindText(report)!)}`, ''] : []),
  ];
  const table = comparison(report);
  lines.push(markdownTable(table.head.map(escapeMarkdown), table.rows.map((row) => row.map(escapeMarkdown)), table.head.map((_, i) => (i === 0 ? 'l' : 'r'))), '');
  for (const run of report.runs) lines.push(...runSection(run), '');
  // A sweep ends with what it recommends (scenario `recommend`), after the evidence.
  const recommendations = recommendationLines(report);
  if (recommendations.length > 0) {
    lines.push('## Recommendation', '');
    for (const item of recommendations) lines.push(`**${escapeMarkdown(item.text)}**`, '', `${escapeMarkdown(item.basis)}`, '');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

function runSection(run: RunReport): string[] {
  const out = [`## ${escapeMarkdown(runLabel(run))} — ${statusText(run.status)}`, ''];
  if (run.reason) out.push(`> ${escapeMarkdown(run.reason)}`, '');
  const plane = dataplaneText(run);
  if (plane) out.push(`**Data plane:** ${escapeMarkdown(plane.summary)}${plane.features ? ` — kernel features: ${escapeMarkdown(plane.features)}` : ''}`, '');
  if (run.server) out.push(`**Server:** ${escapeMarkdown(run.server.implementation)} (${run.server.kind}, runtime ${run.server.runtime})`, '');
  if (run.pods && run.pods.length > 0) {
    const fair = fairShare(run);
    out.push(
      markdownTable(
        ['pod', 'node', 'requests', 'conns', 'errors', 'share', `bar (fair ${formatShare(fair)})`],
        run.pods.map((pod) => [markdownCode(pod.name), markdownCode(pod.node), String(pod.requests), String(pod.connections), String(pod.errors), formatShare(pod.share), unicodeBar(pod.share)]),
        ['l', 'l', 'r', 'r', 'r', 'r', 'l'],
      ),
      '',
    );
  }
  if (run.totals) {
    const t = run.totals;
    const verdict = crossCheckVerdict(run);
    out.push(
      `**Totals:** ${t.requests} requests, ${t.attributed} attributed, ${t.unattributed} unattributed, ${t.errors} errors, ${t.dropped} dropped; server-counted ${formatNumber(t.serverCounted)} — cross-check ${escapeMarkdown(verdict.text)}.`,
    );
    for (const difference of verdict.differences) out.push(`- ${escapeMarkdown(difference)}`);
    out.push('');
  }
  if (run.errors) {
    const kinds = Object.entries(run.errors.byKind).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
    out.push(`**Errors:** ${run.errors.total}${kinds.length ? ` — ${kinds.map(([kind, n]) => `${markdownCode(kind)} ${n}`).join(', ')}` : ''}`, '');
  }
  const generators = generatorTable(run);
  if (generators) {
    out.push('**Load generators** (each ran the whole load; their counts and latencies merge exactly above; started late: against the shared start time, by its own clock):', '', markdownTable(generators.head, generators.rows.map((row) => row.map(escapeMarkdown)), generators.head.map((_, i) => (i < 3 || i === generators.head.length - 1 ? 'l' : 'r'))), '');
  }
  if (run.latencyMs) {
    const l = run.latencyMs;
    out.push(`**Latency:** p50 ${formatMs(l.p50)} · p90 ${formatMs(l.p90)} · p99 ${formatMs(l.p99)} · max ${formatMs(l.max)}. ${escapeMarkdown(latencyBasis(run))}`, '');
  }
  if (run.metrics) {
    out.push(`**Fairness:** Jain ${formatNumber(run.metrics.jainIndex)} · max/min ${escapeMarkdown(formatMaxMin(run))} · χ² ${escapeMarkdown(chiSquareText(run))}`, '');
  }
  const rebalance = rebalanceText(run);
  if (rebalance) out.push(`**Rebalance:** ${escapeMarkdown(rebalance)}`, '');
  const propagation = propagationText(run);
  if (propagation) out.push(`**Endpoints:** ${escapeMarkdown(propagation)}`, '');
  const balancer = loadBalancerText(run);
  if (balancer) out.push(`**Load balancer:** ${escapeMarkdown(balancer)}`, '');
  const ingress = ingressText(run);
  if (ingress) out.push(`**Ingress:** ${escapeMarkdown(ingress)}`, '');
  if (run.metrics?.forwardedForPreservedRatio !== undefined) out.push(`**X-Forwarded-For:** ${(run.metrics.forwardedForPreservedRatio * 100).toFixed(1)}% of responses through the proxy named the client's own address first`, '');
  if (run.metrics?.crossNodeRatio != null) out.push(`**Cross-node hops:** ${(run.metrics.crossNodeRatio * 100).toFixed(1)}% of responses were forwarded by another node (seen as its masquerade address)`, '');
  if (run.checks.length > 0) {
    out.push(
      markdownTable(
        ['check', 'expect', 'value', 'threshold', 'result'],
        run.checks.map((check) => [
          escapeMarkdown(check.name),
          markdownCode(check.expect),
          escapeMarkdown(checkValue(check)),
          formatNumber(check.threshold),
          `${check.pass ? '✅ pass' : '❌ fail'}${check.note ? ` — ${escapeMarkdown(check.note)}` : ''}`,
        ]),
        ['l', 'l', 'r', 'r', 'l'],
      ),
      '',
    );
  }
  if (run.timeline.length > 0) {
    out.push('**Timeline:**');
    for (const entry of run.timeline.slice(0, timelineLimit)) out.push(`- ${formatOffset(entry.t)} ${markdownCode(entry.kind)} ${escapeMarkdown(entry.detail)}`);
    if (run.timeline.length > timelineLimit) out.push(`- … ${run.timeline.length - timelineLimit} more in index.html`);
  }
  return out;
}
