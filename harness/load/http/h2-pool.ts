import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import type { Socket } from 'node:net';
import type { ErrorKind } from '../../recorder/events.ts';
import type { Attribution, SourceRecorder } from '../../recorder/recorder.ts';
import { attributionFromHeaders } from '../attribution.ts';
import { classifyError, classifyStatus } from '../errors.ts';
import type { LanePool } from '../scheduler.ts';
import { ConnectionTracker, formatAddress, type TrackedConnection } from './connections.ts';

/** How a completed stream is read: who served it, and whether it failed. */
export interface H2Outcome {
  who: Attribution | undefined;
  /** The request failed without an answer worth attributing (a gRPC call with a non-OK status). */
  failed?: boolean;
  errorKind?: ErrorKind;
  example?: string;
}

/**
 * What one stream carries and how its answer is read. The pool does the connection work (sessions,
 * GOAWAY, timeouts, tracking); the exchange is the protocol on top: plain HTTP reads the status and
 * identity headers, gRPC sends a framed message and reads the reply and its trailers.
 */
export interface H2Exchange {
  /** Request headers, pseudo-headers included. */
  readonly headers: OutgoingHttpHeaders;
  /** The request body written with the headers; undefined sends the headers alone (END_STREAM). */
  readonly body: Buffer | undefined;
  /** Whether `outcome` needs the response body (else it is discarded as it arrives). */
  readonly readsBody: boolean;
  outcome(headers: IncomingHttpHeaders, trailers: IncomingHttpHeaders | undefined, body: Buffer | undefined): H2Outcome;
}

/** Plain HTTP over h2: any body is discarded; the status and x-kth-* headers say it all. */
export function httpExchange(method: string, path: string, headers: Record<string, string>): H2Exchange {
  return {
    headers: { ':method': method, ':path': path, ...headers },
    body: undefined,
    readsBody: false,
    outcome(responseHeaders) {
      const status = Number(responseHeaders[':status'] ?? 0);
      const errorKind = classifyStatus(status);
      return { who: attributionFromHeaders(responseHeaders as Record<string, string | string[] | undefined>), ...(errorKind ? { errorKind, example: `HTTP ${status}` } : {}) };
    },
  };
}

export interface H2PoolOptions {
  /** http://host:port (h2c, prior knowledge) or https://host:port (ALPN h2). */
  origin: string;
  exchange: H2Exchange;
  /** HTTP/2 connections (sessions) held for the run. */
  connections: number;
  /** Streams in flight per connection at most (also capped by the server's SETTINGS). @default 100 */
  streamsPerConnection: number;
  /** PING every session this often (like a gRPC client's keepalive); undefined = never. */
  keepaliveTimeMs?: number;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  recorder: SourceRecorder;
  now: () => number;
}

interface Session {
  session: ClientHttp2Session;
  connection: TrackedConnection | undefined;
  inFlight: number;
  /** False once a GOAWAY arrived or the session closed: no new streams on it. */
  usable: boolean;
}

interface H2Lane {
  index: number;
  current: Session | undefined;
  /** The session a reservation was made on (kept on the lane between acquire and run). */
  reserved: Session[];
}

/**
 * HTTP/2 with node:http2 directly (not undici, whose GOAWAY handling fails the request at the
 * head of the queue even for a graceful GOAWAY): N sessions held, each multiplexing up to
 * `streamsPerConnection` streams. A GOAWAY is recorded with its error code and last stream id; the
 * session drains (streams ≤ last id complete) and the lane opens a replacement at once. Serves
 * both the `h2` HTTP model and the gRPC unary client (see {@link H2Exchange}).
 */
export class H2Pool implements LanePool<H2Lane> {
  private readonly lanes: H2Lane[] = [];
  private readonly tracker: ConnectionTracker;
  private readonly streams = new Set<ClientHttp2Stream>();
  private readonly sessions = new Set<Session>();
  private abandoning = false;
  private closing = false;
  private wake: (() => void) | undefined;
  private readonly fallbackVia: string;

  constructor(private readonly options: H2PoolOptions) {
    this.tracker = new ConnectionTracker(options.recorder, options.now);
    const url = new URL(options.origin);
    this.fallbackVia = formatAddress(url.hostname.replace(/^\[|\]$/g, ''), Number(url.port || (url.protocol === 'https:' ? 443 : 80)));
    for (let i = 0; i < options.connections; i++) this.lanes.push({ index: i, current: undefined, reserved: [] });
    for (const lane of this.lanes) lane.current = this.connect(lane);
  }

  onCapacity = (wake: () => void) => {
    this.wake = wake;
  };

  private connect(lane: H2Lane): Session {
    const session = http2.connect(this.options.origin, { peerMaxConcurrentStreams: this.options.streamsPerConnection });
    const entry: Session = { session, connection: undefined, inFlight: 0, usable: true };
    this.sessions.add(entry);
    const keepalive = this.options.keepaliveTimeMs ? setInterval(() => void session.ping(() => {}), this.options.keepaliveTimeMs) : undefined;
    keepalive?.unref();
    const connectTimer = setTimeout(() => {
      if (!entry.connection) session.destroy(Object.assign(new Error(`connect timeout after ${this.options.connectTimeoutMs} ms`), { code: 'UND_ERR_CONNECT_TIMEOUT' }));
    }, this.options.connectTimeoutMs);
    connectTimer.unref();
    session.on('connect', (_session, socket) => {
      clearTimeout(connectTimer);
      entry.connection = this.tracker.opened(socket as Socket, () => {});
      this.wake?.();
    });
    session.on('remoteSettings', () => this.wake?.());
    session.on('goaway', (errorCode: number, lastStreamID: number) => {
      // A graceful shutdown may send two GOAWAYs (a warning, then the final last-stream id): one
      // connection told to go away is one event, as the servers count it.
      if (!entry.usable) return;
      entry.usable = false;
      const connection = entry.connection;
      this.options.recorder.event({
        kind: 'goaway',
        t: this.options.now(),
        source: this.options.recorder.source,
        clientConnection: connection?.id ?? '',
        pod: connection?.pod ?? '',
        errorCode,
        lastStreamId: lastStreamID,
        inferred: false,
        detail: `GOAWAY code ${errorCode}, last stream ${lastStreamID}`,
      });
      this.replace(lane, entry);
    });
    session.on('error', (error: Error & { code?: string }) => {
      if (entry.connection) entry.connection.lastError = `${error.code ?? error.name}: ${error.message}`;
    });
    session.on('close', () => {
      clearTimeout(connectTimer);
      clearInterval(keepalive);
      entry.usable = false;
      this.sessions.delete(entry);
      this.replace(lane, entry);
    });
    return entry;
  }

  /** A lane's session can no longer take streams: open its replacement (persistent connections stay N). */
  private replace(lane: H2Lane, old: Session): void {
    if (lane.current !== old || this.closing) return;
    lane.current = this.connect(lane);
  }

  private room(entry: Session | undefined): boolean {
    if (!entry || !entry.usable || entry.session.destroyed || entry.session.closed) return false;
    const remote = entry.session.remoteSettings?.maxConcurrentStreams ?? Infinity;
    return entry.inFlight < Math.min(this.options.streamsPerConnection, remote);
  }

  acquire(pin: number | undefined): H2Lane | undefined {
    // A pinned request (gRPC channels, each with its own share of the schedule) waits for its own lane.
    if (pin !== undefined) {
      const lane = this.lanes[pin % this.lanes.length]!;
      if (!this.room(lane.current)) return undefined;
      lane.current!.inFlight++;
      lane.reserved.push(lane.current!);
      return lane;
    }
    // Least-loaded session first: spreads streams like a client multiplexing over few connections.
    let best: H2Lane | undefined;
    for (const lane of this.lanes) {
      if (!this.room(lane.current)) continue;
      if (!best || lane.current!.inFlight < best.current!.inFlight) best = lane;
    }
    if (!best) return undefined;
    best.current!.inFlight++;
    best.reserved.push(best.current!);
    return best;
  }

  run<T>(lane: H2Lane, latencyFrom: number, sentAt: number, token: T, done: (token: T) => void): void {
    void this.runOne(lane, latencyFrom, sentAt).then(() => done(token));
  }

  private runOne(lane: H2Lane, latencyFrom: number, _sentAt: number): Promise<void> {
    let entry = lane.reserved.shift()!;
    const { recorder, now, exchange } = this.options;
    return new Promise<void>((resolve) => {
      let done = false;
      let retried = false;
      let headers: IncomingHttpHeaders = {};
      let trailers: IncomingHttpHeaders | undefined;
      let chunks: Buffer[] | undefined;
      let stream: ClientHttp2Stream | undefined;
      const finish = (error?: Error) => {
        if (done) return;
        if (stream) this.streams.delete(stream);
        entry.inFlight--;
        // A stream refused by a GOAWAY (id above the last one) never reached the application
        // (RFC 9113 §8.7): retried once on the lane's next connection, as HTTP/2 clients and
        // gRPC's transparent retry do. The GOAWAY itself is on the timeline.
        if (error && !retried && !this.abandoning && !this.closing && stream?.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM) {
          retried = true;
          entry = this.sessionOf(lane);
          entry.inFlight++;
          attempt();
          return;
        }
        done = true;
        const at = now();
        const connection = entry.connection;
        const via = connection?.via ?? this.fallbackVia;
        if (error) {
          const kind = this.abandoning ? 'timeout' : classifyError(error);
          const example = this.abandoning ? 'abandoned: still in flight when the graceful stop ran out' : `${(error as { code?: string }).code ?? error.name}: ${error.message}`;
          recorder.failure(at, at - latencyFrom, kind, example, via, connection?.pod ?? '');
        } else {
          const body = chunks === undefined ? undefined : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
          const { who, failed, errorKind, example } = exchange.outcome(headers, trailers, body);
          if (failed) recorder.failure(at, at - latencyFrom, errorKind ?? 'other', example ?? 'failed', via, connection?.pod ?? '');
          else {
            if (connection && who) this.tracker.answered(connection, who.pod, who.connectionId);
            recorder.response(at, at - latencyFrom, who, via, connection?.localAddress, errorKind, example);
          }
        }
        this.wake?.();
        resolve();
      };
      const attempt = () => {
        headers = {};
        trailers = undefined;
        chunks = exchange.readsBody ? [] : undefined;
        let current: ClientHttp2Stream;
        try {
          current = stream = entry.session.request(exchange.headers, { endStream: exchange.body === undefined });
          if (exchange.body !== undefined) current.end(exchange.body);
        } catch (error) {
          stream = undefined;
          finish(error as Error);
          return;
        }
        this.streams.add(current);
        // Events of a stream given up for a retry must not touch the attempt that replaced it.
        const live = () => stream === current;
        current.setTimeout(this.options.requestTimeoutMs, () => {
          if (!live()) return;
          current.close(http2.constants.NGHTTP2_CANCEL);
          finish(Object.assign(new Error(`no response within ${this.options.requestTimeoutMs} ms`), { code: 'KTH_TIMEOUT' }));
        });
        current.on('response', (responseHeaders) => {
          if (live()) headers = responseHeaders;
        });
        current.on('trailers', (received) => {
          if (live()) trailers = received;
        });
        current.on('data', (chunk: Buffer) => {
          if (live()) chunks?.push(chunk);
        });
        current.on('end', () => live() && finish());
        current.on('error', (error) => live() && finish(error));
        current.on('close', () => {
          if (done || !live()) return;
          // Closed without 'end' or 'error': refused by a GOAWAY (stream id above last) or reset.
          const code = current.rstCode;
          finish(Object.assign(new Error(`stream closed with code ${code}`), { code: code === http2.constants.NGHTTP2_REFUSED_STREAM ? 'KTH_GOAWAY' : 'ECONNRESET' }));
        });
      };
      attempt();
    });
  }

  /** The lane's usable session, opening one if its current session can take no streams. */
  private sessionOf(lane: H2Lane): Session {
    const current = lane.current;
    if (current && current.usable && !current.session.destroyed && !current.session.closed) return current;
    lane.current = this.connect(lane);
    return lane.current;
  }

  abortAll(): number {
    this.abandoning = true;
    const count = this.streams.size;
    for (const stream of [...this.streams]) stream.destroy(Object.assign(new Error('abandoned'), { code: 'KTH_TIMEOUT' }));
    return count;
  }

  async close(): Promise<void> {
    this.closing = true;
    this.tracker.closingAll();
    for (const entry of this.sessions) entry.session.close();
    await this.tracker.settled();
    for (const entry of this.sessions) entry.session.destroy();
  }
}
