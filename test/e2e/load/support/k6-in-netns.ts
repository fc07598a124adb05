// Runs the real k6 binary through the harness's own runK6 (scenarios/k6/http-shares.ts, folded into
// a Recorder) in whatever network namespace this process was started in — the e2e test starts it
// with `ip netns exec <client pod netns> node --import tsx …` — and reads the servers' own counters
// before and after, so k6's attribution is cross-checked exactly like `kth load --server-metrics`.
// Prints one JSON object: { exitCode, counts, sent, run } (run: the RunSummary shape).
import { summarizeRun } from '../../../../harness/analysis/run-summary.ts';
import { runK6 } from '../../../../harness/k6/runner.ts';
import { counterDelta, parseMetricsEndpoints, scrapeServer } from '../../../../harness/load/server-metrics.ts';
import { Recorder } from '../../../../harness/recorder/recorder.ts';

export interface K6InNetnsInput {
  target: string;
  rate: number;
  durationMs: number;
  vus: number;
  /** `pod=URL,…` as for --server-metrics. */
  serverMetrics: string;
  expectPods: string[];
}

const input = JSON.parse(process.argv[2] ?? '{}') as K6InNetnsInput;
const endpoints = parseMetricsEndpoints(input.serverMetrics);
const before = await Promise.all(endpoints.map((endpoint) => scrapeServer(endpoint)));
const recorder = new Recorder({ latenessMs: 5000 });
const result = await runK6({ target: input.target, rate: input.rate, durationMs: input.durationMs, vus: input.vus, noConnectionReuse: true, requestTimeoutMs: 10_000, recorder });
recorder.close();
const after = await Promise.all(endpoints.map((endpoint) => scrapeServer(endpoint)));
const run = summarizeRun([result.totals], { unit: 'connections', expectedPods: input.expectPods, serverCounts: counterDelta(before, after) });
process.stdout.write(`${JSON.stringify({ exitCode: result.exitCode, counts: result.counts, sent: result.totals.sent, run })}\n`);
