/**
 * Clients that judge a sample server over the wire only, so the same checks hold for any
 * implementation (Node.js or Go): raw HTTP/1.1 over a socket the test owns, prior-knowledge h2c
 * through node:http2, gRPC through grpc-js (and, where the exact client socket matters, a raw
 * HTTP/2 gRPC call whose socket the test can see).
 */
import http2 from 'node:http2';
import { createRequire } from 'node:module';
import net from 'node:net';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import protobuf from 'protobufjs';
import { echoClientConstructor, echoProtoPath, type WhoReply } from '../../harness/workloads/grpc/proto.ts';

export type { WhoReply } from '../../harness/workloads/grpc/proto.ts';

// ---------------------------------------------------------------------------------------------
// HTTP/1.1, byte for byte
// ---------------------------------------------------------------------------------------------

export interface HttpReply {
  status: number;
  /** Header names lower-cased; a repeated header keeps its values joined with ', '. */
  headers: Record<string, string>;
  /** Every header line as sent, in order. */
  rawHeaders: Array<[string, string]>;
  body: string;
  /** Milliseconds from writing the request to the full response. */
  elapsedMs: number;
}

/**
 * One HTTP/1.1 connection the test controls byte for byte: it never reconnects on its own, so the
 * test sees exactly which TCP connection each response came back on and when the server ends it.
 * Bodies framed by Content-Length, chunked encoding, or (without either) the end of the connection.
 */
export class RawHttp1 {
  readonly socket: net.Socket;
  /** 'end': the server sent FIN; 'error': reset or other socket error; 'local': we closed it. */
  readonly ended: Promise<'end' | 'error' | 'local'>;
  /** performance.now() when the connection closed. */
  endedAt: number | undefined;
  /** The socket error that ended the connection (ECONNRESET on a reset). */
  error: NodeJS.ErrnoException | undefined;
  private buffer = Buffer.alloc(0);
  private waiting: { resolve: (reply: HttpReply) => void; reject: (error: Error) => void; startedAt: number; head: boolean } | undefined;
  private closedError: Error | undefined;
  private peerEnded = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    let how: 'end' | 'error' | 'local' = 'local';
    this.ended = new Promise((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        this.buffer = Buffer.concat([this.buffer, chunk]);
        this.tryParse();
      });
      socket.once('end', () => {
        how = 'end';
        this.peerEnded = true;
        this.tryParse();
        this.fail(Object.assign(new Error('server closed the connection before a full response'), { code: 'ECONNCLOSED' }));
        socket.end();
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        how = 'error';
        this.error = error;
        this.fail(error);
      });
      socket.once('close', () => {
        this.endedAt = performance.now();
        this.fail(Object.assign(new Error('connection closed'), { code: 'ECONNCLOSED' }));
        resolve(how);
      });
    });
  }

  static open(port: number, host = '127.0.0.1'): Promise<RawHttp1> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host, noDelay: true }, () => {
        socket.off('error', reject);
        resolve(new RawHttp1(socket));
      });
      socket.once('error', reject);
    });
  }

  get localPort(): number {
    return this.socket.localPort ?? 0;
  }

  get localAddress(): string {
    return this.socket.localAddress ?? '';
  }

  /** Sends one request (`GET /path HTTP/1.1`, Host, Content-Length: 0) and reads its response. */
  request(target: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<HttpReply> {
    if (this.waiting) throw new Error('one request at a time on a RawHttp1 connection');
    if (this.closedError) return Promise.reject(this.closedError);
    const method = options.method ?? 'GET';
    const headers = { host: 'contract.test', 'content-length': '0', ...options.headers };
    const head = `${method} ${target} HTTP/1.1\r\n${Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('')}\r\n`;
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject, startedAt: performance.now(), head: method === 'HEAD' };
      this.socket.write(head, 'latin1');
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private fail(error: Error): void {
    if (this.closedError) return;
    this.closedError = error;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(error);
  }

  private tryParse(): void {
    if (!this.waiting) return;
    const headEnd = this.buffer.indexOf('\r\n\r\n');
    if (headEnd === -1) return;
    const [statusLine = '', ...lines] = this.buffer.subarray(0, headEnd).toString('latin1').split('\r\n');
    const status = Number(statusLine.split(' ')[1]);
    // Interim responses (100 Continue) are skipped.
    if (status >= 100 && status < 200) {
      this.buffer = this.buffer.subarray(headEnd + 4);
      return this.tryParse();
    }
    const rawHeaders: Array<[string, string]> = [];
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      rawHeaders.push([name, value]);
      const key = name.toLowerCase();
      headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`;
    }
    const start = headEnd + 4;
    let body: Buffer;
    let consumed: number;
    const bodyless = this.waiting.head || status === 204 || status === 304;
    if (bodyless) {
      body = Buffer.alloc(0);
      consumed = start;
    } else if (/\bchunked\b/i.test(headers['transfer-encoding'] ?? '')) {
      const parts: Buffer[] = [];
      let at = start;
      for (;;) {
        const lineEnd = this.buffer.indexOf('\r\n', at);
        if (lineEnd === -1) return;
        const size = parseInt(this.buffer.subarray(at, lineEnd).toString('latin1').split(';')[0] as string, 16);
        if (size === 0) {
          // Last chunk, optional trailers, then an empty line.
          const end = this.buffer.indexOf('\r\n\r\n', lineEnd);
          if (end === -1) {
            if (this.buffer.length >= lineEnd + 4 && this.buffer.subarray(lineEnd, lineEnd + 4).toString() === '\r\n\r\n') {
              consumed = lineEnd + 4;
              break;
            }
            return;
          }
          consumed = end + 4;
          break;
        }
        if (this.buffer.length < lineEnd + 2 + size + 2) return;
        parts.push(this.buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
        at = lineEnd + 2 + size + 2;
      }
      body = Buffer.concat(parts);
    } else if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      if (this.buffer.length < start + length) return;
      body = this.buffer.subarray(start, start + length);
      consumed = start + length;
    } else {
      // Delimited by the end of the connection.
      if (!this.peerEnded) return;
      body = this.buffer.subarray(start);
      consumed = this.buffer.length;
    }
    this.buffer = this.buffer.subarray(consumed);
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting.resolve({ status, headers, rawHeaders, body: body.toString('utf8'), elapsedMs: performance.now() - waiting.startedAt });
  }
}

/** One request on a connection of its own (closed afterwards). */
export async function httpOnce(port: number, target: string, method = 'GET'): Promise<HttpReply> {
  const connection = await RawHttp1.open(port);
  try {
    return await connection.request(target, { method, headers: { connection: 'close' } });
  } finally {
    connection.close();
  }
}

/** What became of a request: its response, or the error code that ended it. */
export type Outcome = { ok: true; reply: HttpReply } | { ok: false; code: string };

export function settle(promise: Promise<HttpReply>): Promise<Outcome> {
  return promise.then(
    (reply) => ({ ok: true as const, reply }),
    (error: NodeJS.ErrnoException) => ({ ok: false as const, code: error.code ?? 'ERROR' }),
  );
}

/** Whether a new TCP connection to the port is accepted ('connected') or refused ('ECONNREFUSED'). */
export function connectOutcome(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
}

// ---------------------------------------------------------------------------------------------
// h2c with prior knowledge
// ---------------------------------------------------------------------------------------------

export interface GoawayFrame {
  code: number;
  lastStreamId: number;
  debugData: string;
  at: number;
}

export interface H2Client {
  session: http2.ClientHttp2Session;
  /** Every GOAWAY frame the server sent, in order. */
  goaways: GoawayFrame[];
  /** Resolves at the first GOAWAY. */
  firstGoaway: Promise<GoawayFrame>;
  /** Resolves when the session has closed. */
  closed: Promise<void>;
  localPort: number;
  connectedAt: number;
  close(): void;
}

export async function h2Connect(authority: string): Promise<H2Client> {
  const session = http2.connect(authority);
  session.on('error', () => {});
  const goaways: GoawayFrame[] = [];
  let firstResolve: (frame: GoawayFrame) => void = () => {};
  const firstGoaway = new Promise<GoawayFrame>((resolve) => (firstResolve = resolve));
  session.on('goaway', (code: number, lastStreamId: number, opaque?: Buffer) => {
    const frame = { code, lastStreamId, debugData: opaque ? opaque.toString('latin1') : '', at: performance.now() };
    goaways.push(frame);
    firstResolve(frame);
  });
  const closed = new Promise<void>((resolve) => session.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
    session.once('close', () => reject(new Error(`h2c session to ${authority} closed before it connected`)));
  });
  return {
    session,
    goaways,
    firstGoaway,
    closed,
    localPort: session.socket.localPort ?? 0,
    connectedAt: performance.now(),
    close: () => session.destroy(),
  };
}

export interface H2Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
}

export function h2Request(session: http2.ClientHttp2Session, path: string, method = 'GET'): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path, ':method': method });
    let headers: http2.IncomingHttpHeaders = {};
    let body = '';
    stream.on('response', (h) => (headers = h));
    stream.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    stream.on('end', () => resolve({ status: Number(headers[':status']), headers, body }));
    stream.on('error', reject);
    stream.end();
  });
}

// ---------------------------------------------------------------------------------------------
// gRPC
// ---------------------------------------------------------------------------------------------

export type EchoClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;
const Echo = echoClientConstructor();

/** A channel of its own: grpc-js would otherwise share one subchannel (one connection) between clients. */
export const ownConnection = { 'grpc.use_local_subchannel_pool': 1 } as const;

export function echoClient(target: string): EchoClient {
  return new Echo(target, grpc.credentials.createInsecure(), ownConnection) as unknown as EchoClient;
}

export type RpcOutcome<T> = { ok: true; value: T; elapsedMs: number } | { ok: false; code: string; details: string; elapsedMs: number };

export function statusName(code: number): string {
  return grpc.status[code] ?? String(code);
}

export function who(client: EchoClient, request: object = {}): Promise<WhoReply> {
  return new Promise((resolve, reject) =>
    client.Who!(request, (error: grpc.ServiceError | null, reply: WhoReply) => (error ? reject(error) : resolve(reply))),
  );
}

export async function whoOutcome(client: EchoClient, request: object = {}): Promise<RpcOutcome<WhoReply>> {
  const startedAt = performance.now();
  try {
    const value = await who(client, request);
    return { ok: true, value, elapsedMs: performance.now() - startedAt };
  } catch (error) {
    const e = error as grpc.ServiceError;
    return { ok: false, code: statusName(e.code), details: e.details ?? '', elapsedMs: performance.now() - startedAt };
  }
}

export function collect<T>(stream: grpc.ClientReadableStream<T> | grpc.ClientDuplexStream<unknown, T>): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const replies: T[] = [];
    stream.on('data', (reply: T) => replies.push(reply));
    stream.on('end', () => resolve(replies));
    stream.on('error', reject);
  });
}

export function whoStream(client: EchoClient, request: object): Promise<WhoReply[]> {
  return collect(client.WhoStream!(request) as grpc.ClientReadableStream<WhoReply>);
}

/** Sends every message, half-closes, and collects the replies. */
export function whoChat(client: EchoClient, requests: object[]): Promise<WhoReply[]> {
  const call = client.WhoChat!() as grpc.ClientDuplexStream<object, WhoReply>;
  const replies = collect(call);
  for (const request of requests) call.write(request);
  call.end();
  return replies;
}

const healthDefinition = protoLoader.loadSync(healthProtoPath, { keepCase: true, enums: String });
const Health = (grpc.loadPackageDefinition(healthDefinition) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } }).grpc.health.v1
  .Health;

export function healthClient(target: string): EchoClient {
  return new Health(target, grpc.credentials.createInsecure(), ownConnection) as unknown as EchoClient;
}

/** grpc.health.v1 Check: the status name, or the gRPC error code name. */
export function healthCheck(client: EchoClient, service: string): Promise<string> {
  return new Promise((resolve) =>
    client.Check!({ service }, (error: grpc.ServiceError | null, reply: { status: string }) => resolve(error ? statusName(error.code) : reply.status)),
  );
}

const require = createRequire(import.meta.url);
const reflectionProto = join(dirname(require.resolve('@grpc/reflection/package.json')), 'build/proto/grpc/reflection/v1/reflection.proto');
const reflectionDefinition = protoLoader.loadSync(reflectionProto, { keepCase: true });
const Reflection = (
  grpc.loadPackageDefinition(reflectionDefinition) as unknown as { grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } } }
).grpc.reflection.v1.ServerReflection;

interface ReflectionResponse {
  list_services_response?: { service: Array<{ name: string }> };
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  error_response?: { error_code: number; error_message: string };
}

/** One grpc.reflection.v1 request on its own stream. */
export async function reflect(target: string, request: object): Promise<ReflectionResponse> {
  const client = new Reflection(target, grpc.credentials.createInsecure(), ownConnection) as unknown as EchoClient;
  try {
    const call = client.ServerReflectionInfo!() as grpc.ClientDuplexStream<object, ReflectionResponse>;
    const reply = new Promise<ReflectionResponse>((resolve, reject) => {
      call.once('data', resolve);
      call.on('error', reject);
    });
    call.write(request);
    const response = await reply;
    call.end();
    return response;
  } finally {
    client.close();
  }
}

// A raw gRPC unary call over an h2 session the test owns, for checks that need the exact client socket.
const echoRoot = protobuf.loadSync(echoProtoPath);
const WhoRequestType = echoRoot.lookupType('kth.v1.WhoRequest');
const WhoReplyType = echoRoot.lookupType('kth.v1.WhoReply');

export interface RawGrpcResult {
  grpcStatus: number;
  grpcMessage: string;
  reply: WhoReply | undefined;
}

/** One raw unary gRPC call: `message` is the encoded request; returns the status and the first reply message. */
export function rawGrpcCall(session: http2.ClientHttp2Session, path: string, message: Uint8Array): Promise<{ grpcStatus: number; grpcMessage: string; data: Buffer | undefined }> {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(message.length, 1);
  Buffer.from(message).copy(frame, 5);
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
    const chunks: Buffer[] = [];
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    stream.on('response', (headers) => (responseHeaders = headers));
    stream.on('trailers', (headers) => (trailers = headers));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', reject);
    stream.on('end', () => {
      const data = Buffer.concat(chunks);
      const statusHeader = trailers['grpc-status'] ?? responseHeaders['grpc-status'];
      const messageHeader = trailers['grpc-message'] ?? responseHeaders['grpc-message'];
      resolve({
        grpcStatus: Number(statusHeader ?? -1),
        grpcMessage: decodeURIComponent(String(messageHeader ?? '')),
        data: data.length >= 5 ? data.subarray(5, 5 + data.readUInt32BE(1)) : undefined,
      });
    });
    stream.end(frame);
  });
}

export async function rawGrpcWho(session: http2.ClientHttp2Session, request: { clientId?: string; payloadBytes?: number; delayMs?: number }): Promise<RawGrpcResult> {
  const result = await rawGrpcCall(session, '/kth.v1.Echo/Who', WhoRequestType.encode(WhoRequestType.fromObject(request)).finish());
  let reply: WhoReply | undefined;
  if (result.data) {
    reply = WhoReplyType.toObject(WhoReplyType.decode(result.data), { longs: Number, defaults: true }) as WhoReply;
    reply.payload = Buffer.from(reply.payload ?? []);
  }
  return { grpcStatus: result.grpcStatus, grpcMessage: result.grpcMessage, reply };
}

/** A raw grpc.health.v1 Check for the empty service name (an empty request message). */
export async function rawHealthCheck(session: http2.ClientHttp2Session): Promise<number> {
  return (await rawGrpcCall(session, '/grpc.health.v1.Health/Check', new Uint8Array(0))).grpcStatus;
}

// ---------------------------------------------------------------------------------------------
// Prometheus text
// ---------------------------------------------------------------------------------------------

/** `# TYPE` lines of the kth_* metrics: name → type. */
export function metricTypes(text: string, prefix = 'kth_'): Record<string, string> {
  const types: Record<string, string> = {};
  for (const match of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    if ((match[1] as string).startsWith(prefix)) types[match[1] as string] = match[2] as string;
  }
  return types;
}

/** Labelled samples of a metric with the zero-valued ones dropped (an absent series and a 0 mean the same). */
export function nonZero(samples: Record<string, number> | undefined): Record<string, number> {
  return Object.fromEntries(Object.entries(samples ?? {}).filter(([, value]) => value !== 0));
}
