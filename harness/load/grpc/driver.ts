import * as grpc from '@grpc/grpc-js';
import { badInput } from '../../core/errors.ts';
import type { Recorder, SourceRecorder } from '../../recorder/recorder.ts';
import { echoClientConstructor } from '../../workloads/grpc/proto.ts';
import { validateArrival, type Arrival } from '../arrival.ts';
import { attributionFromWhoReply, type WhoReplyFields } from '../attribution.ts';
import { grpcErrorKind } from '../errors.ts';
import { beginLoad, defaultRequestTimeoutMs, driveToEnd, type LanePool } from '../scheduler.ts';
import type { LoadResult } from '../http/driver.ts';
import { H2Pool } from '../http/h2-pool.ts';
import { grpcUnaryExchange } from './h2-unary.ts';

export type GrpcCall = 'unary' | 'server-stream' | 'bidi';
export type GrpcClient = 'h2' | 'grpc-js';

export interface GrpcLoadOptions {
  /** host:port, or a grpc-js target such as dns:///echo-headless.ns.svc:50051 (needed for round_robin). */
  target: string;
  /** Channels, each its own grpc-js client with its own subchannel pool (so its own connections). */
  channels: number;
  /**
   * unary: one Who call per request; server-stream: one WhoStream call of `streamCount` replies per
   * request (each reply is counted); bidi: one long-lived WhoChat stream per channel, one message per request.
   */
  call: GrpcCall;
  arrival: Arrival;
  /** @default 'pick_first' */
  lbPolicy?: 'pick_first' | 'round_robin';
  /**
   * h2: unary calls on node:http2 sessions (one per channel), the gRPC wire format written
   * directly — about three times the calls per core of grpc-js, real GOAWAY frames observed, and
   * the client's source address known (for the source-IP check). grpc-js: the reference client,
   * for streaming calls, round_robin over resolved addresses, and its own reconnect behaviour.
   * @default 'h2' for unary pick_first calls to host:port, else 'grpc-js'
   */
  client?: GrpcClient;
  /** Client keepalive pings (grpc.keepalive_time_ms); undefined = grpc-js default (off). */
  keepaliveTimeMs?: number;
  keepaliveTimeoutMs?: number;
  /** Extra channel options, passed as they are. */
  channelOptions?: Record<string, string | number>;
  /** server-stream: replies per call. @default 10 */
  streamCount?: number;
  /** Calls (or bidi messages) in flight per channel at most. @default 100 */
  inFlightPerChannel?: number;
  /** Deadline per call. @default defaultRequestTimeoutMs (10 s) */
  requestTimeoutMs?: number;
  maxRequests?: number;
  gracefulStopMs?: number;
  maxQueue?: number;
  maxWaitMs?: number;
  /** @default 'grpc' */
  source?: string;
  recorder: Recorder;
  signal?: AbortSignal;
}

interface Channel {
  index: number;
  name: string;
  client: grpc.Client;
  inFlight: number;
  state: grpc.connectivityState;
  /** Calls that failed since the channel was last READY (a READY → IDLE with none is an inferred GOAWAY). */
  failuresSinceReady: number;
  /** Server connection this channel's replies last came from, its pod and reply count. */
  serverConnection: string;
  pod: string;
  replies: number;
  /** The server's address as grpc-js reports it, refreshed when the server connection changes. */
  peer: string;
  chat: Chat | undefined;
}

interface Chat {
  stream: grpc.ClientDuplexStream<unknown, WhoReplyFields>;
  pending: Map<string, (error: grpc.ServiceError | undefined, reply?: WhoReplyFields) => void>;
}

const stateName = (state: grpc.connectivityState) => grpc.connectivityState[state] ?? String(state);

/** Needs no recorder: the CLI checks a run before it makes one. */
export function validateGrpcLoad(options: Omit<GrpcLoadOptions, 'recorder'>): void {
  if (!options.target || /^https?:\/\//.test(options.target)) throw badInput(`target: '${options.target}' is not a gRPC target`, { where: 'target', hint: 'write host:port or dns:///name:port' });
  if (!Number.isInteger(options.channels) || options.channels < 1) throw badInput(`channels: ${options.channels} must be a whole number ≥ 1`, { where: 'channels' });
  if (options.client === 'h2' && !h2Capable(options)) {
    throw badInput(`client: h2 makes unary pick_first calls to host:port; this run asks for ${options.call} calls, ${options.lbPolicy ?? 'pick_first'}, target ${options.target}`, { where: 'client', hint: 'use --client grpc-js for streaming calls, round_robin or resolver targets' });
  }
  validateArrival(options.arrival);
}

/** host:port (or dns:///host:port, resolved per connection) as an http:// origin; undefined for other targets. */
function h2Origin(target: string): string | undefined {
  const address = target.replace(/^dns:\/\/\//, '');
  return /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d+$/.test(address) ? `http://${address}` : undefined;
}

function h2Capable(options: Omit<GrpcLoadOptions, 'recorder'>): boolean {
  return options.call === 'unary' && (options.lbPolicy ?? 'pick_first') === 'pick_first' && h2Origin(options.target) !== undefined && options.channelOptions === undefined;
}

/** The client a run uses: the one asked for, else h2 where it can serve, else grpc-js. */
export function grpcClientFor(options: Omit<GrpcLoadOptions, 'recorder'>): GrpcClient {
  return options.client ?? (h2Capable(options) ? 'h2' : 'grpc-js');
}

/**
 * gRPC load over N independent channels. Every reply is attributed from its WhoReply; failures are
 * classified by status (a GOAWAY or refused connection is named as such, from the details).
 * Connectivity changes are recorded per channel; grpc-js exposes no GOAWAY event, so a channel
 * that goes READY → IDLE with no failed call is recorded as an INFERRED GOAWAY (the servers'
 * kth_grpc_goaways_sent_total counter is the ground truth to compare it with).
 */
export class GrpcPool implements LanePool<Channel> {
  private readonly channels: Channel[] = [];
  private readonly calls = new Set<{ cancel(): void }>();
  private abandoning = false;
  private closed = false;
  private nextId = 0;

  constructor(private readonly options: GrpcLoadOptions & { recorderSource: SourceRecorder; now: () => number }) {
    const Echo = echoClientConstructor();
    const serviceConfig = { loadBalancingConfig: [{ [options.lbPolicy ?? 'pick_first']: {} }] };
    for (let i = 0; i < options.channels; i++) {
      const channelOptions: grpc.ChannelOptions = {
        'grpc.use_local_subchannel_pool': 1,
        // A unique option makes each channel's subchannel key unique as well: no shared connection.
        'kth.channel_index': i,
        'grpc.service_config': JSON.stringify(serviceConfig),
        ...(options.keepaliveTimeMs !== undefined ? { 'grpc.keepalive_time_ms': options.keepaliveTimeMs, 'grpc.keepalive_permit_without_calls': 1 } : {}),
        ...(options.keepaliveTimeoutMs !== undefined ? { 'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs } : {}),
        ...options.channelOptions,
      };
      const client = new Echo(options.target, grpc.credentials.createInsecure(), channelOptions);
      const channel: Channel = { index: i, name: `ch${i}`, client, inFlight: 0, state: grpc.connectivityState.IDLE, failuresSinceReady: 0, serverConnection: '', pod: '', replies: 0, peer: '', chat: undefined };
      this.channels.push(channel);
      this.watch(channel);
      // Connect now: channels are held for the whole run, like persistent connections.
      client.getChannel().getConnectivityState(true);
    }
  }

  private watch(channel: Channel): void {
    const grpcChannel = channel.client.getChannel();
    const current = grpcChannel.getConnectivityState(false);
    if (current !== channel.state) this.stateChanged(channel, channel.state, current);
    if (this.closed || current === grpc.connectivityState.SHUTDOWN) return;
    grpcChannel.watchConnectivityState(current, Infinity, () => this.watch(channel));
  }

  private stateChanged(channel: Channel, from: grpc.connectivityState, to: grpc.connectivityState): void {
    const { recorderSource: source, now } = this.options;
    const t = now();
    channel.state = to;
    source.event({ kind: 'channel-state', t, source: source.source, channel: channel.name, from: stateName(from), to: stateName(to) });
    if (from === grpc.connectivityState.READY && to === grpc.connectivityState.IDLE && channel.failuresSinceReady === 0 && !this.closed) {
      source.event({ kind: 'goaway', t, source: source.source, clientConnection: `${channel.name}/${channel.serverConnection}`, pod: channel.pod, errorCode: null, lastStreamId: null, inferred: true, detail: 'channel went READY → IDLE with no failed call (grpc-js reports a GOAWAY this way)' });
    }
    if (to === grpc.connectivityState.READY) channel.failuresSinceReady = 0;
  }

  acquire(pin: number | undefined): Channel | undefined {
    const limit = this.options.inFlightPerChannel ?? 100;
    const channel = this.channels[(pin ?? 0) % this.channels.length]!;
    if (pin === undefined) {
      const free = this.channels.find((candidate) => candidate.inFlight < limit);
      if (!free) return undefined;
      free.inFlight++;
      return free;
    }
    if (channel.inFlight >= limit) return undefined;
    channel.inFlight++;
    return channel;
  }

  run<T>(channel: Channel, latencyFrom: number, _sentAt: number, token: T, done: (token: T) => void): void {
    // No Promise per call: the callbacks below finish the request directly.
    const { now, recorderSource: source } = this.options;
    // A number deadline (epoch ms) rather than a Date: grpc-js takes either.
    const deadline = Date.now() + (this.options.requestTimeoutMs ?? defaultRequestTimeoutMs);
    const clientId = `${channel.name}-${++this.nextId}`;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      channel.inFlight--;
      done(token);
    };
    const onReply = (reply: WhoReplyFields & { streamIndex?: number }, call: { getPeer(): string }) => {
      const at = now();
      const who = attributionFromWhoReply(reply);
      // A stream's replies share their call's sequence: only its first reply can be a connection's first.
      if (who && (reply.streamIndex ?? 1) > 1 && who.sequence === 1) who.sequence = 0;
      // The peer address only changes with the server connection: ask grpc-js only then.
      if (!who || who.connectionId !== channel.serverConnection || !channel.peer) channel.peer = safePeer(call);
      const peer = channel.peer;
      if (who) this.noteServerConnection(channel, who.pod, who.connectionId, peer, at);
      source.response(at, at - latencyFrom, who, peer || this.options.target, undefined);
    };
    const onError = (error: grpc.ServiceError) => {
      const at = now();
      channel.failuresSinceReady++;
      const kind = this.abandoning ? 'timeout' : grpcErrorKind(error.code, error.details ?? error.message);
      const example = this.abandoning ? 'abandoned: still in flight when the graceful stop ran out' : `${grpc.status[error.code] ?? error.code}: ${error.details ?? error.message}`;
      source.failure(at, at - latencyFrom, kind, example, this.options.target, channel.pod);
    };
    const client = channel.client as grpc.Client & Record<string, (...args: unknown[]) => unknown>;
    switch (this.options.call) {
      case 'unary': {
        const call = client.Who!({ clientId }, { deadline }, (error: grpc.ServiceError | null, reply: WhoReplyFields) => {
          this.calls.delete(call);
          if (error) onError(error);
          else onReply(reply, call);
          finish();
        }) as grpc.ClientUnaryCall;
        this.calls.add(call);
        return;
      }
      case 'server-stream': {
        const call = client.WhoStream!({ clientId, count: this.options.streamCount ?? 10, intervalMs: 0 }, { deadline }) as grpc.ClientReadableStream<WhoReplyFields>;
        this.calls.add(call);
        call.on('data', (reply: WhoReplyFields) => onReply(reply, call));
        call.on('error', (error: grpc.ServiceError) => {
          this.calls.delete(call);
          onError(error);
          finish();
        });
        call.on('end', () => {
          this.calls.delete(call);
          finish();
        });
        return;
      }
      case 'bidi': {
        const chat = this.chatOf(channel);
        const timer = setTimeout(() => {
          if (!chat.pending.delete(clientId)) return;
          onError(Object.assign(new Error('no reply within the deadline'), { code: grpc.status.DEADLINE_EXCEEDED, details: 'no reply on the bidi stream within the deadline', metadata: new grpc.Metadata() }) as grpc.ServiceError);
          finish();
        }, this.options.requestTimeoutMs ?? defaultRequestTimeoutMs);
        chat.pending.set(clientId, (error, reply) => {
          clearTimeout(timer);
          if (error) onError(error);
          else onReply(reply!, chat.stream);
          finish();
        });
        chat.stream.write({ clientId });
      }
    }
  }

  /** The channel's WhoChat stream, opened on first use and reopened after it ends. */
  private chatOf(channel: Channel): Chat {
    if (channel.chat) return channel.chat;
    const client = channel.client as grpc.Client & Record<string, (...args: unknown[]) => unknown>;
    const stream = client.WhoChat!() as grpc.ClientDuplexStream<unknown, WhoReplyFields>;
    const chat: Chat = { stream, pending: new Map() };
    channel.chat = chat;
    this.calls.add(stream);
    const failAll = (error: grpc.ServiceError) => {
      if (channel.chat === chat) channel.chat = undefined;
      this.calls.delete(stream);
      const pending = [...chat.pending.values()];
      chat.pending.clear();
      for (const callback of pending) callback(error);
    };
    stream.on('data', (reply: WhoReplyFields & { clientId?: string; client_id?: string }) => {
      const id = reply.clientId ?? reply.client_id ?? '';
      const callback = chat.pending.get(id);
      if (!callback) return;
      chat.pending.delete(id);
      callback(undefined, reply);
    });
    stream.on('error', (error: grpc.ServiceError) => failAll(error));
    stream.on('end', () => failAll(Object.assign(new Error('stream ended by the server'), { code: grpc.status.UNAVAILABLE, details: 'bidi stream ended by the server', metadata: new grpc.Metadata() }) as grpc.ServiceError));
    return chat;
  }

  /** Records the channel moving to another server connection (a reconnect) as close + open. */
  private noteServerConnection(channel: Channel, pod: string, serverConnection: string, peer: string, at: number): void {
    const { recorderSource: source } = this.options;
    if (channel.serverConnection === serverConnection) {
      channel.replies++;
      return;
    }
    if (channel.serverConnection) {
      source.event({ kind: 'connection-close', t: at, source: source.source, clientConnection: `${channel.name}/${channel.serverConnection}`, pod: channel.pod, serverConnection: channel.serverConnection, requests: channel.replies, closedBy: 'server', detail: `channel moved to ${serverConnection}` });
    }
    const [address, port] = splitPeer(peer);
    source.event({ kind: 'connection-open', t: at, source: source.source, clientConnection: `${channel.name}/${serverConnection}`, localAddress: '', localPort: 0, remoteAddress: address, remotePort: port });
    channel.serverConnection = serverConnection;
    channel.pod = pod;
    channel.replies = 1;
  }

  abortAll(): number {
    this.abandoning = true;
    let count = 0;
    for (const channel of this.channels) count += channel.inFlight;
    for (const call of [...this.calls]) call.cancel();
    return count;
  }

  close(): Promise<void> {
    this.closed = true;
    const { recorderSource: source, now } = this.options;
    for (const channel of this.channels) {
      channel.chat?.stream.end();
      if (channel.serverConnection) {
        source.event({ kind: 'connection-close', t: now(), source: source.source, clientConnection: `${channel.name}/${channel.serverConnection}`, pod: channel.pod, serverConnection: channel.serverConnection, requests: channel.replies, closedBy: 'client', detail: 'end of run' });
      }
      channel.client.close();
    }
    return Promise.resolve();
  }
}

function safePeer(call: { getPeer(): string }): string {
  try {
    const peer = call.getPeer();
    return peer === 'unknown' ? '' : peer;
  } catch {
    return '';
  }
}

function splitPeer(peer: string): [string, number] {
  const match = /^\[?([^\]]*?)\]?:(\d+)$/.exec(peer);
  return match ? [match[1] as string, Number(match[2])] : [peer, 0];
}

/** Runs gRPC load; see {@link GrpcPool}. Each channel gets its own share (rate/N) of the schedule. */
export async function runGrpcLoad(options: GrpcLoadOptions): Promise<LoadResult> {
  validateGrpcLoad(options);
  const recorder = options.recorder;
  const now = recorder.now;
  const requestTimeoutMs = options.requestTimeoutMs ?? defaultRequestTimeoutMs;
  const client = grpcClientFor(options);
  const { source, open } = beginLoad(recorder, {
    source: options.source ?? 'grpc',
    target: options.target,
    model: `grpc-${options.call}`,
    arrival: options.arrival,
    config: { client, channels: options.channels, arrival: options.arrival, lbPolicy: options.lbPolicy ?? 'pick_first', keepaliveTimeMs: options.keepaliveTimeMs ?? null, streamCount: options.streamCount ?? null },
  });
  const pool: LanePool<unknown> & { close(): Promise<void> } =
    client === 'h2'
      ? new H2Pool({
          origin: h2Origin(options.target)!,
          exchange: grpcUnaryExchange({ timeoutMs: requestTimeoutMs }),
          connections: options.channels,
          streamsPerConnection: options.inFlightPerChannel ?? 100,
          ...(options.keepaliveTimeMs !== undefined ? { keepaliveTimeMs: options.keepaliveTimeMs } : {}),
          requestTimeoutMs,
          connectTimeoutMs: 5_000,
          recorder: source,
          now,
        })
      : new GrpcPool({ ...options, recorderSource: source, now });
  const schedule = await driveToEnd(pool, {
    arrival: options.arrival,
    maxRequests: options.maxRequests,
    lanes: options.channels,
    pinnedLanes: options.channels,
    maxQueue: options.maxQueue,
    maxWaitMs: options.maxWaitMs,
    gracefulStopMs: options.gracefulStopMs,
    requestTimeoutMs,
    signal: options.signal,
  }, source, recorder);
  return { source: source.source, model: `grpc-${options.call}`, arrival: open ? 'open' : 'closed', schedule, totals: source.totals };
}
