import type { ServerHttp2Session } from 'node:http2';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import * as protoLoader from '@grpc/proto-loader';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import { ConnectionTable, resetConnection } from '../connections.ts';
import type { Readiness } from '../control.ts';
import { type RunningControlServer, startControlServer } from '../control-server.ts';
import { listen, stopAccepting } from '../listen.ts';
import { connectableHost, type PodIdentity } from '../pod-identity.ts';
import { echoImplementation } from './echo.ts';
import { injectorHttp2Servers, watchGoaways } from './goaway.ts';
import { createGrpcRegistry, GrpcCounters, type GrpcServerMetrics } from './metrics.ts';
import { type GrpcServerConfig, type GrpcServerOptions, grpcChannelOptions, grpcSettings, parseGrpcServerOptions } from './options.ts';
import { echoLoaderOptions, echoServiceDefinition, echoServiceName, loadEchoPackageDefinition } from './proto.ts';

export type { GrpcServerConfig, GrpcServerOptions } from './options.ts';
export type { GrpcServerMetrics } from './metrics.ts';

export interface GrpcShutdownOptions {
  /** tryShutdown (finish running RPCs) rather than forceShutdown (default: the `drain` setting). */
  drain?: boolean;
  /** Report NOT_SERVING and keep serving this long first (default: `shutdownDelayMs`; ignored without drain). */
  delayMs?: number;
  /** tryShutdown deadline before forceShutdown (default: `drainTimeoutMs`). */
  drainTimeoutMs?: number;
}

export interface GrpcShutdownResult {
  /** tryShutdown finished before its deadline. */
  drained: boolean;
  /** Connections still open when forceShutdown ran. */
  connectionsForced: number;
}

export interface RunningGrpcServer extends AsyncDisposable {
  readonly config: GrpcServerConfig;
  readonly host: string;
  readonly port: number;
  readonly metricsPort: number;
  /** `<connectable address>:<port>`, a grpc-js client target. */
  readonly target: string;
  /** `http://<connectable address>:<metricsPort>`: /metrics, /healthz, /readyz. */
  readonly metricsUrl: string;
  metrics(): GrpcServerMetrics;
  metricsText(): Promise<string>;
  readonly ready: boolean;
  /** Flips grpc.health.v1 between SERVING and NOT_SERVING (and /readyz on the side port). */
  setReady(ready: boolean): void;
  shutdown(options?: GrpcShutdownOptions): Promise<GrpcShutdownResult>;
  close(): Promise<void>;
}

/**
 * Starts the sample gRPC server: kth.v1.Echo, grpc.health.v1.Health and server reflection, plus
 * an HTTP side port for metrics and probes.
 *
 * Connection ids: the server owns the TCP accept loop and hands each socket to grpc-js through a
 * connection injector (public API), so every accepted connection gets its id here. A call is tied
 * to its connection by `call.getPeer()`, which grpc-js builds as `remoteAddress:remotePort` of the
 * session's socket — unique among live connections on one listener, and the table drops a
 * connection only when its socket has closed, i.e. after its last call.
 */
export async function startGrpcServer(options: GrpcServerOptions = {}): Promise<RunningGrpcServer> {
  const config = parseGrpcServerOptions(options);
  const pod: PodIdentity = { pod: config.pod, node: config.node, podIp: config.podIp, namespace: config.namespace };
  const table = new ConnectionTable(config.pod);
  const counters = new GrpcCounters();
  let wantReady = true;
  let shuttingDown = false;
  let accepting = true;

  const packageDefinition = loadEchoPackageDefinition();
  const server = new grpc.Server(grpcChannelOptions(config));
  server.addService(
    echoServiceDefinition(packageDefinition),
    echoImplementation({
      pod,
      counters,
      connectionOf: (peer) => table.ofPeer(peer),
      countCall: (connection) => table.countWorkload(connection),
    }),
  );
  const health = new HealthImplementation({ '': 'SERVING', [echoServiceName]: 'SERVING' });
  health.addToServer(server);
  // Reflection describes Echo and Health, so grpcurl can call either without the .proto files.
  new ReflectionService({ ...packageDefinition, ...protoLoader.loadSync(healthProtoPath, echoLoaderOptions) }).addToServer(server);

  const readiness: Readiness = {
    get: () => wantReady && !shuttingDown,
    set: (ready) => {
      wantReady = ready;
      publishHealth();
    },
  };
  function publishHealth(): void {
    const status = readiness.get() ? 'SERVING' : 'NOT_SERVING';
    health.setStatus('', status);
    health.setStatus(echoServiceName, status);
  }

  const { registry, observeClosed } = createGrpcRegistry(counters, table, readiness);
  table.onClose(observeClosed);

  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const http2Servers = injectorHttp2Servers(server);
  counters.goawayCounting = http2Servers !== undefined && http2Servers.length > 0;
  for (const http2Server of http2Servers ?? []) {
    http2Server.on('session', (session: ServerHttp2Session) =>
      watchGoaways(session, () => shuttingDown, (reason) => (counters.goaways[reason] += 1)),
    );
  }

  const listener = net.createServer({ noDelay: true }, (socket) => {
    socket.on('error', () => {});
    if (!accepting) return void socket.destroy();
    table.accept(socket).protocol = 'grpc';
    injector.injectConnection(socket);
  });

  const port = await listen(listener, config.host, config.port, grpcSettings);
  let control: RunningControlServer;
  try {
    control = await startControlServer(config.host, config.metricsPort, { registry, readiness }, { host: grpcSettings.host, port: grpcSettings.metricsPort });
  } catch (error) {
    listener.close();
    server.forceShutdown();
    throw error;
  }

  const forceAll = () => {
    server.forceShutdown();
    const open = table.open();
    // A reset, not a FIN: the client learns at once that its in-flight work is lost.
    for (const connection of open) resetConnection(connection.socket);
    return open.length;
  };

  let shutdownRun: Promise<GrpcShutdownResult> | undefined;
  const shutdown = (opts: GrpcShutdownOptions = {}): Promise<GrpcShutdownResult> => {
    shutdownRun ??= (async () => {
      const drain = opts.drain ?? config.drain;
      shuttingDown = true;
      publishHealth();
      const delayMs = opts.delayMs ?? config.shutdownDelayMs;
      if (drain && delayMs > 0) await sleep(delayMs);
      accepting = false;
      stopAccepting(listener);
      let result: GrpcShutdownResult;
      if (!drain) {
        result = { drained: false, connectionsForced: forceAll() };
      } else {
        const deadline = new AbortController();
        const drained = await Promise.race([
          new Promise<boolean>((resolve) => server.tryShutdown(() => resolve(true))),
          sleep(opts.drainTimeoutMs ?? config.drainTimeoutMs, false, { signal: deadline.signal }).catch(() => false),
        ]);
        deadline.abort();
        result = { drained, connectionsForced: drained ? 0 : forceAll() };
      }
      // Destroyed sockets report 'close' within a tick; the bound only guards against one that never does.
      await Promise.race([table.whenEmpty(), sleep(2000, undefined, { ref: false })]);
      await control.close();
      return result;
    })();
    return shutdownRun;
  };

  const close = async (): Promise<void> => {
    if (shutdownRun) forceAll();
    await shutdown({ drain: false });
  };

  const host = connectableHost(config.host);
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    config,
    host: config.host,
    port,
    metricsPort: control.port,
    target: `${hostPart}:${port}`,
    metricsUrl: `http://${hostPart}:${control.port}`,
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
