/**
 * Does the lab tell the same story as kind? One scenario (default keepalive-imbalance) in one proxy
 * mode on both providers, in the same run on the same machine; per variant the pods' shares
 * (sorted: pod names differ between clusters), a χ² test of homogeneity between the two
 * platforms' sorted counts (p > 0.05: no evidence they differ beyond sampling noise), and whether
 * the scenario's checks gave the same verdicts. The proxy balances connections, so where requests
 * share connections (persistent, pooled) the sampling unit is the connection — the requests on one
 * connection are not independent draws — and the χ² line says how many connections it rests on.
 *
 * Run: `npx tsx bench/kind/lab-vs-kind.bench.ts [--scenario F] [--proxy-mode M] [--time-scale S]` (root),
 * or compare two reports already made: `--reports <lab report.json> <kind report.json>`.
 */
import { readFile } from 'node:fs/promises';
import { chiSquareSurvival } from '../../harness/analysis/fairness.ts';
import { runScenario } from '../../harness/engine/run.ts';
import type { RunReport } from '../../harness/report/model.ts';

const arg = (name: string, fallback: string) => (process.argv.includes(name) ? (process.argv[process.argv.indexOf(name) + 1] as string) : fallback);
const file = arg('--scenario', 'scenarios/keepalive-imbalance.ts');
const proxyMode = arg('--proxy-mode', 'iptables') as 'iptables';
const timeScale = Number(arg('--time-scale', '1'));

const reports = {} as Record<'lab' | 'kind', RunReport[]>;
const given = process.argv.indexOf('--reports');
if (given >= 0) {
  for (const [i, provider] of (['lab', 'kind'] as const).entries()) reports[provider] = (JSON.parse(await readFile(process.argv[given + 1 + i] as string, 'utf8')) as { runs: RunReport[] }).runs;
}
for (const provider of given >= 0 ? [] : (['lab', 'kind'] as const)) {
  const started = performance.now();
  const { report } = await runScenario({ file, provider, proxyModes: [proxyMode], outDir: `/tmp/kth-lab-vs-kind/${provider}`, timeScale, retain: false, log: () => undefined });
  reports[provider] = report.runs;
  console.log(`${provider}: ${report.runs.map((r) => `${r.variant} ${r.status}`).join(', ')} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
}

/** χ² homogeneity of two count vectors (a 2×k table): statistic, degrees of freedom, p. */
function homogeneity(a: number[], b: number[]): { statistic: number; df: number; p: number } {
  const columns = a.map((_, i) => (a[i] ?? 0) + (b[i] ?? 0)).map((total, i) => ({ total, i })).filter((c) => c.total > 0);
  const rows = [a, b].map((row) => row.reduce((s, v) => s + v, 0));
  const n = rows[0]! + rows[1]!;
  let statistic = 0;
  for (const [r, row] of [a, b].entries()) {
    for (const { total, i } of columns) {
      const expected = (rows[r]! * total) / n;
      statistic += ((row[i] ?? 0) - expected) ** 2 / expected;
    }
  }
  const df = columns.length - 1;
  return { statistic, df, p: df > 0 ? chiSquareSurvival(statistic, df) : 1 };
}

const sorted = (run: RunReport, unit: 'requests' | 'connections') => (run.pods ?? []).map((pod) => pod[unit]).sort((x, y) => y - x);
const pct = (counts: number[]) => { const total = counts.reduce((s, v) => s + v, 0); return counts.map((v) => `${((100 * v) / (total || 1)).toFixed(1)}%`).join(' / '); };
for (const lab of reports.lab) {
  const kind = reports.kind.find((r) => r.variant === lab.variant);
  if (!kind || !lab.pods || !kind.pods) continue;
  const total = (run: RunReport, unit: 'requests' | 'connections') => sorted(run, unit).reduce((s, v) => s + v, 0);
  const unit = total(lab, 'connections') < total(lab, 'requests') ? 'connections' : 'requests';
  const test = homogeneity(sorted(lab, unit), sorted(kind, unit));
  const verdicts = (run: RunReport) => run.checks.map((c) => `${c.name}: ${c.pass ? 'pass' : 'FAIL'}`).join(', ');
  console.log(`\n${lab.variant}`);
  console.log(`  lab  requests ${pct(sorted(lab, 'requests'))}   (${sorted(lab, 'requests').reduce((s, v) => s + v, 0)} requests, ${sorted(lab, 'connections').reduce((s, v) => s + v, 0)} connections)`);
  console.log(`  kind requests ${pct(sorted(kind, 'requests'))}   (${sorted(kind, 'requests').reduce((s, v) => s + v, 0)} requests, ${sorted(kind, 'connections').reduce((s, v) => s + v, 0)} connections)`);
  console.log(`  χ² homogeneity of sorted ${unit}: ${test.statistic.toFixed(2)}, df ${test.df}, p = ${test.p.toFixed(3)} → ${test.p > 0.05 ? 'agree within sampling noise' : 'DIFFER'}`);
  console.log(`  checks: lab [${verdicts(lab)}] · kind [${verdicts(kind)}] → ${verdicts(lab) === verdicts(kind) ? 'same verdicts' : 'DIFFERENT verdicts'}`);
}
