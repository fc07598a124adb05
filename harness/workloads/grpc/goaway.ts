import type { Http2Server, ServerHttp2Session } from 'node:http2';
import type { Server } from '@grpc/grpc-js';

export type GoawayReason = 'max_age' | 'shutdown' | 'other';

/**
 * grpc-js sends its max-age GOAWAY from inside its own session handler and offers no hook or
 * counter for it. What it does have is the http2 server it creates for a connection injector,
 * kept in the private `http2Servers` map. This finds that server so the sample server can watch
 * its sessions. Returns undefined if a grpc-js upgrade renamed the field (GOAWAY counting then
 * reports itself unavailable instead of reporting zeros).
 */
export function injectorHttp2Servers(server: Server): Http2Server[] | undefined {
  const internals = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(internals instanceof Map)) return undefined;
  return [...internals.keys()].filter((key): key is Http2Server => typeof (key as Http2Server)?.on === 'function');
}

/**
 * Wraps `session.goaway` so every GOAWAY the server initiates on this session is seen, with its
 * reason: grpc-js's max-age GOAWAY carries opaque data `max_age`; GOAWAYs during shutdown come
 * from `session.close()` (which calls `goaway()`). `onFirst` fires once per session, for the first
 * GOAWAY only: grpc-js follows its max-age GOAWAY with a second one from `close()`, and nghttp2
 * may send a final one when the session ends, so counting frames would count one decision 2–3
 * times. One count per connection is what a client experiences as "told to go away".
 * A connection the client ended first (its own GOAWAY, or a FIN) is not counted: grpc-js answers
 * that with `session.close()` too, but the server told nobody to go away.
 */
export function watchGoaways(session: ServerHttp2Session, shuttingDown: () => boolean, onFirst: (reason: GoawayReason) => void): void {
  const original = session.goaway.bind(session);
  let seen = false;
  const clientLeft = () => (seen = true);
  session.once('goaway', clientLeft);
  session.socket?.once('end', clientLeft);
  session.goaway = (code?: number, lastStreamID?: number, opaqueData?: NodeJS.ArrayBufferView) => {
    original(code, lastStreamID, opaqueData);
    if (seen) return;
    seen = true;
    const opaque = opaqueData ? Buffer.from(opaqueData.buffer, opaqueData.byteOffset, opaqueData.byteLength).toString('latin1') : '';
    onFirst(opaque === 'max_age' ? 'max_age' : shuttingDown() ? 'shutdown' : 'other');
  };
}
