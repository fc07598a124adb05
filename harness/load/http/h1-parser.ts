/**
 * A minimal, incremental HTTP/1.1 RESPONSE parser for the lean client ({@link LeanH1Pool}).
 *
 * It reads only what the driver needs: the status code, the x-kth-* identity headers, the framing
 * (Content-Length, Transfer-Encoding: chunked, or read-until-close) and Connection. Bodies are
 * skipped, never copied. Responses may be split anywhere across reads and several may arrive in one
 * read (pipelining). Why not llhttp/undici: at tens of thousands of responses per second per core,
 * building a full header object per response is most of the cost, and we read seven headers.
 *
 * Memory: between responses the parser holds nothing. Only a head (or chunk-size line) split across
 * reads is copied out of the read buffer — so callers may pass one shared buffer for every socket.
 */

/** Most bytes a response head may take (status line + headers); beyond it the response is malformed. */
const maxHeadBytes = 64 * 1024;

const enum State {
  /** Waiting for (the rest of) a status line and headers. */
  Head,
  /** Skipping `remaining` body bytes of a Content-Length body. */
  Body,
  /** Waiting for a chunk-size line. */
  ChunkSize,
  /** Skipping `remaining` bytes of chunk data plus its CRLF. */
  ChunkData,
  /** Reading trailer lines after the last chunk, until an empty line. */
  Trailers,
  /** No length and not chunked: the body ends when the server closes. */
  UntilClose,
  /** A protocol error happened; nothing more is parsed. */
  Failed,
}

/** The fields of one response head the driver uses. Reused by the parser: copy what you keep. */
export interface H1ResponseHead {
  status: number;
  /** The server asked to close the connection after this response (Connection: close, or HTTP/1.0 without keep-alive). */
  close: boolean;
  pod: string;
  node: string;
  podIp: string;
  connectionId: string;
  /** x-kth-sequence as written ('' when absent). */
  sequence: string;
  /** x-kth-peer as written ('' when absent). */
  peer: string;
  /** x-kth-forwarded-for as written ('' when absent: the request came through no proxy). */
  forwardedFor: string;
}

export class H1ProtocolError extends Error {
  readonly code = 'KTH_HTTP_PROTOCOL';
}

export class H1ResponseParser {
  /** The head of the response being parsed (valid in `onResponse`). */
  readonly head: H1ResponseHead = { status: 0, close: false, pod: '', node: '', podIp: '', connectionId: '', sequence: '', peer: '', forwardedFor: '' };
  private state = State.Head;
  private remaining = 0;
  /** A head or line split across reads: the bytes seen so far (copied: the read buffer is reused). */
  private partial: Buffer | undefined;
  private failure: H1ProtocolError | undefined;

  /**
   * @param onResponse called once per complete response, in order, with {@link head} filled in.
   * @param bodyless   true for every response when requests are HEAD (no body whatever the headers say).
   */
  constructor(
    private readonly onResponse: (head: H1ResponseHead) => void,
    private readonly bodyless = false,
  ) {}

  /** True between responses: nothing of a next response has arrived. */
  get idle(): boolean {
    return this.state === State.Head && this.partial === undefined;
  }

  /** The protocol error that stopped the parser, if any. */
  get error(): H1ProtocolError | undefined {
    return this.failure;
  }

  /**
   * Parses `data[start, end)`. Calls `onResponse` for each response completed. Returns false after a
   * protocol error (see {@link error}); the connection must then be closed.
   */
  feed(data: Buffer, start = 0, end = data.length): boolean {
    let at = start;
    while (at < end) {
      switch (this.state) {
        case State.Head:
          at = this.readHead(data, at, end);
          break;
        case State.Body: {
          const take = Math.min(this.remaining, end - at);
          at += take;
          this.remaining -= take;
          if (this.remaining === 0) this.complete();
          break;
        }
        case State.ChunkSize:
          at = this.readChunkSize(data, at, end);
          break;
        case State.ChunkData: {
          // `remaining` counts the chunk's data and its trailing CRLF.
          const take = Math.min(this.remaining, end - at);
          at += take;
          this.remaining -= take;
          if (this.remaining === 0) this.state = State.ChunkSize;
          break;
        }
        case State.Trailers:
          at = this.readTrailers(data, at, end);
          break;
        case State.UntilClose:
          return true;
        case State.Failed:
          return false;
      }
      if (this.failure) return false;
    }
    return !this.failure;
  }

  /**
   * The server closed the connection. A body delimited by the close completes here; returns false
   * when a response was cut short (head, body or chunks incomplete).
   */
  end(): boolean {
    if (this.state === State.UntilClose) {
      this.complete();
      return true;
    }
    return this.idle;
  }

  /** Where the cut happened, for the error message of a response cut short. */
  describeCut(): string {
    switch (this.state) {
      case State.Head:
        return this.partial ? `after ${this.partial.length} bytes of the response head` : 'before the response started';
      case State.Body:
        return `with ${this.remaining} body bytes still due`;
      case State.ChunkSize:
      case State.ChunkData:
      case State.Trailers:
        return 'in the middle of a chunked body';
      default:
        return 'mid-response';
    }
  }

  private fail(message: string): void {
    this.state = State.Failed;
    this.partial = undefined;
    this.failure = new H1ProtocolError(message);
  }

  /** Joins a previous partial piece with the new bytes, if any (rare: only when a head is split). */
  private joined(data: Buffer, at: number, end: number): { buffer: Buffer; from: number; to: number; carried: number } {
    if (!this.partial) return { buffer: data, from: at, to: end, carried: 0 };
    const carried = this.partial.length;
    const buffer = Buffer.concat([this.partial, data.subarray(at, end)]);
    this.partial = undefined;
    return { buffer, from: 0, to: buffer.length, carried };
  }

  /** Keeps the unfinished bytes (a copy: `data` may be a shared read buffer). */
  private keep(buffer: Buffer, from: number, to: number): void {
    if (to - from > maxHeadBytes) return this.fail(`response head longer than ${maxHeadBytes} bytes`);
    this.partial = Buffer.from(buffer.subarray(from, to));
  }

  private readHead(data: Buffer, at: number, end: number): number {
    const { buffer, from, to, carried } = this.joined(data, at, end);
    // Search from a little before the join so a CRLFCRLF split across reads is found.
    const headEnd = buffer.indexOf('\r\n\r\n', Math.max(from, carried - 3), 'latin1');
    if (headEnd === -1 || headEnd >= to) {
      this.keep(buffer, from, to);
      return end;
    }
    this.parseHead(buffer.toString('latin1', from, headEnd));
    if (this.failure) return end;
    // Bytes of `data` consumed: the head's end (+4) in the joined buffer, minus what was carried over.
    return at + (headEnd + 4 - from - carried);
  }

  /** Status line and the headers we read; sets the framing state. */
  private parseHead(text: string): void {
    const head = this.head;
    // "HTTP/1.1 200 OK": the version decides the default for Connection.
    if (!text.startsWith('HTTP/1.')) return this.fail(`not an HTTP/1.x response: ${JSON.stringify(text.slice(0, 40))}`);
    const status = Number(text.slice(9, 12));
    if (!(status >= 100 && status <= 999) || text.charCodeAt(8) !== 32) return this.fail(`bad status line: ${JSON.stringify(text.slice(0, 40))}`);
    const http10 = text.charCodeAt(7) === 48; // "HTTP/1.0"
    head.status = status;
    head.close = http10;
    head.pod = head.node = head.podIp = head.connectionId = head.sequence = head.peer = head.forwardedFor = '';
    let contentLength = -1;
    let chunked = false;
    let line = text.indexOf('\r\n');
    while (line !== -1) {
      const start = line + 2;
      const next = text.indexOf('\r\n', start);
      const stop = next === -1 ? text.length : next;
      line = next;
      const colon = text.indexOf(':', start);
      if (colon <= start || colon > stop) return this.fail(`bad header line: ${JSON.stringify(text.slice(start, Math.min(stop, start + 40)))}`);
      // Only names starting with x, c or t can matter: skip the rest without building a string.
      const first = text.charCodeAt(start) | 0x20;
      if (first !== 0x78 && first !== 0x63 && first !== 0x74) continue;
      const name = text.slice(start, colon).toLowerCase();
      const value = text.slice(colon + 1, stop).trim();
      switch (name) {
        case 'x-kth-pod':
          head.pod = value;
          break;
        case 'x-kth-node':
          head.node = value;
          break;
        case 'x-kth-pod-ip':
          head.podIp = value;
          break;
        case 'x-kth-connection-id':
          head.connectionId = value;
          break;
        case 'x-kth-sequence':
          head.sequence = value;
          break;
        case 'x-kth-peer':
          head.peer = value;
          break;
        case 'x-kth-forwarded-for':
          head.forwardedFor = value;
          break;
        case 'content-length': {
          const length = Number(value);
          if (!Number.isSafeInteger(length) || length < 0 || value === '' || (contentLength !== -1 && contentLength !== length)) return this.fail(`bad Content-Length: ${JSON.stringify(value)}`);
          contentLength = length;
          break;
        }
        case 'transfer-encoding':
          if (/(^|,)\s*chunked\s*$/i.test(value)) chunked = true;
          break;
        case 'connection': {
          const tokens = value.toLowerCase();
          if (/(^|,)\s*close\s*(,|$)/.test(tokens)) head.close = true;
          else if (http10 && /(^|,)\s*keep-alive\s*(,|$)/.test(tokens)) head.close = false;
          break;
        }
      }
    }
    // 1xx: an interim response (100 Continue…); the real one follows. Not reported.
    if (status < 200) return;
    if (this.bodyless || status === 204 || status === 304) return this.complete();
    if (chunked) {
      this.state = State.ChunkSize;
    } else if (contentLength >= 0) {
      if (contentLength === 0) return this.complete();
      this.state = State.Body;
      this.remaining = contentLength;
    } else {
      // No framing: the body runs until the server closes (and the connection cannot be reused).
      head.close = true;
      this.state = State.UntilClose;
    }
  }

  /** Reads one CRLF-terminated line (joined across reads); returns [line, consumed] or undefined if incomplete. */
  private readLine(data: Buffer, at: number, end: number): { line: string; next: number } | undefined {
    const { buffer, from, to, carried } = this.joined(data, at, end);
    const lineEnd = buffer.indexOf('\r\n', Math.max(from, carried - 1), 'latin1');
    if (lineEnd === -1 || lineEnd >= to) {
      this.keep(buffer, from, to);
      return undefined;
    }
    return { line: buffer.toString('latin1', from, lineEnd), next: at + (lineEnd + 2 - from - carried) };
  }

  private readChunkSize(data: Buffer, at: number, end: number): number {
    const read = this.readLine(data, at, end);
    if (!read) return end;
    const semicolon = read.line.indexOf(';');
    const hex = (semicolon === -1 ? read.line : read.line.slice(0, semicolon)).trim();
    if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) {
      this.fail(`bad chunk size: ${JSON.stringify(read.line.slice(0, 40))}`);
      return end;
    }
    const size = parseInt(hex, 16);
    if (size === 0) this.state = State.Trailers;
    else {
      this.state = State.ChunkData;
      this.remaining = size + 2;
    }
    return read.next;
  }

  private readTrailers(data: Buffer, at: number, end: number): number {
    const read = this.readLine(data, at, end);
    if (!read) return end;
    if (read.line === '') this.complete();
    return read.next;
  }

  private complete(): void {
    this.state = State.Head;
    this.remaining = 0;
    this.onResponse(this.head);
  }
}
