import { emptyRow, fairnessOf, type PodRow, type RunSummary } from '../analysis/run-summary.ts';

/**
 * The run-level view of several loads' summaries. One load that saw every expected pod: its
 * summary as it is. Otherwise per-pod counts are summed, pods that got nothing are added with 0
 * (an idle pod is the finding, not a gap), and fairness is recomputed. Latency percentiles cannot
 * be merged from percentiles: with several loads they are null at run level (each load keeps its
 * own under `loads`).
 */
export function mergeRuns(summaries: readonly RunSummary[], expectedPods: readonly string[] = []): RunSummary | undefined {
  if (summaries.length === 0) return undefined;
  const only = summaries.length === 1 ? summaries[0]! : undefined;
  if (only && expectedPods.every((pod) => only.pods.some((row) => row.name === pod))) return structuredClone(only);
  const pods = new Map<string, PodRow>();
  const byKind: Record<string, number> = {};
  const totals = { requests: 0, attributed: 0, unattributed: 0, errors: 0, dropped: 0, serverCounted: only ? only.totals.serverCounted : (null as number | null) };
  let sent = 0;
  let checked = 0;
  let preserved = 0;
  let hopChecked = 0;
  let hops = 0;
  let forwardedChecked = 0;
  let forwarded = 0;
  for (const summary of summaries) {
    if (summary.metrics.crossNodeRatio != null) {
      hopChecked += summary.totals.attributed;
      hops += summary.metrics.crossNodeRatio * summary.totals.attributed;
    }
    if (summary.metrics.forwardedForPreservedRatio != null) {
      forwardedChecked += summary.totals.attributed;
      forwarded += summary.metrics.forwardedForPreservedRatio * summary.totals.attributed;
    }
    for (const key of ['requests', 'attributed', 'unattributed', 'errors', 'dropped'] as const) totals[key] += summary.totals[key];
    for (const [kind, count] of Object.entries(summary.errors.byKind)) byKind[kind] = (byKind[kind] ?? 0) + count;
    sent += summary.load.sent;
    if (summary.metrics.sourceIpPreservedRatio !== null) {
      // Weighted by requests: the ratio of the whole run, not an average of ratios.
      checked += summary.totals.attributed;
      preserved += summary.metrics.sourceIpPreservedRatio * summary.totals.attributed;
    }
    for (const row of summary.pods) {
      const merged = pods.get(row.name) ?? emptyRow(row.name, row.node, row.ip);
      merged.requests += row.requests;
      merged.connections += row.connections;
      merged.errors += row.errors;
      if (row.crossNode !== undefined) merged.crossNode = (merged.crossNode ?? 0) + row.crossNode;
      pods.set(row.name, merged);
    }
  }
  for (const pod of expectedPods) if (!pods.has(pod)) pods.set(pod, emptyRow(pod));
  if (only) for (const row of only.pods) pods.get(row.name)!.latencyMs = row.latencyMs;
  const rows = [...pods.values()].sort((a, b) => a.name.localeCompare(b.name));
  const first = summaries[0]!;
  return {
    pods: rows,
    totals,
    errors: { total: totals.errors, byKind },
    latencyMs: only ? only.latencyMs : emptyRow('').latencyMs,
    metrics: {
      ...fairnessOf(rows, totals.attributed, first.metrics.chiSquare.unit),
      sourceIpPreservedRatio: checked === 0 ? null : preserved / checked,
      ...(forwardedChecked > 0 ? { forwardedForPreservedRatio: forwarded / forwardedChecked } : {}),
      ...(hopChecked > 0 ? { crossNodeRatio: hops / hopChecked } : {}),
    },
    load: { ...first.load, sent, source: summaries.map((summary) => summary.load.source).join('+') },
    // A single load's cross-check stands (pods it never reached are 0 on both sides).
    ...(only?.crossCheck ? { crossCheck: only.crossCheck } : {}),
  };
}
