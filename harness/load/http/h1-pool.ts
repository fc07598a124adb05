import type { Socket } from 'node:net';
import { buildConnector, Client, type Dispatcher } from 'undici';
import type { ErrorKind } from '../../recorder/events.ts';
import type { SourceRecorder } from '../../recorder/recorder.ts';
import { attributionFromHeaders } from '../attribution.ts';
import { classifyError, classifyStatus } from '../errors.ts';
import type { LanePool } from '../scheduler.ts';
import { ConnectionTracker, formatAddress, type TrackedConnection } from './connections.ts';

export interface H1PoolOptions {
  origin: string;
  path: string;
  method: string;
  headers: Record<string, string>;
  /** persistent: N connections held; short-lived: a new connection per request; pooled: keep-alive pool. */
  model: 'persistent' | 'short-lived' | 'pooled';
  /** persistent: connections held; short-lived: connections at once; pooled: pool size. */
  connections: number;
  /** Requests in flight per connection (HTTP/1.1 pipelining). @default 1 */
  pipelining: number;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  /** pooled: close a connection idle this long. */
  idleTimeoutMs: number;
  /** pooled: a connection older than this carries one last request (`Connection: close`); 0 = no limit. */
  maxAgeMs: number;
  recorder: SourceRecorder;
  now: () => number;
}

interface H1Lane {
  index: number;
  client: Client;
  inFlight: number;
  /** The connection the client currently has (undici opens a new one when the last one closed). */
  connection: TrackedConnection | undefined;
  lastUsed: number;
}

/**
 * The `pooled` model (and the undici side of the lean-vs-undici comparison, `h1Client: 'undici'`;
 * persistent and short-lived use LeanH1Pool (lean-h1-pool.ts) by default).
 *
 * HTTP/1.1 lanes: one undici Client per lane, each holding at most one TCP connection at a time,
 * so the driver — not a shared pool — decides connection lifetimes. Every socket goes through our
 * connector, so each new TCP connection is seen (connection-open) and its end recorded.
 */
export class H1Pool implements LanePool<H1Lane> {
  private readonly lanes: H1Lane[] = [];
  /** pooled model: idle lanes, most recently used last (LIFO reuse keeps the hot set small). */
  private readonly idle: H1Lane[] = [];
  private readonly tracker: ConnectionTracker;
  private readonly inFlightRequests = new Set<H1Request>();
  private abandoning = false;
  private readonly baseConnect: buildConnector.connector;
  private readonly fallbackVia: string;

  constructor(private readonly options: H1PoolOptions) {
    this.tracker = new ConnectionTracker(options.recorder, options.now);
    this.baseConnect = buildConnector({ timeout: options.connectTimeoutMs, keepAlive: true, noDelay: true } as buildConnector.BuildOptions);
    const url = new URL(options.origin);
    this.fallbackVia = formatAddress(url.hostname.replace(/^\[|\]$/g, ''), Number(url.port || (url.protocol === 'https:' ? 443 : 80)));
    if (options.model !== 'pooled') for (let i = 0; i < options.connections; i++) this.lanes.push(this.newLane(i));
  }

  private newLane(index: number): H1Lane {
    const persistentIdle = 24 * 3600 * 1000;
    const lane: H1Lane = { index, client: undefined as unknown as Client, inFlight: 0, connection: undefined, lastUsed: 0 };
    const idleMs = this.options.model === 'pooled' ? this.options.idleTimeoutMs : persistentIdle;
    lane.client = new Client(this.options.origin, {
      pipelining: this.options.pipelining,
      keepAliveTimeout: idleMs,
      keepAliveMaxTimeout: idleMs,
      keepAliveTimeoutThreshold: 0,
      headersTimeout: this.options.requestTimeoutMs,
      bodyTimeout: this.options.requestTimeoutMs,
      connect: (connectOptions, callback) => {
        this.baseConnect(connectOptions, (error, socket) => {
          if (!error && socket) {
            lane.connection = this.tracker.opened(
              socket as Socket,
              (closed) => {
                if (lane.connection === closed) lane.connection = undefined;
              },
              this.options.model === 'short-lived',
            );
          }
          if (error) callback(error, null);
          else callback(null, socket!);
        });
      },
    });
    // Without this, a connection error with no request in flight would be an unhandled 'error' event.
    lane.client.on('connectionError', () => {});
    return lane;
  }

  acquire(pin: number | undefined): H1Lane | undefined {
    const capacity = this.options.pipelining;
    if (this.options.model === 'pooled') {
      let lane = this.idle.pop();
      if (!lane) {
        if (this.lanes.length >= this.options.connections) return undefined;
        lane = this.newLane(this.lanes.length);
        this.lanes.push(lane);
      }
      lane.inFlight++;
      if (lane.inFlight < capacity) this.idle.push(lane);
      return lane;
    }
    if (pin !== undefined) {
      const lane = this.lanes[pin % this.lanes.length]!;
      if (lane.inFlight >= capacity) return undefined;
      lane.inFlight++;
      return lane;
    }
    for (const lane of this.lanes) {
      if (lane.inFlight < capacity) {
        lane.inFlight++;
        return lane;
      }
    }
    return undefined;
  }

  run<T>(lane: H1Lane, latencyFrom: number, _sentAt: number, token: T, done: (token: T) => void): void {
    const connection = lane.connection;
    const closeAfter = this.options.model === 'short-lived' || (this.options.model === 'pooled' && this.options.maxAgeMs > 0 && connection !== undefined && this.options.now() - connection.openedAt >= this.options.maxAgeMs);
    if (closeAfter && connection) connection.closingByClient = true;
    const request = new H1Request(this, lane, connection, latencyFrom, closeAfter, token as unknown, done as (token: unknown) => void);
    this.inFlightRequests.add(request);
    try {
      lane.client.dispatch(
        { path: this.options.path, method: this.options.method as Dispatcher.HttpMethod, headers: this.options.headers, reset: closeAfter, headersTimeout: this.options.requestTimeoutMs, bodyTimeout: this.options.requestTimeoutMs },
        request,
      );
    } catch (error) {
      request.finish(error as Error);
    }
  }

  /** Called once per request by {@link H1Request}: records the outcome and frees the lane. */
  complete(request: H1Request, error: Error | undefined): void {
    const { recorder, now } = this.options;
    this.inFlightRequests.delete(request);
    const at = now();
    const lane = request.lane;
    // The connection that carried it: the current one (a new socket may have been opened for it).
    const via = lane.connection ?? request.connection;
    // It may have gone out on a new socket opened for it: mark the one that really carried it.
    if (request.closeAfter && via) via.closingByClient = true;
    if (error) {
      const kind: ErrorKind = this.abandoning ? 'timeout' : classifyError(error);
      const example = this.abandoning ? 'abandoned: still in flight when the graceful stop ran out' : `${(error as { code?: string }).code ?? error.name}: ${error.message}`;
      recorder.failure(at, at - request.latencyFrom, kind, example, via?.via ?? this.fallbackVia, via?.pod ?? '');
    } else {
      const who = attributionFromHeaders(request.headers);
      const status = request.status;
      const errorKind = classifyStatus(status);
      if (via && who) this.tracker.answered(via, who.pod, who.connectionId);
      recorder.response(at, at - request.latencyFrom, who, via?.via ?? this.fallbackVia, via?.localAddress, errorKind, errorKind ? `HTTP ${status}` : undefined);
    }
    this.release(lane);
  }

  private release(lane: H1Lane): void {
    lane.inFlight--;
    lane.lastUsed = this.options.now();
    if (this.options.model === 'pooled' && lane.inFlight === this.options.pipelining - 1) this.idle.push(lane);
  }

  abortAll(): number {
    this.abandoning = true;
    const count = this.inFlightRequests.size;
    const reason = Object.assign(new Error('abandoned at the end of the graceful stop'), { code: 'KTH_TIMEOUT' });
    for (const request of [...this.inFlightRequests]) request.abort(reason);
    return count;
  }

  /** Closes every connection (recorded as closed by the client). */
  async close(): Promise<void> {
    this.tracker.closingAll();
    await Promise.all(this.lanes.map((lane) => lane.client.destroy().catch(() => {})));
    await this.tracker.settled();
  }
}

/**
 * One request's undici handler. A class (methods on the prototype) rather than closures: at tens
 * of thousands of requests per second, per-request closures and Promises are measurable garbage.
 */
class H1Request implements Dispatcher.DispatchHandler {
  status = 0;
  headers: Record<string, string | string[] | undefined> = {};
  private controller: Dispatcher.DispatchController | undefined;
  private settled = false;

  constructor(
    private readonly pool: H1Pool,
    readonly lane: H1Lane,
    readonly connection: TrackedConnection | undefined,
    readonly latencyFrom: number,
    /** Sent with Connection: close: the client ends the connection that carries it. */
    readonly closeAfter: boolean,
    private readonly token: unknown,
    private readonly done: (token: unknown) => void,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.status = statusCode;
    this.headers = headers;
  }

  onResponseData(): void {}

  onResponseEnd(): void {
    this.finish(undefined);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.finish(error);
  }

  abort(reason: Error): void {
    if (this.controller) this.controller.abort(reason);
    else this.finish(reason);
  }

  finish(error: Error | undefined): void {
    if (this.settled) return;
    this.settled = true;
    this.pool.complete(this, error);
    // Out of undici's call stack: the scheduler may dispatch the next request on this very client,
    // and undici is not re-entrant while it fails a queue of requests (it asserts).
    queueMicrotask(() => this.done(this.token));
  }
}
