// Polls the sample HTTP servers' own /metrics from inside a network namespace (started with
// `ip netns exec`) while a load runs, and prints the servers' own per-connection request counts as
// { pod: { connectionId: requests } }. kth_http_connection_requests covers open connections only,
// so it must be read during the run: the poller keeps the LAST snapshot in which exactly `want`
// connections carrying workload requests were open (the latest counts before the client closed
// them), and stops once they are gone. Bounded: at most `polls` scrapes, `intervalMs` apart;
// `complete: false` when no such snapshot was ever seen.
import { setTimeout as sleep } from 'node:timers/promises';
import { metricByLabel } from '../../../../harness/load/server-metrics.ts';

interface Input {
  /** pod name → /metrics URL */
  servers: Record<string, string>;
  want: number;
  polls: number;
  intervalMs: number;
}

type Snapshot = Record<string, Record<string, number>>;

const input = JSON.parse(process.argv[2] ?? '{}') as Input;
let lastComplete: Snapshot | undefined;
let last: Snapshot = {};
for (let i = 0; i < input.polls; i++) {
  if (i > 0) await sleep(input.intervalMs);
  const snapshot: Snapshot = {};
  await Promise.all(Object.entries(input.servers).map(async ([pod, url]) => {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    const perConnection = metricByLabel(await response.text(), 'kth_http_connection_requests', 'connection_id') ?? {};
    // Probe and scrape connections carry no workload requests: keep only connections the load used.
    snapshot[pod] = Object.fromEntries(Object.entries(perConnection).filter(([, n]) => n > 0));
  }));
  last = snapshot;
  const open = Object.values(snapshot).reduce((sum, connections) => sum + Object.keys(connections).length, 0);
  if (open === input.want) lastComplete = snapshot;
  else if (lastComplete) break;
}
process.stdout.write(`${JSON.stringify({ complete: lastComplete !== undefined, snapshot: lastComplete ?? last })}\n`);
