import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { HarnessError } from '../core/errors.ts';
import { IdentityHeader } from '../workloads/identity.ts';

/**
 * Waits until the data path to a Service is programmed as the client sees it, before anything is
 * measured. A Ready pod is in the EndpointSlice a moment before the client node's proxy (kube-proxy
 * syncs at most once per min-sync-period, ~1 s; Cilium's agent likewise) sends traffic to it: load
 * started in that window meets refused connections and a skewed split that say nothing about the
 * steady state. Probes are fresh connections (each one a new backend choice), one at a time, so
 * the wait leaves no connection behind; the measured run's server baselines are read after it.
 */
export interface SettleOptions {
  kind: 'http' | 'grpc';
  target: string;
  /** Pods that must each answer at least once: a count or names. */
  expectPods: number | readonly string[] | undefined;
  /** Give up after this long. */
  timeoutMs: number;
  /** Consecutive good answers needed when no pods are expected (and after all expected pods answered). @default 3 */
  consecutive?: number;
  /** Pause between probes. @default 50 */
  intervalMs?: number;
  signal?: AbortSignal;
}

export interface SettleResult {
  probes: number;
  failures: number;
  /** From the first probe until the data path counted as settled (ms, monotonic clock). */
  settledMs: number;
  /** Pods that answered during the wait, with how often. */
  answeredBy: Record<string, number>;
  /** The last failure seen while waiting, if any (e.g. "ECONNREFUSED"). */
  lastFailure: string | undefined;
}

type Probe = (timeoutMs: number) => Promise<string>;

/** One HTTP request on its own connection; resolves with the pod that answered. */
function httpProbe(target: string): Probe {
  const url = new URL(target);
  return (timeoutMs) =>
    new Promise((resolve, reject) => {
      const request = http.get(url, { agent: false, headers: { connection: 'close' }, timeout: timeoutMs }, (response) => {
        response.resume();
        const pod = response.headers[IdentityHeader.pod];
        if (response.statusCode !== 200) reject(new Error(`HTTP ${response.statusCode}`));
        else if (typeof pod !== 'string' || pod === '') reject(new Error(`no ${IdentityHeader.pod} header in the answer`));
        else resolve(pod);
      });
      request.on('timeout', () => request.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      request.on('error', reject);
    });
}

/** One unary Who call on a channel of its own (a fresh connection); resolves with the pod that answered. */
async function grpcProbe(target: string): Promise<Probe> {
  const grpc = await import('@grpc/grpc-js');
  const { echoClientConstructor } = await import('../workloads/grpc/proto.ts');
  const Echo = echoClientConstructor();
  let index = 0;
  return (timeoutMs) =>
    new Promise((resolve, reject) => {
      const client = new Echo(target, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1, 'kth.settle_probe': index++ }) as InstanceType<typeof Echo> & { Who: (...args: unknown[]) => unknown };
      client.Who({ clientId: 'kth-settle' }, { deadline: Date.now() + timeoutMs }, (error: Error | null, reply?: { pod?: string }) => {
        client.close();
        if (error) reject(error);
        else if (!reply?.pod) reject(new Error('the reply names no pod'));
        else resolve(reply.pod);
      });
    });
}

function describe(error: unknown): string {
  const e = error as { code?: string | number; message?: string };
  return typeof e.code === 'string' ? `${e.code}: ${e.message}` : String(e.message ?? error);
}

/** Probes until every expected pod answered and `consecutive` probes in a row succeeded. */
export async function settle(options: SettleOptions): Promise<SettleResult> {
  const probe = options.kind === 'http' ? httpProbe(options.target) : await grpcProbe(options.target);
  const consecutive = options.consecutive ?? 3;
  const intervalMs = options.intervalMs ?? 50;
  const expected = options.expectPods;
  const answeredBy: Record<string, number> = {};
  const started = performance.now();
  let probes = 0;
  let failures = 0;
  let streak = 0;
  let lastFailure: string | undefined;

  const missing = (): string[] | number => {
    if (expected === undefined) return 0;
    if (typeof expected === 'number') return Math.max(0, expected - Object.keys(answeredBy).length);
    return expected.filter((pod) => !answeredBy[pod]);
  };
  const done = () => {
    const left = missing();
    return streak >= consecutive && (typeof left === 'number' ? left === 0 : left.length === 0);
  };

  while (!done()) {
    const elapsed = performance.now() - started;
    if (options.signal?.aborted) throw new HarnessError('interrupted', 'interrupted while waiting for the data path to settle');
    if (elapsed >= options.timeoutMs) {
      const left = missing();
      const who = typeof left === 'number' ? `${left} expected pod(s) never answered` : `never answered: ${left.join(', ')}`;
      throw new HarnessError('environment', `the path to ${options.target} did not settle within ${Math.round(options.timeoutMs)} ms: ${probes} probes, ${failures} failed${lastFailure ? ` (last: ${lastFailure})` : ''}; ${who}; answered: ${JSON.stringify(answeredBy)}`, {
        hint: 'check that the pods are Ready and in the Service\'s EndpointSlices, and that the proxy on the client\'s node runs (kth lab logs); or raise --settle',
        where: '--settle',
      });
    }
    probes++;
    try {
      const pod = await probe(Math.max(100, Math.min(2000, options.timeoutMs - elapsed)));
      answeredBy[pod] = (answeredBy[pod] ?? 0) + 1;
      streak++;
    } catch (error) {
      failures++;
      streak = 0;
      lastFailure = describe(error);
    }
    if (!done()) await sleep(intervalMs);
  }
  return { probes, failures, settledMs: performance.now() - started, answeredBy, lastFailure };
}
