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
}

/**
 * Client-side attributed counts vs each server's own counter. Nothing is absorbed: a pod missing on
 * either side, or any difference, is listed.
 */
export function crossCheck(client: ReadonlyMap<string, number>, server: ReadonlyMap<string, number> | null, what = 'requests'): CrossCheckResult {
  const pods = [...new Set([...client.keys(), ...(server?.keys() ?? [])])].sort();
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
  const clientTotal = [...client.values()].reduce((sum, n) => sum + n, 0);
  const serverTotal = server ? [...server.values()].reduce((sum, n) => sum + n, 0) : null;
  return { rows, clientTotal, serverTotal, agree: server !== null && differences.length === 0, differences };
}
