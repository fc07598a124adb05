import http2, { type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { SourceRecorder } from '../../recorder/recorder.ts';
import { attributionFromHeaders } from '../attribution.ts';
import { classifyError, classifyStatus } from '../errors.ts';
import type { LanePool } from '../scheduler.ts';
import { ConnectionTracker, formatAddress, type TrackedConnection } from './connections.ts';

export interface H2PoolOptions {
  /** http://host:port (h2c, prior knowledge) or https://host:port (ALPN h2). */
  origin: string;
  path: string;
  method: string;
  headers: Record<string, string>;
  /** HTTP/2 connections (sessions) held for the run. */
  connections: number;
  /** Streams in flight per connection at most (also capped by the server's SETTINGS). @default 100 */
  streamsPerConnection: number;
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
 * session drains (streams ≤ last id complete) and the lane opens a replacement at once.
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

  acquire(_pin: number | undefined): H2Lane | undefined {
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
    const entry = lane.reserved.shift()!;
    const { recorder, now } = this.options;
    return new Promise<void>((resolve) => {
      let done = false;
      let status = 0;
      let headers: Record<string, string | string[] | undefined> = {};
      let stream: ClientHttp2Stream | undefined;
      const finish = (error?: Error) => {
        if (done) return;
        done = true;
        if (stream) this.streams.delete(stream);
        entry.inFlight--;
        const at = now();
        const connection = entry.connection;
        const via = connection?.via ?? this.fallbackVia;
        if (error) {
          const kind = this.abandoning ? 'timeout' : classifyError(error);
          const example = this.abandoning ? 'abandoned: still in flight when the graceful stop ran out' : `${(error as { code?: string }).code ?? error.name}: ${error.message}`;
          recorder.failure(at, at - latencyFrom, kind, example, via, connection?.pod ?? '');
        } else {
          const who = attributionFromHeaders(headers);
          const errorKind = classifyStatus(status);
          if (connection && who) this.tracker.answered(connection, who.pod, who.connectionId);
          recorder.response(at, at - latencyFrom, who, via, connection?.localAddress, errorKind, errorKind ? `HTTP ${status}` : undefined);
        }
        this.wake?.();
        resolve();
      };
      try {
        stream = entry.session.request({ ':method': this.options.method, ':path': this.options.path, ...this.options.headers }, { endStream: true });
      } catch (error) {
        finish(error as Error);
        return;
      }
      this.streams.add(stream);
      stream.setTimeout(this.options.requestTimeoutMs, () => {
        stream!.close(http2.constants.NGHTTP2_CANCEL);
        finish(Object.assign(new Error(`no response within ${this.options.requestTimeoutMs} ms`), { code: 'KTH_TIMEOUT' }));
      });
      stream.on('response', (responseHeaders) => {
        status = Number(responseHeaders[':status'] ?? 0);
        headers = responseHeaders as Record<string, string | string[] | undefined>;
      });
      stream.on('data', () => {});
      stream.on('end', () => finish());
      stream.on('error', (error) => finish(error));
      stream.on('close', () => {
        if (done) return;
        // Closed without 'end' or 'error': refused by a GOAWAY (stream id above last) or reset.
        const code = stream!.rstCode;
        finish(Object.assign(new Error(`stream closed with code ${code}`), { code: code === http2.constants.NGHTTP2_REFUSED_STREAM ? 'KTH_GOAWAY' : 'ECONNRESET' }));
      });
    });
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
