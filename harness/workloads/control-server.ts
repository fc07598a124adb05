import http from 'node:http';
import { type ControlContext, isControlPath, pathOf, serveControl } from './control.ts';
import { listen } from './listen.ts';
import type { SettingSpec } from './settings.ts';

export interface RunningControlServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The HTTP side port of servers whose main port speaks something else (gRPC): /metrics, /healthz,
 * /readyz and the readiness toggle, nothing more.
 */
export async function startControlServer(
  host: string,
  port: number,
  context: ControlContext,
  settings: { host: SettingSpec; port: SettingSpec },
): Promise<RunningControlServer> {
  const server = http.createServer((req, res) => {
    const path = pathOf(req.url);
    if (!isControlPath(path)) {
      res.statusCode = 404;
      res.end('not found: this port serves /metrics, /healthz, /readyz, /admin/readiness, /clock\n');
      return;
    }
    serveControl(req, res, path, context).catch(() => res.destroy());
  });
  const bound = await listen(server, host, port, settings);
  return {
    port: bound,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
