/**
 * Distributed load (issue 10's goal): does a load with 3 generators deliver 3 × what one delivers,
 * within 5 % of its schedule, on a 3-node lab? The same persistent HTTP load (Go servers, 10
 * connections per generator, 15 s) at 250 … 2000 requests/s per generator, from 1 generator and
 * from 3 (one per node) — in one `kth run`, one lab, variants alternating. Delivered = requests
 * sent as each generator's own schedule counts them (a request it could not send for want of a free
 * connection is dropped, not delivered); the total a rate step sustained is the run's attributed
 * responses per second. Clock: each generator's own, over the load's duration.
 *
 * Run: `npx tsx bench/lab/generators.bench.ts`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../../harness/report/model.ts';

const goalFraction = 0.95;
const durationS = 15;
const out = mkdtempSync(join(tmpdir(), 'kth-bench-generators-'));
try {
  const run = spawnSync(process.execPath, ['harness/bin/kth.mjs', 'run', 'bench/lab/generators.scenario.ts', '--out', out], { stdio: ['ignore', 'inherit', 'inherit'] });
  const [dir] = readdirSync(out);
  if (!dir) throw new Error(`kth run wrote no report (exit ${run.status})`);
  const report = JSON.parse(readFileSync(join(out, dir, 'report.json'), 'utf8')) as Report;
  console.log('variant        scheduled/s  delivered/s  delivered/scheduled  attributed/s  errors  p99 ms  generators behind');
  const byRate = new Map<number, { one?: number; three?: number }>();
  for (const r of report.runs) {
    const [, generators, rate] = /^g(\d)-r(\d+)$/.exec(r.variant)!.map(Number) as [number, number, number];
    const rows = r.generators ?? [];
    const sent = rows.length > 0 ? rows.reduce((sum, row) => sum + row.sent, 0) : (r.loads?.load?.load.sent ?? 0);
    const scheduled = generators * rate;
    const delivered = sent / durationS;
    const entry = byRate.get(rate) ?? {};
    entry[generators === 1 ? 'one' : 'three'] = delivered;
    byRate.set(rate, entry);
    const behind = rows.filter((row) => row.status !== 'ok').length;
    console.log(`${r.variant.padEnd(14)} ${String(scheduled).padStart(11)}  ${delivered.toFixed(0).padStart(11)}  ${(delivered / scheduled).toFixed(3).padStart(19)}  ${((r.totals?.attributed ?? 0) / durationS).toFixed(0).padStart(12)}  ${String(r.errors?.total ?? '—').padStart(6)}  ${String(r.latencyMs?.p99 ?? '—').padStart(6)}  ${rows.length > 0 ? `${behind} of ${rows.length}` : '—'}`);
  }
  let saturated: number | undefined;
  for (const [rate, { one, three }] of byRate) {
    if (one === undefined || three === undefined) continue;
    const ok = three >= 3 * rate * goalFraction;
    if (!ok && saturated === undefined) saturated = rate;
    console.log(`rate ${rate}/s per generator: 3 generators delivered ${three.toFixed(0)}/s = ${(three / one).toFixed(2)}× one generator (${one.toFixed(0)}/s); goal ≥ ${goalFraction * 100}% of 3 × ${rate}: ${ok ? 'MET' : 'MISSED'}`);
  }
  console.log(saturated === undefined ? 'no rate step saturated the lab' : `saturates at ${saturated}/s per generator (${3 * saturated}/s offered in total)`);
  console.log('(one run, variants in sequence on one lab; rates from each generator\'s own schedule over the load\'s 15 s)');
} finally {
  rmSync(out, { recursive: true, force: true });
}
