import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { V1Pod } from '@kubernetes/client-node';
import { locateContainerLog, streamContainerLog } from './container-logs.ts';
import { LogRequestError, parseLogQuery } from './log-query.ts';

/**
 * The part of the kubelet's API the API server proxies to for `pods/log`:
 * `GET /containerLogs/<namespace>/<pod>/<container>?<PodLogOptions>`, over TLS on the node's
 * InternalIP. Callers authenticate with a client certificate from the lab CA; only the API
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
}

export interface KubeletServer {
  readonly port: number;
  /** Log streams being served now (a follow holds one until it ends). */
  activeStreams(): number;
  /** Stops listening and ends every stream (the agent is stopping). */
  close(): Promise<void>;
}

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

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const socket = req.socket as TLSSocket;
    if (!socket.authorized) return fail(res, 401, 'Unauthorized\n');
    const user = String(socket.getPeerCertificate().subject?.CN ?? '');
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const match = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (user !== options.authorizedUser) {
      return fail(res, 403, `Forbidden (user=${user}, verb=get, resource=nodes, subresource(s)=[${match ? 'log' : 'proxy'}])\n`);
    }
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
    activeStreams: () => streams.size,
    close: async () => {
      for (const stream of streams) stream.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      // Every stream has let go of its file, watcher and timer when this resolves.
      await Promise.all([closed, ...handling]);
    },
  };
}
