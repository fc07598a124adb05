import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { environmentError } from '../core/errors.ts';
import { run } from '../core/exec.ts';
import { repoRoot } from '../core/paths.ts';
import { epochNow, type Recorder, type SourceTotals } from '../recorder/recorder.ts';
import { requireBinary } from '../setup/binaries.ts';
import { defaultRequestTimeoutMs } from '../load/scheduler.ts';
import { foldK6Output, type FoldCounts } from './fold.ts';

export interface K6RunOptions {
  /**
   * What the script speaks: 'http' (http-shares.ts, target a URL) or 'grpc' (grpc-shares.ts:
   * kth.v1.Echo/Who on k6's grpc-go client, target host:port; KTH_PROTO_DIR says where echo.proto is).
   * @default 'http'
   */
  protocol?: 'http' | 'grpc';
  /** A k6 script; relative paths are taken from the repo's scenarios/k6/. @default 'http-shares.ts', or 'grpc-shares.ts' for grpc */
  script?: string;
  /** The target (KTH_TARGET): a URL for http, host:port for grpc. */
  target: string;
  executor?: 'constant-arrival-rate' | 'constant-vus';
  /** constant-arrival-rate: requests per second. */
  rate?: number;
  durationMs: number;
  /** Pre-allocated (and max) VUs for arrival-rate; VUs for constant-vus. @default 10 */
  vus?: number;
  /** A new TCP connection per request (http only). */
  noConnectionReuse?: boolean;
  requestTimeoutMs?: number;
  /** Extra environment for the script. */
  env?: Record<string, string>;
  recorder: Recorder;
  /** @default 'k6' */
  source?: string;
  /** Keep k6's JSON output here (an existing file is replaced) instead of a temporary file (removed after folding). */
  outFile?: string;
}

export interface K6RunResult {
  source: string;
  exitCode: number;
  /** When k6 exited (epoch ms): the points written before it were folded while k6 ran. */
  exitedAt: number;
  counts: FoldCounts;
  totals: SourceTotals;
  stdout: string;
  stderr: string;
}

/** The directory of the shipped echo.proto (grpc-shares.ts loads it with client.load). */
const protoDir = join(repoRoot, 'harness', 'workloads', 'proto', 'kth', 'v1');

function viaOfUrl(target: string): string {
  const url = new URL(target);
  return `${url.hostname}:${url.port || 80}`;
}

/**
 * Runs the real k6 binary (built by `npm run setup`) on a TypeScript scenario with `--out json`,
 * folding its points into the recorder as source `k6` while it runs (so its per-second samples
 * reach the sink live, like the built-in drivers'), and the rest once it exits. If k6 fails, what
 * was folded before stays in the recorder. k6's exit code 99 (thresholds crossed) is returned, not thrown.
 */
export async function runK6(options: K6RunOptions): Promise<K6RunResult> {
  const k6 = requireBinary('k6');
  const grpc = options.protocol === 'grpc';
  const script = resolve(join(repoRoot, 'scenarios', 'k6'), options.script ?? (grpc ? 'grpc-shares.ts' : 'http-shares.ts'));
  const temp = options.outFile ? undefined : mkdtempSync(join(tmpdir(), 'kth-k6-'));
  const outFile = options.outFile ?? join(temp!, 'k6.json');
  const sourceName = options.source ?? 'k6';
  try {
    const env: Record<string, string> = {
      KTH_TARGET: options.target,
      KTH_EXECUTOR: options.executor ?? 'constant-arrival-rate',
      KTH_RATE: String(options.rate ?? 100),
      KTH_DURATION: `${options.durationMs}ms`,
      KTH_VUS: String(options.vus ?? 10),
      KTH_NO_REUSE: options.noConnectionReuse ? 'true' : 'false',
      KTH_TIMEOUT: `${options.requestTimeoutMs ?? defaultRequestTimeoutMs}ms`,
      K6_NO_USAGE_REPORT: 'true',
      ...(grpc ? { KTH_PROTO_DIR: protoDir } : {}),
      ...options.env,
    };
    // A stale file from an earlier run must not be followed before k6 truncates it.
    rmSync(outFile, { force: true });
    // constant-vus is a closed model: k6 sends when a VU is free, so latency is from the actual send.
    const source = options.recorder.source(sourceName, options.executor === 'constant-vus' ? 'actual' : 'intended');
    // Where a response came in when the script does not say: the target's host:port.
    const via = grpc ? options.target : viaOfUrl(options.target);
    const k6Run = run([k6, 'run', '--quiet', '--no-color', '--out', `json=${outFile}`, script], {
      env,
      timeoutMs: options.durationMs + (options.requestTimeoutMs ?? defaultRequestTimeoutMs) + 60_000,
      purpose: 'run k6',
      nothrow: true,
    }).then((result) => ({ ...result, exitedAt: epochNow() }));
    // Fold while k6 writes (k6 flushes its JSON output every 200 ms), then the rest after it exits.
    // Both are awaited together so a failure of either is never an unhandled rejection.
    const [ran, folded] = await Promise.allSettled([k6Run, foldK6Output(outFile, source, via, { until: k6Run })]);
    if (ran.status === 'rejected') throw ran.reason;
    const result = ran.value;
    if (result.exitCode !== 0 && result.exitCode !== 99) {
      throw environmentError(`k6 failed (exit ${result.exitCode}) on ${script}\n${result.stderr.trim().split('\n').slice(-10).join('\n')}`, { where: script, hint: `rerun by hand: ${k6} run ${script}` });
    }
    if (folded.status === 'rejected') throw folded.reason;
    source.flushAll();
    return { source: sourceName, exitCode: result.exitCode, exitedAt: result.exitedAt, counts: folded.value, totals: source.totals, stdout: result.stdout, stderr: result.stderr };
  } finally {
    if (temp) rmSync(temp, { recursive: true, force: true });
  }
}
