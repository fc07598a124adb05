import type { Socket } from 'node:net';
import { normalizeAddress } from './pod-identity.ts';

export type ConnectionProtocol = 'pending' | 'http/1.1' | 'h2' | 'grpc';

/** What a server knows about one accepted TCP connection. */
export class TrackedConnection {
  /** `<pod>/<n>`: n counts accepted TCP connections in this process, from 1. */
  readonly id: string;
  readonly socket: Socket;
  readonly peerAddress: string;
  readonly peerPort: number;
  /** `remoteAddress:remotePort` exactly as Node.js reports it; grpc-js `call.getPeer()` uses the same form. */
  readonly peerKey: string;
  readonly openedAt = performance.now();
  protocol: ConnectionProtocol = 'pending';
  /** Workload requests (or RPCs) served on this connection; control requests (probes, scrapes) excluded. */
  workloadRequests = 0;
  /** Requests being served on this connection right now (any path). */
  inFlight = 0;
  /** The server decided to close this connection (drain, max age, max requests); no new work should start. */
  closing = false;
  private sequence = 0;

  constructor(id: string, socket: Socket) {
    this.id = id;
    this.socket = socket;
    this.peerAddress = normalizeAddress(socket.remoteAddress);
    this.peerPort = socket.remotePort ?? 0;
    this.peerKey = peerKeyOf(socket.remoteAddress, socket.remotePort);
  }

  /** The 1-based sequence of the next request on this connection (every request counts, probes too). */
  nextSequence(): number {
    this.sequence += 1;
    return this.sequence;
  }

  get requestsSeen(): number {
    return this.sequence;
  }

  ageMs(now = performance.now()): number {
    return now - this.openedAt;
  }
}

/**
 * Closes a socket with a TCP reset (so the peer sees ECONNRESET). A socket whose write side is
 * already shut down (FIN sent) is destroyed plainly instead: libuv refuses to reset it, and then
 * Node never emits 'close' for it, which would leave it in the table forever.
 */
export function resetConnection(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.writableEnded) return void socket.destroy();
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

export function peerKeyOf(address: string | undefined, port: number | undefined): string {
  if (!address) return 'unknown';
  return port ? `${address}:${port}` : address;
}

/**
 * Every connection a server accepted: the open ones (by socket and by peer address) and, for the
 * cross-checks, the workload-request count of every connection ever seen. Closed connections keep
 * only that count (a run is bounded, so the map is too).
 */
export class ConnectionTable {
  private readonly prefix: string;
  private accepted = 0;
  private readonly bySocket = new Map<Socket, TrackedConnection>();
  private readonly byPeer = new Map<string, TrackedConnection>();
  private readonly counts = new Map<string, number>();
  private readonly closeListeners: Array<(connection: TrackedConnection) => void> = [];
  private emptyWaiters: Array<() => void> = [];

  constructor(pod: string) {
    this.prefix = pod;
  }

  accept(socket: Socket): TrackedConnection {
    this.accepted += 1;
    const connection = new TrackedConnection(`${this.prefix}/${this.accepted}`, socket);
    this.bySocket.set(socket, connection);
    this.byPeer.set(connection.peerKey, connection);
    this.counts.set(connection.id, 0);
    socket.once('close', () => this.forget(connection));
    return connection;
  }

  /** Counts one workload request against its connection (for per-connection totals). */
  countWorkload(connection: TrackedConnection): void {
    connection.workloadRequests += 1;
    this.counts.set(connection.id, connection.workloadRequests);
  }

  ofSocket(socket: Socket): TrackedConnection | undefined {
    return this.bySocket.get(socket);
  }

  /** The open connection whose peer is `remoteAddress:remotePort` (unique among live connections). */
  ofPeer(peerKey: string): TrackedConnection | undefined {
    return this.byPeer.get(peerKey);
  }

  open(): TrackedConnection[] {
    return [...this.bySocket.values()];
  }

  get total(): number {
    return this.accepted;
  }

  get active(): number {
    return this.bySocket.size;
  }

  /** Workload requests per connection id, open and closed. */
  perConnection(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  onClose(listener: (connection: TrackedConnection) => void): void {
    this.closeListeners.push(listener);
  }

  /** Resolves once no connection is open. */
  whenEmpty(): Promise<void> {
    if (this.bySocket.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.emptyWaiters.push(resolve));
  }

  private forget(connection: TrackedConnection): void {
    this.bySocket.delete(connection.socket);
    if (this.byPeer.get(connection.peerKey) === connection) this.byPeer.delete(connection.peerKey);
    for (const listener of this.closeListeners) listener(connection);
    if (this.bySocket.size === 0) {
      const waiters = this.emptyWaiters;
      this.emptyWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}
