/** One pod's count as the clients saw it and as the server counted it. */
export interface CrossCheckRow {
  pod: string;
  /** Responses the clients attributed to this pod; null when the clients never saw it. */
  client: number | null;
  /** What the pod's own counter says for the same span; null when its counter was not read. */
  server: number | null;
  /** server − client; null when either side is missing. Positive: the server answered requests the clients never got back (lost responses, other clients, probes counted). */
  difference: number | null;
}

export interface CrossCheckResult {
  rows: CrossCheckRow[];
  clientTotal: number;
  /** Sum of server counts; null when no server was read. */
  serverTotal: number | null;
  /** True only when every pod appears on both sides with equal counts. */
  agree: boolean;
  /** Every disagreement, in words, for the report (empty when they agree). */
  differences: string[];
  /**
   * Pods whose own count could not be known, and why (a server SIGKILLed before it could leave its
   * final counters, a node that went away): left out of both totals and of the verdict, named here.
   */
  missing?: { pod: string; client: number | null; reason: string }[];
}

/**
 * Client-side attributed counts vs each server's own counter. Nothing is absorbed: a pod missing on
 * either side, or any difference, is listed. Pods in `missing` (their count cannot be known, for
 * the reason given) are compared on neither side and listed apart.
 */
export function crossCheck(client: ReadonlyMap<string, number>, server: ReadonlyMap<string, number> | null, what = 'requests', missing: ReadonlyMap<string, string> = new Map()): CrossCheckResult {
  const pods = [...new Set([...client.keys(), ...(server?.keys() ?? [])])].filter((pod) => !missing.has(pod)).sort();
  const rows: CrossCheckRow[] = [];
  const differences: string[] = [];
  for (const pod of pods) {
    const s = server ? (server.get(pod) ?? null) : null;
    // A pod the clients never reached and whose own counter says 0 agrees with them: both saw none.
    const c = client.get(pod) ?? (s === 0 ? 0 : null);
    const difference = c !== null && s !== null ? s - c : null;
    rows.push({ pod, client: c, server: s, difference });
    if (!server) continue;
    if (c === null) differences.push(`${pod}: server counted ${s} ${what}, the clients attributed none to it`);
    else if (s === null) differences.push(`${pod}: clients attributed ${c} ${what}, but its server counter was not found`);
    else if (difference !== 0) differences.push(`${pod}: server counted ${s} ${what}, clients attributed ${c} (difference ${difference! > 0 ? '+' : ''}${difference})`);
  }
  const counted = (map: ReadonlyMap<string, number>) => [...map].filter(([pod]) => !missing.has(pod)).reduce((sum, [, n]) => sum + n, 0);
  const clientTotal = counted(client);
  const serverTotal = server ? counted(server) : null;
  const result: CrossCheckResult = { rows, clientTotal, serverTotal, agree: server !== null && differences.length === 0, differences };
  if (missing.size > 0) result.missing = [...missing].sort(([a], [b]) => a.localeCompare(b)).map(([pod, reason]) => ({ pod, client: client.get(pod) ?? null, reason }));
  return result;
}

/**
 * Whether a disagreement is what failed requests explain: a server counts a request when it
 * arrives, so an answer lost on the way back (a reset, a dropped packet, a client timeout) is one
 * more on the server's side and one error on the client's. Every difference must be of that kind
 * (server ≥ client, both known) and together no more than the run's failed requests; a response the
 * clients attributed that no server counted is never explained.
 */
export function explainedByErrors(check: CrossCheckResult, errors: number): boolean {
  if (check.agree) return true;
  let extra = 0;
  for (const row of check.rows) {
    if (row.difference === null || row.difference < 0) return false;
    extra += row.difference;
  }
  return check.serverTotal !== null && extra <= errors;
}
