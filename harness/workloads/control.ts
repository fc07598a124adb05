import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Registry } from 'prom-client';

export type AnyRequest = IncomingMessage | Http2ServerRequest;
export type AnyResponse = ServerResponse | Http2ServerResponse;

/** Whether the server wants traffic: /readyz answers from it, the toggle endpoint flips it. */
export interface Readiness {
  get(): boolean;
  set(ready: boolean): void;
}

/**
 * Paths that are about the server rather than the workload. Requests to them are answered but not
 * counted as workload requests, so kubelet probes and scrapes never skew the cross-checks.
 *   GET  /healthz                     200 while the process runs
 *   GET  /readyz                      200 when ready, 503 when not (or shutting down)
 *   GET  /metrics                     Prometheus text
 *   POST /admin/readiness?ready=X     X = true | false | toggle (default toggle); answers {"ready":…}
 *   GET  /clock                       {"unixMs":…}: this pod's wall clock, which distributed load
 *                                     generators measure their offsets against (load/clock-offset.ts)
 */
export const ControlPath = {
  healthz: '/healthz',
  readyz: '/readyz',
  metrics: '/metrics',
  readiness: '/admin/readiness',
  clock: '/clock',
} as const;

const controlPaths = new Set<string>(Object.values(ControlPath));

export function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return q === -1 ? raw : raw.slice(0, q);
}

export function isControlPath(path: string): boolean {
  return controlPaths.has(path);
}

export interface ControlContext {
  registry: Registry;
  readiness: Readiness;
}

/** Answers a control request; `path` must satisfy {@link isControlPath}. */
export async function serveControl(req: AnyRequest, res: AnyResponse, path: string, context: ControlContext): Promise<void> {
  switch (path) {
    case ControlPath.healthz:
      return send(res, 200, 'text/plain', 'ok\n');
    case ControlPath.readyz: {
      const ready = context.readiness.get();
      return send(res, ready ? 200 : 503, 'text/plain', ready ? 'ready\n' : 'not ready\n');
    }
    case ControlPath.metrics:
      return send(res, 200, context.registry.contentType, await context.registry.metrics());
    case ControlPath.readiness: {
      if (req.method !== 'POST' && req.method !== 'PUT') {
        return send(res, 405, 'application/json', `${JSON.stringify({ error: 'use POST /admin/readiness?ready=true|false|toggle' })}\n`);
      }
      const wanted = new URL(req.url ?? '/', 'http://x').searchParams.get('ready') ?? 'toggle';
      if (wanted !== 'true' && wanted !== 'false' && wanted !== 'toggle') {
        return send(res, 400, 'application/json', `${JSON.stringify({ error: `ready=${wanted}: use true, false or toggle` })}\n`);
      }
      context.readiness.set(wanted === 'toggle' ? !context.readiness.get() : wanted === 'true');
      return send(res, 200, 'application/json', `${JSON.stringify({ ready: context.readiness.get() })}\n`);
    }
    case ControlPath.clock:
      // Date.now(): whole milliseconds (the Go server answers to the microsecond).
      return send(res, 200, 'application/json', `${JSON.stringify({ unixMs: Date.now() })}\n`);
    default:
      return send(res, 404, 'text/plain', 'not found\n');
  }
}

function send(res: AnyResponse, status: number, contentType: string, body: string): void {
  res.statusCode = status;
  res.setHeader('content-type', contentType);
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body);
}
