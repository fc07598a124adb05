/**
 * Runs a sample server as a process of either implementation, so the contract suite can judge it
 * over the wire only: `node harness/bin/kth.mjs serve <kind> …` or `kth-sample-server <kind> …`
 * (the Go build that setup puts at goServerBinary()).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot } from '../../harness/core/paths.ts';
import { goServerBinary, type ServerRuntime } from '../../harness/workloads/runtime.ts';
import { RawHttp1 } from './wire-clients.ts';

export type SampleKind = 'http' | 'grpc';

const kthBin = join(repoRoot, 'harness/bin/kth.mjs');

/** Env vars the servers read; the children never inherit them from the test's own environment. */
const serverEnv = /^(KTH_(HOST|PORT|METRICS_PORT|KEEPALIVE_.*|MAX_.*|RESPONSE_.*|ERROR_RATE|H2C|SHUTDOWN_DELAY|DRAIN.*)|POD_NAME|POD_NAMESPACE|POD_IP|NODE_NAME)$/;

/** The command line of a sample server of `runtime`. Fails (never skips) when the Go build is missing. */
export function sampleServerCommand(runtime: ServerRuntime, kind: SampleKind, args: string[]): { file: string; argv: string[] } {
  if (runtime === 'node') return { file: process.execPath, argv: [kthBin, 'serve', kind, ...args] };
  let binary: string;
  try {
    binary = goServerBinary();
  } catch (error) {
    throw new Error(`cannot locate the Go sample server (${(error as Error).message}); run \`npm run setup\`, which builds harness/workloads/go`);
  }
  if (!existsSync(binary)) {
    throw new Error(
      `the Go sample server is not built: ${binary} does not exist.\n` +
        'Run `npm run setup` (it builds harness/workloads/go into the cache), or set KTH_SAMPLE_SERVER_BIN to a built kth-sample-server.',
    );
  }
  return { file: binary, argv: [kind, ...args] };
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SampleProcess extends AsyncDisposable {
  readonly runtime: ServerRuntime;
  readonly kind: SampleKind;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<ExitStatus>;
  /** True once the process has exited. */
  readonly done: boolean;
  stdout(): string;
  stderr(): string;
  signal(signal: NodeJS.Signals): void;
  /** Resolves once stderr contains `text` (bounded; fails with what stderr had). */
  waitForStderr(text: string | RegExp, timeoutMs?: number): Promise<void>;
}

/** Spawns a sample server with exactly these arguments (nothing added). Disposing SIGKILLs its own pid if alive. */
export function spawnSampleServer(runtime: ServerRuntime, kind: SampleKind, args: string[], env: Record<string, string> = {}): SampleProcess {
  const { file, argv } = sampleServerCommand(runtime, kind, args);
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !serverEnv.test(name)));
  const child = spawn(file, argv, { cwd: repoRoot, env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not spawn ${file}`);
  const pid = child.pid;
  let out = '';
  let err = '';
  let done = false;
  child.stdout?.setEncoding('utf8').on('data', (text: string) => (out += text));
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (err += text));
  const exited = new Promise<ExitStatus>((resolve) =>
    child.once('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    }),
  );
  // Wait for the streams too, so stdout()/stderr() are complete once `exited` resolves.
  const streamsClosed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const exitedWithOutput = exited.then(async (status) => {
    await Promise.race([streamsClosed, sleep(1000)]);
    return status;
  });
  return {
    runtime,
    kind,
    child,
    pid,
    exited: exitedWithOutput,
    get done() {
      return done;
    },
    stdout: () => out,
    stderr: () => err,
    signal: (signal) => {
      if (!done) process.kill(pid, signal);
    },
    async waitForStderr(text, timeoutMs = 10_000) {
      const deadline = performance.now() + timeoutMs;
      const seen = () => (typeof text === 'string' ? err.includes(text) : text.test(err));
      while (!seen()) {
        if (performance.now() > deadline) throw new Error(`${runtime} ${kind}: stderr never showed ${String(text)} within ${timeoutMs}ms; it has:\n${err}`);
        if (done) {
          await exitedWithOutput;
          if (seen()) return;
          throw new Error(`${runtime} ${kind} exited without writing ${String(text)} to stderr; it has:\n${err}`);
        }
        await sleep(10);
      }
    },
    [Symbol.asyncDispose]: async () => {
      if (!done) process.kill(pid, 'SIGKILL');
      await exitedWithOutput;
    },
  };
}

/** Runs a sample server that is expected to exit on its own (bad settings); SIGKILLs it after `timeoutMs`. */
export async function runSampleServer(
  runtime: ServerRuntime,
  kind: SampleKind,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 10_000,
): Promise<ExitStatus & { stdout: string; stderr: string; timedOut: boolean }> {
  await using child = spawnSampleServer(runtime, kind, args, env);
  const timeout = new AbortController();
  const outcome = await Promise.race([child.exited, sleep(timeoutMs, 'timeout' as const, { signal: timeout.signal }).catch(() => 'aborted' as const)]);
  timeout.abort();
  if (outcome === 'timeout' || outcome === 'aborted') {
    child.signal('SIGKILL');
    const status = await child.exited;
    return { ...status, stdout: child.stdout(), stderr: child.stderr(), timedOut: true };
  }
  return { ...outcome, stdout: child.stdout(), stderr: child.stderr(), timedOut: false };
}

export interface SampleServer extends SampleProcess {
  /** Always 127.0.0.1: the suite runs on loopback only. */
  readonly host: string;
  readonly port: number;
  /** gRPC: the HTTP side port; HTTP: the serving port (metrics live there). */
  readonly metricsPort: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `http://127.0.0.1:<metricsPort>` */
  readonly metricsUrl: string;
  /** `127.0.0.1:<port>`, a grpc-js target. */
  readonly target: string;
  /** The first stdout line, without its newline. */
  readonly listeningLine: string;
  /** GET /metrics on a connection of its own (which, for HTTP, the server counts as a connection). */
  metricsText(): Promise<string>;
}

const listeningPattern = /^kth serve (http|grpc) listening on (\[[^\]]+\]|[^\s:]+):(\d+)(?: metrics on (\[[^\]]+\]|[^\s:]+):(\d+))?$/;

/**
 * Starts a sample server on 127.0.0.1 with free ports (`--host 127.0.0.1 --port 0`, plus
 * `--metrics-port 0` for gRPC, then `args`), and waits for its first stdout line, which must be
 * exactly `kth serve <kind> listening on <host>:<port>[ metrics on <host>:<port>]`.
 */
export async function startSampleServer(
  runtime: ServerRuntime,
  kind: SampleKind,
  args: string[] = [],
  env: Record<string, string> = {},
  timeoutMs = 15_000,
): Promise<SampleServer> {
  const base = ['--host', '127.0.0.1', '--port', '0', ...(kind === 'grpc' ? ['--metrics-port', '0'] : [])];
  const child = spawnSampleServer(runtime, kind, [...base, ...args], env);
  const deadline = performance.now() + timeoutMs;
  let line: string | undefined;
  try {
    while (line === undefined) {
      const newline = child.stdout().indexOf('\n');
      if (newline !== -1) line = child.stdout().slice(0, newline);
      else if (child.done) {
        const status = await child.exited;
        throw new Error(`${runtime} ${kind} server exited (${status.code ?? status.signal}) before listening:\n${child.stderr()}`);
      } else if (performance.now() > deadline) throw new Error(`${runtime} ${kind} server printed no listening line within ${timeoutMs}ms:\n${child.stderr()}`);
      else await sleep(10);
    }
    const match = listeningPattern.exec(line);
    if (!match || match[1] !== kind || (kind === 'grpc') !== (match[5] !== undefined)) {
      throw new Error(`${runtime} ${kind} server's first stdout line is not the contract's listening line: ${JSON.stringify(line)}`);
    }
    const host = match[2] as string;
    const port = Number(match[3]);
    const metricsPort = kind === 'grpc' ? Number(match[5]) : port;
    const server: SampleServer = {
      runtime,
      kind,
      child: child.child,
      pid: child.pid,
      exited: child.exited,
      get done() {
        return child.done;
      },
      stdout: child.stdout,
      stderr: child.stderr,
      signal: child.signal,
      waitForStderr: child.waitForStderr,
      [Symbol.asyncDispose]: child[Symbol.asyncDispose],
      host,
      port,
      metricsPort,
      url: `http://127.0.0.1:${port}`,
      metricsUrl: `http://127.0.0.1:${metricsPort}`,
      target: `127.0.0.1:${port}`,
      listeningLine: line,
      async metricsText() {
        const connection = await RawHttp1.open(metricsPort);
        try {
          const reply = await connection.request('/metrics', { headers: { connection: 'close' } });
          if (reply.status !== 200) throw new Error(`${runtime} ${kind}: GET /metrics answered ${reply.status}`);
          return reply.body;
        } finally {
          connection.close();
        }
      },
    };
    return server;
  } catch (error) {
    await child[Symbol.asyncDispose]();
    throw error;
  }
}
