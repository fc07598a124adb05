import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { V1Pod } from '@kubernetes/client-node';
import { WebSocketServer } from 'ws';
import { locateContainerLog, streamContainerLog } from './container-logs.ts';
import { type ExecTarget, execSubprotocols, parseExecQuery, serveExec } from './exec-stream.ts';
import { LogRequestError, parseLogQuery } from './log-query.ts';

/**
 * The parts of the kubelet's API the API server proxies to, over TLS on the node's InternalIP:
 * `GET /containerLogs/<namespace>/<pod>/<container>?<PodLogOptions>` for `pods/log`, and
 * `/exec/<namespace>/<pod>[/<uid>]/<container>?command=…` upgraded to a WebSocket for `pods/exec`
 * (exec-stream.ts). Callers authenticate with a client certificate from the lab CA; only the API
 * server's kubelet client identity is authorized (a kubelet asks the API server through a
 * SubjectAccessReview; the lab has exactly one legitimate caller, so a name check says the same).
 */
export interface KubeletServerOptions {
  host: string;
  port: number;
  certFile: string;
  keyFile: string;
  clientCaFile: string;
  /** The certificate CN allowed in (the API server's kubelet client). */
  authorizedUser: string;
  stateDir: string;
  /** The pod bound to this node with that namespace and name, as the agent's informer has it. */
  pod: (namespace: string, name: string) => V1Pod | undefined;
  log: (line: string) => void;
  /** How often a follow checks its container still runs. */
  followCheckIntervalMs?: number;
  /** The running container an exec enters; a string says why there is none. Without it, exec is not served. */
  execTarget?: (pod: V1Pod, container: string) => ExecTarget | string;
}

export interface KubeletServer {
  readonly port: number;
  /** Log streams and exec sessions being served now (a follow holds one until it ends). */
  activeStreams(): number;
  /** Stops listening and ends every stream (the agent is stopping). */
  close(): Promise<void>;
}

/** `/exec/<namespace>/<pod>/<container>`, or with the pod's UID before the container. */
const execPath = /^\/exec\/([^/]+)\/([^/]+)\/(?:[^/]+\/)?([^/]+)$/;

/** An error answer: `message` as is (go-restful's WriteError adds no newline; Go's http.Error does, so callers add it). */
function fail(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
  res.end(message);
}

export async function startKubeletServer(options: KubeletServerOptions): Promise<KubeletServer> {
  const streams = new Set<AbortController>();
  const handling = new Set<Promise<void>>();
  const server = createServer(
    {
      cert: readFileSync(options.certFile),
      key: readFileSync(options.keyFile),
      ca: readFileSync(options.clientCaFile),
      // Ask for a certificate but let the handshake finish without one: an anonymous caller gets
      // the kubelet's HTTP 401, not a TLS alert.
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      const done = handle(req, res)
        .catch((error: Error) => {
          options.log(`kubelet API ${req.url}: ${error.stack ?? error.message}`);
          fail(res, 500, error.message);
        })
        .finally(() => handling.delete(done));
      handling.add(done);
    },
  );

  /** The caller's refusal (status and text), or undefined when it is the API server. */
  function refusal(req: IncomingMessage, subresource: string): [number, string] | undefined {
    const socket = req.socket as TLSSocket;
    if (!socket.authorized) return [401, 'Unauthorized\n'];
    const user = String(socket.getPeerCertificate().subject?.CN ?? '');
    if (user !== options.authorizedUser) return [403, `Forbidden (user=${user}, verb=get, resource=nodes, subresource(s)=[${subresource}])\n`];
    return undefined;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const match = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    const refused = refusal(req, match ? 'log' : 'proxy');
    if (refused) return fail(res, ...refused);
    if (execPath.test(url.pathname)) return fail(res, 400, 'Upgrade request required');
    if (!match) return fail(res, 404, '404 page not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(res, 405, `${req.method} not allowed\n`);
    let namespace: string, name: string, container: string;
    try {
      [namespace, name, container] = match.slice(1).map(decodeURIComponent) as [string, string, string];
    } catch {
      return fail(res, 400, `malformed path ${url.pathname}`);
    }
    const stream = new AbortController();
    try {
      const query = parseLogQuery(url.searchParams);
      const log = await locateContainerLog(options.stateDir, options.pod(namespace, name), name, container, query);
      streams.add(stream);
      // The client going away (the API server cancels when its caller does) ends a follow.
      res.on('close', () => stream.abort());
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private' });
      res.flushHeaders();
      if (req.method === 'GET') await streamContainerLog(log, query, res, stream.signal, { checkIntervalMs: options.followCheckIntervalMs });
      res.end();
    } catch (error) {
      if (error instanceof LogRequestError) return fail(res, error.status, error.message);
      options.log(`containerLogs ${namespace}/${name}/${container}: ${(error as Error).stack ?? String(error)}`);
      fail(res, 500, (error as Error).message);
    } finally {
      streams.delete(stream);
    }
  }

  // pods/exec: only WebSocket upgrades are answered (SPDY is what the API server would send a node
  // that does not declare ExtendWebSocketsToKubelet; this one always does).
  const sockets = new WebSocketServer({ noServer: true, handleProtocols: (offered) => execSubprotocols.find((p) => offered.has(p)) ?? false });
  const sessions = new Set<Promise<void>>();
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const reject = (status: number, message: string) => {
      socket.end(`HTTP/1.1 ${status} ${status === 400 ? 'Bad Request' : status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : 'Not Found'}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n${message}`);
    };
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const match = execPath.exec(url.pathname);
    const refused = refusal(req, 'proxy');
    if (refused) return reject(...refused);
    if (!match || !options.execTarget) return reject(404, '404 page not found\n');
    if (String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      return reject(400, `the lab's node agent serves exec over WebSocket only (${execSubprotocols.join(', ')}), not ${String(req.headers.upgrade)}\n`);
    }
    const request = parseExecQuery(url.searchParams);
    if ('error' in request) return reject(400, `${request.error}\n`);
    if (request.tty) return reject(400, 'the lab runs containers without a terminal: exec with a tty is not supported; drop -t\n');
    let namespace: string, name: string, container: string;
    try {
      [namespace, name, container] = match.slice(1).map(decodeURIComponent) as [string, string, string];
    } catch {
      return reject(400, `malformed path ${url.pathname}\n`);
    }
    const pod = options.pod(namespace, name);
    if (!pod) return reject(404, `pod does not exist\n`);
    const target = options.execTarget(pod, container);
    if (typeof target === 'string') return reject(400, `${target}\n`);
    sockets.handleUpgrade(req, socket, head, (ws) => {
      const session = serveExec(ws, target, request, options.log).finally(() => sessions.delete(session));
      sessions.add(session);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => options.log(`kubelet API server: ${error.message}`));
  // A failed handshake (a client that does not trust the lab CA) is the client's problem, not ours.
  server.on('tlsClientError', () => {});
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    activeStreams: () => streams.size + sessions.size,
    close: async () => {
      for (const stream of streams) stream.abort();
      // Closing a session's socket kills its command's process group.
      for (const client of sockets.clients) client.terminate();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      // Every stream has let go of its file, watcher and timer when this resolves.
      await Promise.all([closed, ...handling, ...sessions]);
    },
  };
}
