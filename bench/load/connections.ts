/**
 * Memory benchmark: the built-in HTTP driver holding many persistent connections, and (optionally)
 * a soak to see whether its memory stays flat.
 *
 *   npx tsx bench/load/connections.ts [--connections 10000] [--seconds 30] [--rate 10000]
 *   npx tsx bench/load/connections.ts --connections 1000 --seconds 1800 --rate 2000   # 30-minute soak
 *   npx tsx bench/load/connections.ts --client undici   # the same driver on undici's Client, to compare
 *
 * Target: Debian's nginx (apt-get install -y nginx-light) with a config of its own in a temp dir
 * (fixed response with x-kth-pod), stopped by pid. The driver runs as `kth load http` in a child
 * process whose VmRSS is sampled every second from /proc. Goals (issue 5): 10 000 connections held
 * with RSS ≤ 200 MiB; over a 30-minute soak RSS grows ≤ 10 % (from the end of warm-up, a quarter
 * into the run, to the end). Prints what it measured; asserts nothing.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../../harness/core/paths.ts';

const { values } = parseArgs({ options: { connections: { type: 'string', default: '10000' }, seconds: { type: 'string', default: '30' }, rate: { type: 'string' }, client: { type: 'string', default: 'lean' } } });
const connections = Number(values.connections);
const seconds = Number(values.seconds);
const rate = Number(values.rate ?? connections);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

function rssMiB(pid: number): number | undefined {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'kth-bench-conns-'));
const port = await freePort();
writeFileSync(
  join(dir, 'nginx.conf'),
  `worker_processes 1;
worker_rlimit_nofile ${connections * 2 + 1000};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections ${connections * 2 + 1000}; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 600s;
  client_body_temp_path ${dir}/tmp; proxy_temp_path ${dir}/tmp; fastcgi_temp_path ${dir}/tmp; uwsgi_temp_path ${dir}/tmp; scgi_temp_path ${dir}/tmp;
  server {
    listen 127.0.0.1:${port} backlog=${connections};
    location / { add_header x-kth-pod nginx-0 always; add_header x-kth-connection-id nginx-0/$connection always; add_header x-kth-sequence $connection_requests always; return 200 "ok\\n"; }
  }
}
`,
);
const nginx = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'ignore' });
await new Promise((resolve) => setTimeout(resolve, 500));

// `kth load` (the lean client) or, with --client undici, bench/load/run-http.ts on undici's Client.
const driverArgs =
  values.client === 'undici'
    ? ['--import', 'tsx', 'bench/load/run-http.ts', '--target', `http://127.0.0.1:${port}/`, '--model', 'persistent', '--connections', String(connections), '--rate', String(rate), '--seconds', String(seconds), '--client', 'undici']
    : ['harness/bin/kth.mjs', 'load', 'http', '--target', `http://127.0.0.1:${port}/`, '--model', 'persistent', '--connections', String(connections), '--rate', String(rate), '--duration', `${seconds}s`, '--json'];
const driver = spawn('node', driverArgs, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
let stdout = '';
let stderr = '';
driver.stdout.on('data', (chunk) => (stdout += chunk));
driver.stderr.on('data', (chunk) => (stderr += chunk));
const samples: { t: number; rss: number }[] = [];
const started = Date.now();
const sampler = setInterval(() => {
  const rss = rssMiB(driver.pid!);
  if (rss !== undefined) samples.push({ t: (Date.now() - started) / 1000, rss });
}, 1000);
const code = await new Promise<number | null>((resolve) => driver.once('close', resolve));
clearInterval(sampler);
const nginxExited = new Promise((resolve) => nginx.once('exit', resolve));
nginx.kill('SIGTERM');
await nginxExited;
rmSync(dir, { recursive: true, force: true });

if (code !== 0) {
  process.stdout.write(`driver failed (exit ${code}):\n${stderr.slice(-2000)}\n`);
  process.exit(1);
}
const parsed = JSON.parse(stdout) as { totals?: { requests: number; attributed: number; errors: number }; pods?: { connections: number }[]; schedule?: { dropped: number }; requests?: number; attributed?: number; errors?: number; dropped?: number };
// run-http.ts prints a flat line; kth load --json the report shape.
const run = parsed.totals
  ? (parsed as { totals: { requests: number; attributed: number; errors: number }; pods: { connections: number }[]; schedule: { dropped: number } })
  : { totals: { requests: parsed.requests ?? 0, attributed: parsed.attributed ?? 0, errors: parsed.errors ?? 0 }, pods: [], schedule: { dropped: parsed.dropped ?? 0 } };
const peak = Math.max(...samples.map((s) => s.rss));
const warm = samples.find((s) => s.t >= seconds / 4)?.rss ?? samples[0]?.rss ?? 0;
const end = samples.at(-1)?.rss ?? 0;
process.stdout.write(
  [
    `## ${connections} persistent connections, ${rate} req/s for ${seconds}s (driver in its own process, ${values.client === 'undici' ? "undici's Client" : 'lean client'})`,
    `connections that answered: ${run.pods.length ? run.pods.reduce((sum, p) => sum + p.connections, 0) : 'n/a'}; requests ${run.totals.requests}, attributed ${run.totals.attributed}, errors ${run.totals.errors}, dropped ${run.schedule.dropped}`,
    `driver RSS: peak ${peak.toFixed(1)} MiB (goal ≤ 200 MiB: ${peak <= 200 ? 'met' : 'NOT met'})`,
    `RSS growth from ${seconds / 4}s to the end: ${warm.toFixed(1)} → ${end.toFixed(1)} MiB (${(((end - warm) / warm) * 100).toFixed(1)} %; soak goal ≤ 10 %)`,
    // The trend, not just two points: a leak climbs at every step, a plateau does not.
    `RSS by tenths of the run (MiB): ${Array.from({ length: 10 }, (_, i) => samples.find((s) => s.t >= ((i + 1) * seconds) / 10)?.rss ?? end).map((rss) => rss.toFixed(1)).join(' ')}`,
    '',
  ].join('\n'),
);
