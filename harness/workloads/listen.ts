import type { Server } from 'node:net';
import { badInput, environmentError } from '../core/errors.ts';
import { formatPeer } from './identity.ts';
import type { SettingSpec } from './settings.ts';

/**
 * Binds `server` and returns the port it got (the chosen one when `port` is 0). Bind failures
 * become errors that name the setting and say how to fix it, rather than a bare EADDRINUSE.
 */
export function listen(server: Server, host: string, port: number, settings: { host: SettingSpec; port: SettingSpec }): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(bindError(error, host, port, settings));
    };
    const onListening = () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host, port, exclusive: true });
  });
}

function bindError(error: NodeJS.ErrnoException, host: string, port: number, settings: { host: SettingSpec; port: SettingSpec }) {
  const at = formatPeer(host, port);
  const { host: h, port: p } = settings;
  switch (error.code) {
    case 'EADDRINUSE':
      return badInput(`${p.label}: ${at} is already in use`, {
        where: p.flag,
        hint: `stop what listens on port ${port} (see: ss -ltnp 'sport = :${port}'), or set ${p.env}/${p.flag} to another port (0 picks a free one)`,
        cause: error,
      });
    case 'EACCES':
      return badInput(`${p.label}: not allowed to listen on ${at}`, {
        where: p.flag,
        hint: `ports below 1024 need root or CAP_NET_BIND_SERVICE; set ${p.env}/${p.flag} to 1024 or above`,
        cause: error,
      });
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return badInput(`${h.label}: '${host}' is not an address of this host`, {
        where: h.flag,
        hint: `set ${h.env}/${h.flag} to 0.0.0.0 (all addresses), 127.0.0.1, or an address this host has`,
        cause: error,
      });
    default:
      return environmentError(`could not listen on ${at}: ${error.message}`, { where: p.flag, cause: error });
  }
}

/**
 * Stops accepting new connections at once. (net.Server's close callback only fires once every
 * open connection has ended, so callers wait on their own connection table instead.)
 */
export function stopAccepting(server: Server): void {
  if (server.listening) server.close();
}
