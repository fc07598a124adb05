import type { Socket } from 'node:net';
import type { SourceRecorder } from '../../recorder/recorder.ts';

/** What the driver knows about one client TCP connection. */
export interface TrackedConnection {
  /** Driver-side id, unique within the source (`c<n>`). */
  id: string;
  openedAt: number;
  /** remoteAddress:remotePort as dialled (the Service VIP, NodePort, or pod address). */
  via: string;
  localAddress: string;
  /** Pod and server connection id from the last response on it; '' until one arrives. */
  pod: string;
  serverConnection: string;
  requests: number;
  /** The client decided to end it (Connection: close, max age, end of run). */
  closingByClient: boolean;
  lastError: string;
  /** Why the client library ended it, when it said (not an error). */
  note: string;
}

/**
 * Records every client connection's open and close on the timeline, with the pod it reached and
 * how many responses it carried. Bounded by the connections open at once.
 */
export class ConnectionTracker {
  private next = 0;
  private readonly open = new Set<TrackedConnection>();
  private waiters: (() => void)[] = [];
  /** Address strings shared by every connection to the same place (thousands of connections, a few addresses). */
  private readonly addresses = new Map<string, string>();

  constructor(
    private readonly recorder: SourceRecorder,
    private readonly now: () => number,
  ) {}

  get openCount(): number {
    return this.open.size;
  }

  /** A socket connected. `closeByClient`: every connection of this model is ended by the client. */
  opened(socket: Socket, onClose: (connection: TrackedConnection) => void, closeByClient = false): TrackedConnection {
    const connection: TrackedConnection = {
      id: `c${++this.next}`,
      openedAt: this.now(),
      via: this.shared(formatAddress(socket.remoteAddress ?? '', socket.remotePort ?? 0)),
      localAddress: this.shared(socket.localAddress ?? ''),
      pod: '',
      serverConnection: '',
      requests: 0,
      closingByClient: closeByClient,
      lastError: '',
      note: '',
    };
    this.open.add(connection);
    this.recorder.event({
      kind: 'connection-open',
      t: connection.openedAt,
      source: this.recorder.source,
      clientConnection: connection.id,
      localAddress: connection.localAddress,
      localPort: socket.localPort ?? 0,
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
    });
    socket.on('error', (error: Error & { code?: string }) => {
      // undici ends sockets on purpose with an "informational" error (after a Connection: close
      // from either side): that is a close, not a failure.
      if (error.code === 'UND_ERR_INFO') connection.note = `${error.code}: ${error.message}`;
      else connection.lastError = `${error.code ?? error.name}: ${error.message}`;
    });
    socket.once('close', (hadError: boolean) => this.closed(connection, hadError, onClose));
    return connection;
  }

  private shared(text: string): string {
    const known = this.addresses.get(text);
    if (known !== undefined) return known;
    if (this.addresses.size < 1024) this.addresses.set(text, text);
    return text;
  }

  /** A response arrived on the connection. */
  answered(connection: TrackedConnection, pod: string, serverConnection: string): void {
    connection.requests++;
    connection.pod = pod;
    connection.serverConnection = serverConnection;
  }

  closed(connection: TrackedConnection, hadError: boolean, onClose?: (connection: TrackedConnection) => void): void {
    if (!this.open.delete(connection)) return;
    this.recorder.event({
      kind: 'connection-close',
      t: this.now(),
      source: this.recorder.source,
      clientConnection: connection.id,
      pod: connection.pod,
      serverConnection: connection.serverConnection,
      requests: connection.requests,
      closedBy: connection.closingByClient ? 'client' : hadError || connection.lastError ? 'error' : 'server',
      detail: connection.lastError || connection.note,
    });
    onClose?.(connection);
    if (this.open.size === 0) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const waiter of waiters) waiter();
    }
  }

  /** The run is ending: whatever closes from now on was closed by the client. */
  closingAll(): void {
    for (const connection of this.open) connection.closingByClient = true;
  }

  /** Resolves when every tracked connection has closed (or after `timeoutMs`). */
  settled(timeoutMs = 2000): Promise<void> {
    if (this.open.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

export function formatAddress(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
