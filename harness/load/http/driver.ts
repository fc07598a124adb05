import { badInput } from '../../core/errors.ts';
import type { Recorder, SourceTotals } from '../../recorder/recorder.ts';
import { validateArrival, type Arrival } from '../arrival.ts';
import { beginLoad, defaultRequestTimeoutMs, driveToEnd, type LanePool, type ScheduleResult } from '../scheduler.ts';
import { H1Pool } from './h1-pool.ts';
import { H2Pool, httpExchange } from './h2-pool.ts';
import { LeanH1Pool } from './lean-h1-pool.ts';

export type HttpModel = 'persistent' | 'short-lived' | 'pooled' | 'h2';

export interface HttpLoadOptions {
  /** http://host:port/path (h2 also takes https://). */
  target: string;
  model: HttpModel;
  /**
   * persistent: connections held for the run, each with its own share (rate/N) of the schedule;
   * short-lived: connections open at once (each request opens and closes its own);
   * pooled: the pool's size; h2: HTTP/2 connections multiplexing the streams.
   */
  connections: number;
  arrival: Arrival;
  /** Hard bound on requests, whatever the duration. @default 10_000_000 */
  maxRequests?: number;
  /** A request without a complete response after this long fails as a timeout. @default defaultRequestTimeoutMs (10 s) */
  requestTimeoutMs?: number;
  /** @default 5_000 */
  connectTimeoutMs?: number;
  /** In-flight requests get this long after the arrivals end. @default requestTimeoutMs + 1000 */
  gracefulStopMs?: number;
  /** Open model: requests waiting for a busy connection, at most. @default peak rate × 1 s (≥ connections) */
  maxQueue?: number;
  /** Open model: a queued request is dropped after waiting this long past its intended time. @default requestTimeoutMs */
  maxWaitMs?: number;
  /** pooled: idle connections close after this long. @default 4_000 */
  idleTimeoutMs?: number;
  /** persistent and pooled: connections older than this carry one last request with Connection: close; 0 = never. @default 0 */
  maxConnectionAgeMs?: number;
  /** HTTP/1.1 pipelining depth per connection (persistent/pooled). @default 1 */
  pipelining?: number;
  /** h2: streams in flight per connection at most. @default 100 */
  streamsPerConnection?: number;
  method?: string;
  headers?: Record<string, string>;
  /**
   * HTTP/1.1 client of the persistent and short-lived models: 'lean' (raw sockets and a minimal
   * parser, about twice the requests per core, far less memory per held connection) or 'undici'
   * (its Client, one per connection; kept to compare against). pooled always uses undici.
   * @default 'lean'
   */
  h1Client?: 'lean' | 'undici';
  /** Recorder source name. @default 'http' */
  source?: string;
  recorder: Recorder;
  signal?: AbortSignal;
}

export interface LoadResult {
  source: string;
  model: string;
  arrival: 'open' | 'closed';
  schedule: ScheduleResult;
  /** The source's running totals (per pod, errors, latency histogram) once everything is recorded. */
  totals: SourceTotals;
}

/** Rejects impossible settings, naming the option. */
export function validateHttpLoad(options: HttpLoadOptions): URL {
  let url: URL;
  try {
    url = new URL(options.target);
  } catch {
    throw badInput(`target: '${options.target}' is not a URL`, { where: 'target', hint: 'write it as http://host:port/path' });
  }
  const h2Tls = options.model === 'h2' && url.protocol === 'https:';
  if (url.protocol !== 'http:' && !h2Tls) throw badInput(`target: ${url.protocol} is not supported for model ${options.model}`, { where: 'target', hint: 'use http:// (h2 uses cleartext prior knowledge; https:// only with --model h2)' });
  if (!Number.isInteger(options.connections) || options.connections < 1) throw badInput(`connections: ${options.connections} must be a whole number ≥ 1`, { where: 'connections' });
  validateArrival(options.arrival);
  for (const [name, value] of Object.entries({ maxRequests: options.maxRequests, requestTimeoutMs: options.requestTimeoutMs, maxQueue: options.maxQueue, pipelining: options.pipelining, streamsPerConnection: options.streamsPerConnection })) {
    if (value !== undefined && (!Number.isFinite(value) || value < (name === 'maxQueue' ? 0 : 1))) throw badInput(`${name}: ${value} is out of range`, { where: name });
  }
  return url;
}

/**
 * Runs HTTP load against one target with one connection model and one arrival model, recording
 * every response (attributed to pod, node and connection from the identity headers), every
 * failure (classified) and every connection's life into `options.recorder`.
 */
export async function runHttpLoad(options: HttpLoadOptions): Promise<LoadResult> {
  const url = validateHttpLoad(options);
  const recorder = options.recorder;
  const requestTimeoutMs = options.requestTimeoutMs ?? defaultRequestTimeoutMs;
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  const now = recorder.now;
  const path = `${url.pathname}${url.search}` || '/';
  const method = options.method ?? 'GET';
  const headers = options.headers ?? {};
  const origin = url.origin;
  const { source, open } = beginLoad(recorder, {
    source: options.source ?? 'http',
    target: options.target,
    model: options.model,
    arrival: options.arrival,
    config: { connections: options.connections, arrival: options.arrival, maxRequests: options.maxRequests ?? null, requestTimeoutMs, maxConnectionAgeMs: options.maxConnectionAgeMs ?? 0, idleTimeoutMs: options.idleTimeoutMs ?? null },
  });

  const pool: LanePool<unknown> & { close(): Promise<void> } =
    options.model === 'h2'
      ? new H2Pool({ origin, exchange: httpExchange(method, path, headers), connections: options.connections, streamsPerConnection: options.streamsPerConnection ?? 100, requestTimeoutMs, connectTimeoutMs, recorder: source, now })
      : options.model !== 'pooled' && (options.h1Client ?? 'lean') === 'lean'
        ? new LeanH1Pool({ origin, path, method, headers, model: options.model, connections: options.connections, pipelining: options.pipelining ?? 1, maxAgeMs: options.model === 'persistent' ? (options.maxConnectionAgeMs ?? 0) : 0, requestTimeoutMs, connectTimeoutMs, recorder: source, now })
        : new H1Pool({
            origin,
            path,
            method,
            headers,
            model: options.model,
            connections: options.connections,
            pipelining: options.pipelining ?? 1,
            requestTimeoutMs,
            connectTimeoutMs,
            idleTimeoutMs: options.idleTimeoutMs ?? 4_000,
            maxAgeMs: options.maxConnectionAgeMs ?? 0,
            recorder: source,
            now,
          });
  const schedule = await driveToEnd(pool, {
    arrival: options.arrival,
    maxRequests: options.maxRequests,
    lanes: options.connections,
    pinnedLanes: options.model === 'persistent' ? options.connections : undefined,
    maxQueue: options.maxQueue,
    maxWaitMs: options.maxWaitMs,
    gracefulStopMs: options.gracefulStopMs,
    requestTimeoutMs,
    signal: options.signal,
  }, source, recorder);
  return { source: source.source, model: options.model, arrival: open ? 'open' : 'closed', schedule, totals: source.totals };
}
