import http from 'node:http';
import http2, { type ServerHttp2Session } from 'node:http2';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConnectionTable, resetConnection, type TrackedConnection } from '../connections.ts';
import { type AnyRequest, type AnyResponse, isControlPath, pathOf, type Readiness, serveControl } from '../control.ts';
import { listen, stopAccepting } from '../listen.ts';
import { connectableHost, type PodIdentity } from '../pod-identity.ts';
import { IdentityHeader } from '../identity.ts';
import { createHttpRegistry, HttpCounters, type HttpServerMetrics } from './metrics.ts';
import { type HttpServerConfig, type HttpServerOptions, httpSettings, parseHttpServerOptions } from './options.ts';
import { ClosingHeader, closeReason, identityHeaders, requestKnobs, servedBy, type WhoBody } from './respond.ts';
import { sniffProtocol } from './sniff.ts';

export type { HttpServerConfig, HttpServerOptions } from './options.ts';
export type { HttpServerMetrics } from './metrics.ts';
export type { WhoBody } from './respond.ts';

export interface ShutdownOptions {
  /** Finish in-flight requests before closing (default: the server's `drain` setting). */
  drain?: boolean;
  /** Keep serving, reporting not-ready, this long first (default: `shutdownDelayMs`; ignored without drain). */
  delayMs?: number;
  /** Longest wait for in-flight work (default: `drainTimeoutMs`). */
  drainTimeoutMs?: number;
}

export interface ShutdownResult {
  /** Every connection closed on its own before the drain timeout. */
  drained: boolean;
  /** Connections still open when the server gave up waiting (or all of them without drain). */
  connectionsForced: number;
}

export interface RunningHttpServer extends AsyncDisposable {
  readonly config: HttpServerConfig;
  readonly host: string;
  readonly port: number;
  /** `http://<connectable address>:<port>` (0.0.0.0 becomes 127.0.0.1). */
  readonly url: string;
  metrics(): HttpServerMetrics;
  /** The same numbers in Prometheus text, as /metrics serves them. */
  metricsText(): Promise<string>;
  readonly ready: boolean;
  setReady(ready: boolean): void;
  /** Graceful shutdown as on SIGTERM: not-ready, delay, stop accepting, drain, close. Idempotent. */
  shutdown(options?: ShutdownOptions): Promise<ShutdownResult>;
  /** Closes at once, dropping in-flight requests (finishes a running shutdown the hard way). */
  close(): Promise<void>;
}

/**
 * Starts the sample HTTP server: one TCP listener whose connections are sniffed and handed to an
 * HTTP/1.1 server or, for prior-knowledge h2c, an HTTP/2 server. Owning the accept loop is what
 * makes the connection id truthful: it is assigned once per accepted TCP connection.
 */
export async function startHttpServer(options: HttpServerOptions = {}): Promise<RunningHttpServer> {
  const config = parseHttpServerOptions(options);
  const pod: PodIdentity = { pod: config.pod, node: config.node, podIp: config.podIp, namespace: config.namespace };
  const table = new ConnectionTable(config.pod);
  const counters = new HttpCounters();
  const sessions = new Map<TrackedConnection, ServerHttp2Session>();
  const sessionOwners = new WeakMap<ServerHttp2Session, TrackedConnection>();
  let wantReady = true;
  let shuttingDown = false;
  let accepting = true;
  const readiness: Readiness = { get: () => wantReady && !shuttingDown, set: (ready) => (wantReady = ready) };
  const { registry, observeClosed } = createHttpRegistry(counters, table, readiness);
  table.onClose((connection) => {
    sessions.delete(connection);
    observeClosed(connection);
  });

  const http1 = http.createServer((req, res) => dispatch(req, res, table.ofSocket(req.socket)));
  // Node 20 closes idle keep-alive sockets only after keepAliveTimeout plus a fixed 1 s buffer; the
  // harness measures client/server idle-timeout races, so the server keeps exact time itself.
  http1.keepAliveTimeout = 0;
  const idle = new IdleTimers(config.keepAliveTimeoutMs, (connection) => endConnection(connection));
  table.onClose((connection) => idle.disarm(connection));

  const h2 = http2.createServer((req, res) => dispatch(req, res, sessionOwners.get(req.stream.session as ServerHttp2Session)));
  h2.on('sessionError', () => {});
  // http2 creates the session synchronously inside emit('connection'), so the connection being
  // adopted is known there; this is how a session is tied to its TrackedConnection.
  let adopting: TrackedConnection | undefined;
  h2.on('session', (session: ServerHttp2Session) => {
    if (!adopting) return session.destroy();
    sessions.set(adopting, session);
    sessionOwners.set(session, adopting);
    session.on('error', () => {});
    if (config.keepAliveTimeoutMs > 0) session.setTimeout(config.keepAliveTimeoutMs, () => session.close());
  });

  const adopt = (connection: TrackedConnection, protocol: 'http/1.1' | 'h2') => {
    connection.protocol = protocol;
    counters.protocols[protocol] += 1;
    if (protocol === 'http/1.1') {
      idle.arm(connection);
      return void http1.emit('connection', connection.socket);
    }
    adopting = connection;
    try {
      h2.emit('connection', connection.socket);
    } finally {
      adopting = undefined;
    }
  };

  const listener = net.createServer({ noDelay: true }, (socket) => {
    socket.on('error', () => {});
    if (!accepting) return void socket.destroy();
    const connection = table.accept(socket);
    if (!config.h2c) return adopt(connection, 'http/1.1');
    void sniffProtocol(socket).then((protocol) => (protocol ? adopt(connection, protocol) : socket.destroy()));
  });

  function dispatch(req: AnyRequest, res: AnyResponse, connection: TrackedConnection | undefined): void {
    if (!connection) return void res.destroy();
    // connection.inFlight counts every request on the connection (probes too); counters.inFlight only workload.
    connection.inFlight += 1;
    idle.disarm(connection);
    res.once('close', () => {
      connection.inFlight -= 1;
      if (connection.inFlight > 0) return;
      if (connection.closing) endConnection(connection);
      else if (connection.protocol === 'http/1.1') idle.arm(connection);
    });
    if (connection.protocol === 'http/1.1' && config.keepAliveTimeoutMs > 0) {
      res.setHeader('keep-alive', `timeout=${Math.floor(config.keepAliveTimeoutMs / 1000)}`);
    }
    handle(req, res, connection).catch(() => {
      if (!res.headersSent) {
        res.statusCode = 500;
        res.end();
      } else res.destroy();
    });
  }

  async function handle(req: AnyRequest, res: AnyResponse, connection: TrackedConnection): Promise<void> {
    const sequence = connection.nextSequence();
    const path = pathOf(req.url);
    const served = servedBy(pod, connection, sequence);
    for (const [name, value] of Object.entries(identityHeaders(served))) res.setHeader(name, value as string);
    const forwardedFor = req.headers['x-forwarded-for'];
    if (forwardedFor !== undefined) res.setHeader(IdentityHeader.forwardedFor, Array.isArray(forwardedFor) ? forwardedFor.join(', ') : forwardedFor);

    if (isControlPath(path)) {
      counters.control += 1;
      markClosing(res, connection, sequence);
      return serveControl(req, res, path, { registry, readiness });
    }

    counters.requests += 1;
    table.countWorkload(connection);
    counters.inFlight += 1;
    // Aborted when the response closes, so a delay never outlives its connection (or the server).
    const gone = new AbortController();
    res.once('finish', () => counters.responded(res.statusCode));
    res.once('close', () => {
      gone.abort();
      counters.inFlight -= 1;
    });

    const knobs = requestKnobs(req, config);
    if (typeof knobs === 'string') return sendJson(res, 400, { error: knobs }, connection, sequence);
    if (knobs.delayMs > 0) await sleep(knobs.delayMs, undefined, { signal: gone.signal }).catch(() => {});
    if (gone.signal.aborted) return;

    const injected = config.errorRate > 0 && Math.random() < config.errorRate;
    if (injected) counters.errorsInjected += 1;
    const status = injected ? 500 : 200;
    const body: WhoBody = {
      ...served,
      protocol: connection.protocol === 'h2' ? 'h2' : 'http/1.1',
      method: req.method ?? 'GET',
      path,
      status,
      ...(knobs.payloadBytes > 0 ? { payload: 'x'.repeat(knobs.payloadBytes) } : {}),
      ...(injected ? { error: 'injected' as const } : {}),
    };
    sendJson(res, status, body, connection, sequence);
  }

  /** Tells the client this connection ends after the response: Connection: close, or GOAWAY on h2. */
  function markClosing(res: AnyResponse, connection: TrackedConnection, sequence: number): void {
    const reason = closeReason(connection, sequence, config);
    if (!reason) return;
    connection.closing = true;
    res.setHeader(ClosingHeader, reason);
    if (connection.protocol === 'http/1.1') {
      res.setHeader('connection', 'close');
      res.removeHeader('keep-alive');
    }
    else sessions.get(connection)?.close();
  }

  function sendJson(res: AnyResponse, status: number, body: unknown, connection: TrackedConnection, sequence: number): void {
    markClosing(res, connection, sequence);
    const text = `${JSON.stringify(body)}\n`;
    res.statusCode = status;
    res.setHeader('content-type', 'application/json');
    res.setHeader('content-length', Buffer.byteLength(text));
    res.end(text);
  }

  /** Closes a connection the server is done with, without cutting a response short. */
  function endConnection(connection: TrackedConnection): void {
    if (connection.protocol === 'h2') return void sessions.get(connection)?.close();
    if (connection.protocol === 'pending') return void connection.socket.destroy();
    if (connection.inFlight === 0 && !connection.socket.writableEnded) connection.socket.end(() => connection.socket.destroy());
  }

  const port = await listen(listener, config.host, config.port, httpSettings);

  let shutdownRun: Promise<ShutdownResult> | undefined;
  const forceAll = () => {
    const open = table.open();
    // A reset, not a FIN: the client learns at once that its in-flight work is lost.
    for (const connection of open) resetConnection(connection.socket);
    return open.length;
  };

  const shutdown = (opts: ShutdownOptions = {}): Promise<ShutdownResult> => {
    shutdownRun ??= (async () => {
      const drain = opts.drain ?? config.drain;
      shuttingDown = true;
      const delayMs = opts.delayMs ?? config.shutdownDelayMs;
      if (drain && delayMs > 0) await sleep(delayMs);
      accepting = false;
      stopAccepting(listener);
      let result: ShutdownResult;
      if (!drain) {
        result = { drained: false, connectionsForced: forceAll() };
      } else {
        for (const connection of table.open()) {
          connection.closing = true;
          endConnection(connection);
        }
        const timeout = new AbortController();
        const drained = await Promise.race([
          table.whenEmpty().then(() => true),
          sleep(opts.drainTimeoutMs ?? config.drainTimeoutMs, false, { signal: timeout.signal }).catch(() => false),
        ]);
        timeout.abort();
        result = { drained, connectionsForced: drained ? 0 : forceAll() };
      }
      // Destroyed sockets report 'close' within a tick; the bound only guards against one that never does.
      await Promise.race([table.whenEmpty(), sleep(2000, undefined, { ref: false })]);
      // Neither server ever listened (connections are handed to them); close() just stops their timers.
      http1.close();
      h2.close();
      return result;
    })();
    return shutdownRun;
  };

  const close = async (): Promise<void> => {
    if (shutdownRun) forceAll();
    await shutdown({ drain: false });
  };

  return {
    config,
    host: config.host,
    port,
    url: `http://${urlHost(connectableHost(config.host))}:${port}`,
    metrics: () => counters.snapshot(table, readiness),
    metricsText: () => registry.metrics(),
    get ready() {
      return readiness.get();
    },
    setReady: (ready) => readiness.set(ready),
    shutdown,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * One idle timer per HTTP/1.1 connection: armed whenever the connection has no request in flight
 * (from accept, and after each response), disarmed when a request arrives. Exact, unlike Node's own.
 */
class IdleTimers {
  private readonly timers = new Map<TrackedConnection, NodeJS.Timeout>();
  constructor(
    private readonly timeoutMs: number,
    private readonly onIdle: (connection: TrackedConnection) => void,
  ) {}

  arm(connection: TrackedConnection): void {
    if (this.timeoutMs <= 0) return;
    this.disarm(connection);
    const timer = setTimeout(() => {
      this.timers.delete(connection);
      if (connection.inFlight === 0) this.onIdle(connection);
    }, this.timeoutMs);
    timer.unref();
    this.timers.set(connection, timer);
  }

  disarm(connection: TrackedConnection): void {
    const timer = this.timers.get(connection);
    if (timer) clearTimeout(timer);
    this.timers.delete(connection);
  }
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
