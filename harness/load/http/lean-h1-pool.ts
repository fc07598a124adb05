import net, { type Socket } from 'node:net';
import type { Attribution, SourceRecorder } from '../../recorder/recorder.ts';
import { parsePeer } from '../../workloads/identity.ts';
import { forwardedClient } from '../attribution.ts';
import { classifyError, classifyStatus } from '../errors.ts';
import type { LanePool } from '../scheduler.ts';
import { ConnectionTracker, formatAddress, type TrackedConnection } from './connections.ts';
import { H1ResponseParser, type H1ResponseHead } from './h1-parser.ts';

export interface LeanH1PoolOptions {
  origin: string;
  path: string;
  method: string;
  headers: Record<string, string>;
  /** persistent: N connections held (re-opened if the server closes one); short-lived: a new connection per request. */
  model: 'persistent' | 'short-lived';
  connections: number;
  /** Requests in flight per connection (HTTP/1.1 pipelining; persistent only). */
  pipelining: number;
  /**
   * persistent: a held connection older than this carries one last request with Connection: close
   * and its lane reconnects (a new backend pick), like a proxy's max connection duration. 0 = never.
   */
  maxAgeMs?: number;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  recorder: SourceRecorder;
  now: () => number;
}

/** One request written (or about to be) on a connection; answered in order. */
interface Sent {
  latencyFrom: number;
  sentAt: number;
  token: unknown;
  done: (token: unknown) => void;
}

interface Lane {
  index: number;
  /** Requests reserved on this lane (written or about to be). */
  reserved: number;
  connection: LeanConnection | undefined;
}

/**
 * Every read of every socket lands in this one buffer (net's `onread`): idle sockets hold no read
 * buffer at all, and a read allocates nothing. Safe because reads are handled synchronously and the
 * parser copies only a head split across reads.
 */
const readBuffer = Buffer.allocUnsafe(64 * 1024);

/** How long a connection answered with Connection: close waits for the server to close it. */
const lingerMs = 1000;

/**
 * HTTP/1.1 over plain `net.Socket`s for the `persistent` and `short-lived` models: a pre-built
 * request buffer written per request, and {@link H1ResponseParser} reading the status, identity
 * headers and framing. Measured against undici's Client (bench/load/clients.ts), it does about twice
 * the requests per core, and a held connection costs a socket and two small objects instead of a
 * Client. Every response is still attributed from its own headers; failures are classified;
 * connections are recorded by the same {@link ConnectionTracker}.
 */
export class LeanH1Pool implements LanePool<Lane> {
  private readonly lanes: Lane[] = [];
  private readonly tracker: ConnectionTracker;
  private readonly host: string;
  private readonly port: number;
  private readonly fallbackVia: string;
  private readonly keepAliveRequest: Buffer;
  private readonly closeRequest: Buffer;
  private readonly capacity: number;
  private readonly sweeper: NodeJS.Timeout;
  private abandoning = false;
  private closed = false;
  /** Connections answered with Connection: close, waiting for the server's FIN (see LeanConnection.linger). */
  readonly lingering = new Set<LeanConnection>();

  constructor(private readonly options: LeanH1PoolOptions) {
    this.tracker = new ConnectionTracker(options.recorder, options.now);
    const url = new URL(options.origin);
    this.host = url.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(url.port || 80);
    this.fallbackVia = formatAddress(this.host, this.port);
    // The request never changes: build its bytes once.
    const lines = [`${options.method} ${options.path} HTTP/1.1`];
    const names = new Set(Object.keys(options.headers).map((name) => name.toLowerCase()));
    if (!names.has('host')) lines.push(`host: ${url.host}`);
    for (const [name, value] of Object.entries(options.headers)) if (name.toLowerCase() !== 'connection') lines.push(`${name}: ${value}`);
    if (!names.has('content-length') && /^(POST|PUT|PATCH)$/i.test(options.method)) lines.push('content-length: 0');
    const head = lines.join('\r\n');
    this.keepAliveRequest = Buffer.from(`${head}\r\n\r\n`, 'latin1');
    this.closeRequest = Buffer.from(`${head}\r\nconnection: close\r\n\r\n`, 'latin1');
    this.capacity = options.model === 'short-lived' ? 1 : options.pipelining;
    for (let i = 0; i < options.connections; i++) this.lanes.push({ index: i, reserved: 0, connection: undefined });
    // One timer checks every lane for request and connect timeouts: no timer per request.
    const sweepMs = Math.max(10, Math.min(500, Math.floor(Math.min(options.requestTimeoutMs, options.connectTimeoutMs) / 10)));
    this.sweeper = setInterval(() => this.sweep(), sweepMs);
    this.sweeper.unref();
  }

  acquire(pin: number | undefined): Lane | undefined {
    if (pin !== undefined) {
      const lane = this.lanes[pin % this.lanes.length]!;
      if (lane.reserved >= this.capacity) return undefined;
      lane.reserved++;
      return lane;
    }
    for (const lane of this.lanes) {
      if (lane.reserved < this.capacity) {
        lane.reserved++;
        return lane;
      }
    }
    return undefined;
  }

  run<T>(lane: Lane, latencyFrom: number, sentAt: number, token: T, done: (token: T) => void): void {
    let connection = lane.connection;
    if (!connection || connection.finished || connection.retiring) connection = lane.connection = new LeanConnection(this, lane);
    connection.sent.push({ latencyFrom, sentAt, token, done: done as (token: unknown) => void });
    const maxAgeMs = this.options.maxAgeMs ?? 0;
    // Age counts from the connect; its last request says Connection: close, so the server closes.
    if (maxAgeMs > 0 && connection.tracked && this.options.now() - connection.openedAt >= maxAgeMs) connection.retiring = true;
    // Written now even while connecting: net.Socket queues it until the connection is up.
    connection.socket.write(this.options.model === 'short-lived' || connection.retiring ? this.closeRequest : this.keepAliveRequest);
  }

  /** @internal */
  now(): number {
    return this.options.now();
  }

  /** @internal Opens the socket of a new connection. */
  connect(connection: LeanConnection): Socket {
    const held = this.options.model === 'persistent';
    return net.connect({
      host: this.host,
      port: this.port,
      // Two setsockopt calls worth making only for connections that are held (and carry pipelined
      // writes); a short-lived connection carries one request in one write.
      noDelay: held,
      keepAlive: held,
      keepAliveInitialDelay: 60_000,
      onread: { buffer: readBuffer, callback: (bytes: number, buffer: Uint8Array) => connection.read(buffer as Buffer, bytes) },
    });
  }

  /** @internal The socket connected: from now on it is a tracked connection. */
  connected(connection: LeanConnection): TrackedConnection {
    return this.tracker.opened(connection.socket, () => {}, this.options.model === 'short-lived');
  }

  /** @internal One response arrived for `sent`: attribute it, record it, free the lane's slot. */
  answered(connection: LeanConnection, sent: Sent, head: H1ResponseHead): void {
    const at = this.options.now();
    const tracked = connection.tracked;
    const who = connection.attribute(head);
    const errorKind = classifyStatus(head.status);
    if (who && tracked) this.tracker.answered(tracked, who.pod, who.connectionId);
    this.options.recorder.response(at, at - sent.latencyFrom, who, tracked?.via ?? this.fallbackVia, tracked?.localAddress, errorKind, errorKind ? `HTTP ${head.status}` : undefined);
    connection.lane.reserved--;
    sent.done(sent.token);
  }

  /** @internal A request failed without a (complete) response. */
  failed(connection: LeanConnection, sent: Sent, error: Error): void {
    const at = this.options.now();
    const tracked = connection.tracked;
    const kind = this.abandoning ? 'timeout' : classifyError(error);
    const example = this.abandoning ? 'abandoned: still in flight when the graceful stop ran out' : `${(error as { code?: string }).code ?? error.name}: ${error.message}`;
    this.options.recorder.failure(at, at - sent.latencyFrom, kind, example, tracked?.via ?? this.fallbackVia, tracked?.pod ?? '');
    connection.lane.reserved--;
    sent.done(sent.token);
  }

  /** @internal HEAD responses carry no body, whatever their Content-Length says. */
  get bodyless(): boolean {
    return this.options.method.toUpperCase() === 'HEAD';
  }

  /** @internal Whether the client ends the connection after its response (short-lived model). */
  get closesAfterResponse(): boolean {
    return this.options.model === 'short-lived';
  }

  private sweep(): void {
    const now = this.options.now();
    const { requestTimeoutMs, connectTimeoutMs } = this.options;
    for (const connection of this.lingering) if (now - connection.lingerSince > lingerMs) connection.socket.destroy();
    for (const lane of this.lanes) {
      const connection = lane.connection;
      if (!connection || connection.finished) continue;
      if (!connection.tracked && now - connection.openedAt > connectTimeoutMs) {
        connection.fail(Object.assign(new Error(`connect timed out after ${connectTimeoutMs} ms`), { code: 'UND_ERR_CONNECT_TIMEOUT' }));
      } else if (connection.sent.length > 0 && now - connection.sent[0]!.sentAt > requestTimeoutMs) {
        connection.fail(Object.assign(new Error(`no complete response within ${requestTimeoutMs} ms`), { code: 'KTH_TIMEOUT' }));
      }
    }
  }

  abortAll(): number {
    this.abandoning = true;
    const reason = Object.assign(new Error('abandoned at the end of the graceful stop'), { code: 'KTH_TIMEOUT' });
    let count = 0;
    for (const lane of this.lanes) {
      const connection = lane.connection;
      if (!connection || connection.finished || connection.sent.length === 0) continue;
      count += connection.sent.length;
      connection.fail(reason);
    }
    return count;
  }

  /** Closes every connection (recorded as closed by the client). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    this.tracker.closingAll();
    for (const lane of this.lanes) lane.connection?.socket.destroy();
    for (const connection of this.lingering) connection.socket.destroy();
    await this.tracker.settled();
  }
}

/** One TCP connection of a lane: its socket, parser and the requests it carries, oldest first. */
class LeanConnection {
  readonly socket: Socket;
  readonly parser: H1ResponseParser;
  readonly openedAt: number;
  sent: Sent[] = [];
  tracked: TrackedConnection | undefined;
  /** Closed, failed, or closing after its last response: the lane opens a new one for the next request. */
  finished = false;
  /** Past the pool's max age: its last request is written, the next goes on a new connection. */
  retiring = false;
  /** When it started waiting for the server's FIN (see {@link linger}). */
  lingerSince = 0;
  /** Reused per response (the recorder copies what it keeps); strings are kept while unchanged. */
  private who: Attribution | undefined;
  private peerRaw = '';
  private forwardedRaw = '';

  constructor(
    private readonly pool: LeanH1Pool,
    readonly lane: Lane,
  ) {
    this.openedAt = pool.now();
    this.parser = new H1ResponseParser((head) => this.onResponse(head), pool.bodyless);
    this.socket = pool.connect(this);
    this.socket.once('connect', () => (this.tracked = pool.connected(this)));
    this.socket.on('error', (error) => this.fail(error));
    this.socket.once('end', () => this.onEnd());
    this.socket.once('close', () => {
      pool.lingering.delete(this);
      this.fail(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }));
    });
  }

  /** net's onread callback: parses the bytes in place (the buffer is shared); true = keep reading. */
  read(buffer: Buffer, bytes: number): boolean {
    if (!this.finished && !this.parser.feed(buffer, 0, bytes)) this.fail(this.parser.error!);
    return true;
  }

  private onResponse(head: H1ResponseHead): void {
    if (this.finished) return; // bytes after a closing response: ignored
    const sent = this.sent.shift();
    if (!sent) return this.fail(Object.assign(new Error(`a response (HTTP ${head.status}) arrived with no request in flight`), { code: 'KTH_HTTP_PROTOCOL' }));
    // Connection: close from the server, or our own short-lived close: this connection is done
    // after this response. Mark it before `answered`, whose done() may send the lane's next request.
    const retired = this.retiring && this.sent.length === 0;
    const last = head.close || this.pool.closesAfterResponse || retired;
    if (last) {
      this.finished = true;
      if ((this.pool.closesAfterResponse || retired) && this.tracked) this.tracked.closingByClient = true;
    }
    this.pool.answered(this, sent, head);
    if (last) {
      // Requests pipelined behind a closing response were never answered.
      this.failSent(Object.assign(new Error('the server closed the connection (Connection: close) before answering'), { code: 'UND_ERR_SOCKET' }));
      if (head.close) this.linger();
      else this.socket.destroy();
    }
  }

  /**
   * The server said Connection: close, so its FIN is on the way: close when it arrives (bounded by
   * the pool's sweep). Closing first would leave the client's side in TIME_WAIT, and thousands of
   * client TIME_WAIT sockets make every connect() search longer for a free port: measured, short-lived
   * requests per second fell by half. (wrk gets the same effect by reading the FIN with the response.)
   */
  private linger(): void {
    this.lingerSince = this.pool.now();
    this.pool.lingering.add(this);
  }

  /** The server ended its side: a body delimited by the close completes, anything else was cut short. */
  private onEnd(): void {
    if (this.finished) {
      this.socket.destroy(); // the FIN a lingering connection waited for
      return;
    }
    const complete = this.parser.end();
    if (this.finished) return;
    const where = complete ? 'before answering' : this.parser.describeCut();
    this.fail(Object.assign(new Error(`other side closed ${where}`), { code: complete ? 'UND_ERR_SOCKET' : 'KTH_CLOSED_MID_RESPONSE' }));
  }

  /** Identity from this response's own headers (strings kept while unchanged, so Map lookups hit cached hashes). */
  attribute(head: H1ResponseHead): Attribution | undefined {
    if (!head.pod) return undefined;
    let who = this.who;
    if (!who) who = this.who = { pod: head.pod, node: head.node, podIp: head.podIp, connectionId: head.connectionId, sequence: 0, peerAddress: '' };
    if (who.pod !== head.pod) who.pod = head.pod;
    if (who.node !== head.node) who.node = head.node;
    if (who.podIp !== head.podIp) who.podIp = head.podIp;
    if (who.connectionId !== head.connectionId) who.connectionId = head.connectionId;
    if (this.peerRaw !== head.peer) {
      this.peerRaw = head.peer;
      who.peerAddress = head.peer ? (parsePeer(head.peer)?.address ?? '') : '';
    }
    const sequence = head.sequence ? Number(head.sequence) : 0;
    who.sequence = Number.isFinite(sequence) ? sequence : 0;
    if (this.forwardedRaw !== head.forwardedFor) {
      this.forwardedRaw = head.forwardedFor;
      const client = forwardedClient(head.forwardedFor);
      if (client) who.forwardedFor = client;
      else delete who.forwardedFor;
    }
    return who;
  }

  /** Ends the connection and fails whatever it still carries. Idempotent. */
  fail(error: Error): void {
    if (this.finished && this.sent.length === 0) {
      this.socket.destroy();
      return;
    }
    this.finished = true;
    if (this.tracked && (error as { code?: string }).code !== 'UND_ERR_SOCKET') this.tracked.lastError ||= `${(error as { code?: string }).code ?? error.name}: ${error.message}`;
    this.socket.destroy();
    this.failSent(error);
  }

  private failSent(error: Error): void {
    const sent = this.sent;
    if (sent.length === 0) return;
    this.sent = [];
    for (const request of sent) this.pool.failed(this, request, error);
  }
}
