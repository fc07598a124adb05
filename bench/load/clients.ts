/**
 * Client benchmark: the built-in drivers against their peers, side by side in ONE run, same target,
 * same core pinning (target on the last core, each client alone on core 0), so the printed ratios
 * are requests per second per client core.
 *
 *   npx tsx bench/load/clients.ts [--seconds 10] [--connections 50] [--only http|grpc]
 *
 * HTTP target: Debian's nginx (apt-get install -y nginx-light), started here with its own config in
 * a temp dir, answering a fixed body with x-kth-pod / x-kth-connection-id / x-kth-sequence headers
 * (so the built-in driver attributes every response), stopped by pid. Peers: wrk (apt-get install
 * -y wrk), autocannon (dev dependency), k6 (built by npm run setup). gRPC: the sample gRPC server
 * vs ghz (built by npm run setup).
 *
 * The built-in rows run the lean raw-socket HTTP/1.1 client (the default for persistent and
 * short-lived); the "(undici Client)" rows run the same driver on undici, to show what the lean
 * client is worth. Likewise gRPC: the h2 unary client (default) and the grpc-js client.
 *
 * Goals (issue 5): ≥ 1.0× autocannon and ≥ 0.5× wrk req/s per core, ≥ 3× k6, 100% attributed;
 * gRPC ≥ 0.5× ghz. Nothing here asserts: it prints what it measured.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../../harness/core/paths.ts';
import { binaryPath, isExecutable } from '../../harness/setup/binaries.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, connections: { type: 'string', default: '50' }, only: { type: 'string' } } });
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const clientCore = '0';
const targetCore = String(Math.max(0, cpus().length - 1));

interface Measured {
  name: string;
  requests: number;
  seconds: number;
  /** The client's CPU seconds (user + system), when /usr/bin/time could tell. */
  cpu?: number | null;
  attributed: number | null;
  note: string;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/**
 * CPU seconds (user + system) of each client, from /usr/bin/time: on a shared machine, other work
 * on the client core lowers everyone's req/s unevenly, while req per CPU-second barely moves. It
 * includes each client's start-up (node + tsx: about a second), which only counts against the
 * Node clients.
 */
const timeBinary = isExecutable('/usr/bin/time') ? '/usr/bin/time' : undefined;
let lastCpuSeconds: number | null = null;

/** Runs a command pinned to the client core; resolves with its stdout (CPU seconds in lastCpuSeconds). Bounded by a timeout. */
function pinned(argv: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const timed = timeBinary ? [timeBinary, '-f', 'KTH-CPU %U %S', 'taskset', '-c', clientCore, ...argv] : ['taskset', '-c', clientCore, ...argv];
    const child = spawn(timed[0]!, timed.slice(1), { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 60) * 1000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const cpu = /KTH-CPU ([\d.]+) ([\d.]+)\s*$/.exec(stderr);
      lastCpuSeconds = cpu ? Number(cpu[1]) + Number(cpu[2]) : null;
      if (code === 0) resolve(stdout);
      else reject(new Error(`${argv.join(' ')} exited ${code}\n${stderr.slice(-2000)}`));
    });
  });
}

async function startNginx(): Promise<{ url: string; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'kth-bench-nginx-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 20000; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 120s;
  client_body_temp_path ${dir}/tmp; proxy_temp_path ${dir}/tmp; fastcgi_temp_path ${dir}/tmp; uwsgi_temp_path ${dir}/tmp; scgi_temp_path ${dir}/tmp;
  server {
    listen 127.0.0.1:${port};
    location / {
      add_header x-kth-pod nginx-0 always;
      add_header x-kth-node bench always;
      add_header x-kth-connection-id nginx-0/$connection always;
      add_header x-kth-sequence $connection_requests always;
      add_header x-kth-peer $remote_addr:$remote_port always;
      default_type text/plain;
      return 200 "ok\\n";
    }
  }
}
`,
  );
  const child: ChildProcess = spawn('taskset', ['-c', targetCore, 'nginx', '-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'ignore' });
  await waitForPort(port);
  return {
    url: `http://127.0.0.1:${port}/`,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM'); // taskset execs nginx: this pid is nginx's master
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createServer().listen(port, '127.0.0.1');
      socket.on('listening', () => socket.close(() => resolve(false)));
      socket.on('error', () => resolve(true));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listened on ${port}`);
}

async function builtInHttp(url: string, model: 'persistent' | 'short-lived'): Promise<Measured> {
  const out = await pinned(['node', 'harness/bin/kth.mjs', 'load', 'http', '--target', url, '--model', model, '--connections', String(connections), '--concurrency', String(connections), '--duration', `${seconds}s`, '--json']);
  const run = JSON.parse(out) as { totals: { requests: number; attributed: number; errors: number }; schedule: { durationMs: number } };
  return { cpu: lastCpuSeconds, name: `kth ${model}`, requests: run.totals.requests, seconds: run.schedule.durationMs / 1000, attributed: run.totals.attributed, note: `${run.totals.errors} errors` };
}

/** The same driver with undici's Client per connection instead of the lean client (bench/load/run-http.ts). */
async function builtInUndici(url: string, model: 'persistent' | 'short-lived'): Promise<Measured> {
  const out = await pinned(['node', '--import', 'tsx', 'bench/load/run-http.ts', '--target', url, '--model', model, '--connections', String(connections), '--seconds', String(seconds), '--client', 'undici']);
  const run = JSON.parse(out) as { requests: number; attributed: number; errors: number; seconds: number };
  return { cpu: lastCpuSeconds, name: `kth ${model} (undici Client)`, requests: run.requests, seconds: run.seconds, attributed: run.attributed, note: `${run.errors} errors` };
}

async function wrk(url: string, close: boolean): Promise<Measured> {
  const out = await pinned(['wrk', '-t1', `-c${connections}`, `-d${seconds}s`, ...(close ? ['-H', 'Connection: close'] : []), url]);
  const match = /(\d+) requests in ([\d.]+)(ms|s|m)/.exec(out);
  const secs = match ? Number(match[2]) / (match[3] === 'ms' ? 1000 : match[3] === 'm' ? 1 / 60 : 1) : seconds;
  return { cpu: lastCpuSeconds, name: `wrk${close ? ' (Connection: close)' : ''}`, requests: Number(match?.[1] ?? NaN), seconds: secs, attributed: null, note: /Non-2xx|Socket errors.*/.exec(out)?.[0] ?? '' };
}

async function autocannon(url: string): Promise<Measured> {
  const out = await pinned(['node', 'node_modules/autocannon/autocannon.js', '-c', String(connections), '-d', String(seconds), '-j', url]);
  const result = JSON.parse(out) as { requests: { total: number }; duration: number; errors: number };
  return { cpu: lastCpuSeconds, name: 'autocannon', requests: result.requests.total, seconds: result.duration, attributed: null, note: `${result.errors} errors` };
}

async function k6(url: string, noReuse: boolean): Promise<Measured | undefined> {
  const k6Path = binaryPath('k6');
  if (!isExecutable(k6Path)) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'kth-bench-k6-'));
  try {
    await pinned([k6Path, 'run', '--quiet', '--no-color', '--summary-export', join(dir, 'summary.json'), 'scenarios/k6/http-shares.ts'], {
      KTH_TARGET: url, KTH_EXECUTOR: 'constant-vus', KTH_VUS: String(connections), KTH_DURATION: `${seconds}s`, KTH_NO_REUSE: String(noReuse), K6_NO_USAGE_REPORT: 'true',
    });
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as { metrics: { http_reqs: { count: number }; kth_served?: { count?: number } } };
    return { cpu: lastCpuSeconds, name: `k6${noReuse ? ' (no reuse)' : ''}`, requests: summary.metrics.http_reqs.count, seconds, attributed: null, note: 'with the kth_served attribution metric' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(title: string, rows: Measured[], goals: Array<[string, string, number]>): void {
  const rate = (row: Measured) => row.requests / row.seconds;
  process.stdout.write(`\n## ${title} (${connections} connections, ${seconds}s, client pinned to core ${clientCore}, target to core ${targetCore})\n`);
  for (const row of rows) {
    const attributed = row.attributed === null ? '' : ` attributed ${((row.attributed / row.requests) * 100).toFixed(2)}%`;
    const perCpu = row.cpu ? `, ${(row.requests / row.cpu).toFixed(0)} req per CPU-second` : '';
    process.stdout.write(`${row.name.padEnd(28)} ${rate(row).toFixed(0).padStart(8)} req/s per core  (${row.requests} in ${row.seconds.toFixed(2)}s${perCpu})${attributed} ${row.note}\n`);
  }
  for (const [ours, peer, goal] of goals) {
    const a = rows.find((row) => row.name === ours);
    const b = rows.find((row) => row.name === peer);
    if (!a || !b) continue;
    const ratio = rate(a) / rate(b);
    const cpuRatio = a.cpu && b.cpu ? `; per CPU-second ${((a.requests / a.cpu) / (b.requests / b.cpu)).toFixed(2)}×` : '';
    process.stdout.write(`ratio ${ours} / ${peer}: ${ratio.toFixed(2)}×  (goal ≥ ${goal}×: ${ratio >= goal ? 'met' : 'NOT met'})${cpuRatio}\n`);
  }
}

async function httpBench(): Promise<void> {
  const nginx = await startNginx();
  try {
    const keepAlive: Measured[] = [await builtInHttp(nginx.url, 'persistent'), await builtInUndici(nginx.url, 'persistent'), await wrk(nginx.url, false), await autocannon(nginx.url)];
    const k6KeepAlive = await k6(nginx.url, false);
    if (k6KeepAlive) keepAlive.push(k6KeepAlive);
    report('HTTP keep-alive', keepAlive, [['kth persistent', 'autocannon', 1], ['kth persistent', 'wrk', 0.5], ['kth persistent', 'k6', 3], ['kth persistent', 'kth persistent (undici Client)', 1]]);
    const shortLived: Measured[] = [await builtInHttp(nginx.url, 'short-lived'), await builtInUndici(nginx.url, 'short-lived'), await wrk(nginx.url, true)];
    const k6Short = await k6(nginx.url, true);
    if (k6Short) shortLived.push(k6Short);
    report('HTTP short-lived (a connection per request)', shortLived, [['kth short-lived', 'wrk (Connection: close)', 0.5], ['kth short-lived', 'k6 (no reuse)', 3], ['kth short-lived', 'kth short-lived (undici Client)', 1]]);
  } finally {
    await nginx.stop();
  }
}

async function grpcBench(): Promise<void> {
  const ghz = binaryPath('ghz');
  if (!isExecutable(ghz)) {
    process.stdout.write('\n## gRPC: skipped, ghz is not built (npm run setup)\n');
    return;
  }
  const port = await freePort();
  const metricsPort = await freePort();
  const server = spawn('taskset', ['-c', targetCore, 'node', 'harness/bin/kth.mjs', 'serve', 'grpc', '--port', String(port), '--metrics-port', String(metricsPort), '--pod-name', 'grpc-0'], { cwd: repoRoot, stdio: 'ignore' });
  try {
    await waitForPort(port);
    // Warm the server up first (its JIT), so whichever client runs first is not penalised.
    await pinned([ghz, '--insecure', '--proto', 'harness/workloads/proto/kth/v1/echo.proto', '--call', 'kth.v1.Echo.Who', '-c', String(connections), '--connections', '4', '-z', '3s', `127.0.0.1:${port}`]);
    const kthGrpc = async (client: 'h2' | 'grpc-js') => {
      const run = JSON.parse(await pinned(['node', 'harness/bin/kth.mjs', 'load', 'grpc', '--target', `127.0.0.1:${port}`, '--channels', '4', '--concurrency', String(connections), '--duration', `${seconds}s`, '--client', client, '--json'])) as { totals: { requests: number; attributed: number }; schedule: { durationMs: number } };
      return { cpu: lastCpuSeconds, requests: run.totals.requests, seconds: run.schedule.durationMs / 1000, attributed: run.totals.attributed, note: '' };
    };
    const ours = await kthGrpc('h2');
    const theirs = JSON.parse(await pinned([ghz, '--insecure', '--proto', 'harness/workloads/proto/kth/v1/echo.proto', '--call', 'kth.v1.Echo.Who', '-c', String(connections), '--connections', '4', '-z', `${seconds}s`, '--format', 'json', `127.0.0.1:${port}`])) as { count: number; total: number };
    const ghzCpu = lastCpuSeconds;
    const reference = await kthGrpc('grpc-js');
    report('gRPC unary (sample gRPC server as target)', [
      { name: 'kth grpc', ...ours },
      { cpu: ghzCpu, name: 'ghz', requests: theirs.count, seconds: theirs.total / 1e9, attributed: null, note: '' },
      { name: 'kth grpc (grpc-js client)', ...reference },
    ], [['kth grpc', 'ghz', 0.5], ['kth grpc', 'kth grpc (grpc-js client)', 1]]);
  } finally {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
}

if (values.only !== 'grpc') await httpBench();
if (values.only !== 'http') await grpcBench();
