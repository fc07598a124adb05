/**
 * The Go sample servers against the Node.js ones, side by side in one run (issue 14's goals), on
 * loopback: start time (spawn → first stdout line → /healthz 200), idle RSS, RSS under load, and
 * throughput — HTTP with wrk (keep-alive, 2 threads, 50 connections), gRPC unary Who with ghz
 * (50 concurrent calls on 10 connections). Runtimes alternate per round. Goals: Go RSS ≤ 20 MiB
 * (Node's ~104 MiB in a lab pod), Go throughput ≥ Node's.
 * Timings: wall-clock, performance.now (monotonic), in this process; throughput as wrk and ghz
 * report it; RSS from /proc/<pid>/status VmRSS (idle: 2 s after start; loaded: the peak of samples
 * every 200 ms during the load).
 *
 * Run: `bash bench/prerequisites.sh && npx tsx bench/workloads/servers.bench.ts [--rounds N] [--seconds S]`.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { echoProtoPath } from '../../harness/workloads/grpc/proto.ts';
import { requireGoServer, type ServerRuntime } from '../../harness/workloads/runtime.ts';
import { requireBinary } from '../../harness/setup/binaries.ts';
import { median, mib, rssBytes } from '../lab/lab-measure.ts';

const exec = promisify(execFile);
const arg = (name: string, fallback: number) => Number(process.argv[process.argv.indexOf(name) + 1] || fallback) || fallback;
const rounds = arg('--rounds', 3);
const seconds = arg('--seconds', 10);
const goals = { goRssMiB: 20 };

interface Started {
  child: ChildProcess;
  port: number;
  metricsPort?: number;
  startMs: number;
}

async function start(runtime: ServerRuntime, kind: 'http' | 'grpc'): Promise<Started> {
  const args = [kind, '--host', '127.0.0.1', '--port', '0', ...(kind === 'grpc' ? ['--metrics-port', '0'] : []), '--pod-name', `bench-${runtime}`];
  const t0 = performance.now();
  const child = runtime === 'go' ? spawn(requireGoServer(), args, { stdio: ['ignore', 'pipe', 'inherit'] }) : spawn(process.execPath, ['harness/bin/kth.mjs', 'serve', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8');
  const line = await new Promise<RegExpExecArray>((resolve, reject) => {
    child.stdout!.on('data', (text: string) => {
      out += text;
      const match = /listening on \S+:(\d+)(?: metrics on \S+:(\d+))?\n/.exec(out);
      if (match) resolve(match);
    });
    child.once('exit', (code) => reject(new Error(`${runtime} ${kind} server exited (${code}) before listening`)));
  });
  const port = Number(line[1]);
  const metricsPort = line[2] ? Number(line[2]) : undefined;
  const health = `http://127.0.0.1:${metricsPort ?? port}/healthz`;
  for (let i = 0; i < 500; i += 1) {
    if ((await fetch(health, { headers: { connection: 'close' } }).catch(() => undefined))?.status === 200) break;
    await sleep(10);
  }
  return { child, port, ...(metricsPort ? { metricsPort } : {}), startMs: performance.now() - t0 };
}

async function stop(server: Started): Promise<void> {
  server.child.kill('SIGKILL');
  if (server.child.exitCode === null && server.child.signalCode === null) await once(server.child, 'exit');
}

/** Peak RSS of `pid` while `work` runs. */
async function peakRss<T>(pid: number, work: Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = rssBytes(pid);
  let done = false;
  const sampler = (async () => {
    while (!done) {
      peak = Math.max(peak, rssBytes(pid));
      await sleep(200);
    }
  })();
  try {
    return { result: await work, peak };
  } finally {
    done = true;
    await sampler;
  }
}

async function wrk(port: number): Promise<number> {
  const { stdout } = await exec('wrk', ['-t2', '-c50', `-d${seconds}s`, `http://127.0.0.1:${port}/`], { timeout: (seconds + 30) * 1000 });
  const match = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
  if (!match) throw new Error(`wrk printed no Requests/sec:\n${stdout}`);
  return Number(match[1]);
}

async function ghz(port: number): Promise<number> {
  const { stdout } = await exec(requireBinary('ghz'), ['--insecure', '--proto', echoProtoPath, '--call', 'kth.v1.Echo.Who', '-d', '{"client_id":"bench"}',
    '-c', '50', '--connections', '10', '-z', `${seconds}s`, '--format', 'json', `127.0.0.1:${port}`], { timeout: (seconds + 30) * 1000, maxBuffer: 64 * 1024 * 1024 });
  const report = JSON.parse(stdout) as { rps: number; statusCodeDistribution?: Record<string, number> };
  // ghz cuts the calls in flight when -z runs out (as many as -c): those are not the server's failures.
  const failed = Object.entries(report.statusCodeDistribution ?? {}).filter(([code]) => code !== 'OK');
  if (failed.reduce((sum, [, n]) => sum + n, 0) > 50) throw new Error(`ghz saw failed calls: ${JSON.stringify(Object.fromEntries(failed))}`);
  return report.rps;
}

type Sample = { startMs: number; idle: number; loaded: number; throughput: number };
const samples = new Map<string, Sample[]>();

for (let round = 1; round <= rounds; round += 1) {
  for (const kind of ['http', 'grpc'] as const) {
    // Alternate which runtime goes first, so neither always meets a warmer machine.
    const order: ServerRuntime[] = round % 2 === 1 ? ['node', 'go'] : ['go', 'node'];
    for (const runtime of order) {
      const server = await start(runtime, kind);
      try {
        await sleep(2000);
        const idle = rssBytes(server.child.pid!);
        const { result: throughput, peak } = await peakRss(server.child.pid!, kind === 'http' ? wrk(server.port) : ghz(server.port));
        const key = `${kind}/${runtime}`;
        samples.set(key, [...(samples.get(key) ?? []), { startMs: server.startMs, idle, loaded: peak, throughput }]);
        console.error(`round ${round} ${key}: start ${server.startMs.toFixed(0)} ms, idle ${mib(idle)}, loaded ${mib(peak)}, ${throughput.toFixed(0)}/s`);
      } finally {
        await stop(server);
      }
    }
  }
}

const med = (key: string, field: keyof Sample) => median((samples.get(key) ?? []).map((s) => s[field]));
for (const kind of ['http', 'grpc'] as const) {
  const [go, node] = [`${kind}/go`, `${kind}/node`];
  const peer = kind === 'http' ? 'wrk' : 'ghz';
  console.log(`${kind} server, Go vs Node.js (median of ${rounds}):`);
  console.log(`  start (spawn → /healthz 200):  go ${med(go, 'startMs').toFixed(0)} ms   node ${med(node, 'startMs').toFixed(0)} ms   → node/go ${(med(node, 'startMs') / med(go, 'startMs')).toFixed(1)}×`);
  const goIdle = med(go, 'idle');
  console.log(`  RSS idle:                      go ${mib(goIdle)}   node ${mib(med(node, 'idle'))}   → node/go ${(med(node, 'idle') / goIdle).toFixed(1)}×   goal go ≤ ${goals.goRssMiB} MiB   ${goIdle <= goals.goRssMiB * 2 ** 20 ? 'MET' : 'MISSED'}`);
  console.log(`  RSS under load (peak):         go ${mib(med(go, 'loaded'))}   node ${mib(med(node, 'loaded'))}   → node/go ${(med(node, 'loaded') / med(go, 'loaded')).toFixed(1)}×`);
  const ratio = med(go, 'throughput') / med(node, 'throughput');
  console.log(`  throughput (${peer}, ${seconds} s):       go ${med(go, 'throughput').toFixed(0)}/s   node ${med(node, 'throughput').toFixed(0)}/s   → go/node ${ratio.toFixed(2)}×   goal ≥ 1×   ${ratio >= 1 ? 'MET' : 'MISSED'}`);
}
console.log('(loopback on this host; both servers and the load tool share its cores)');
