import type { Socket } from 'node:net';

/** The HTTP/2 connection preface a prior-knowledge h2c client sends first (RFC 9113 §3.4). */
const h2Preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export type SniffedProtocol = 'http/1.1' | 'h2';

/**
 * Reads just enough of a new connection to tell HTTP/1.1 from prior-knowledge h2c, then pushes the
 * bytes back so the chosen server parses the stream from its start. One port serves both, which is
 * what a Service in front of the pods needs. (Node's allowHTTP1 only works with TLS/ALPN.)
 * Resolves undefined when the peer closes before sending enough to decide.
 */
export function sniffProtocol(socket: Socket): Promise<SniffedProtocol | undefined> {
  return new Promise((resolve) => {
    const seen: Buffer[] = [];
    let length = 0;
    const finish = (protocol: SniffedProtocol | undefined) => {
      socket.off('readable', onReadable);
      socket.off('end', onGone);
      socket.off('close', onGone);
      if (protocol && length > 0) socket.unshift(Buffer.concat(seen, length));
      resolve(protocol);
    };
    const onGone = () => finish(undefined);
    const onReadable = () => {
      let chunk: Buffer | null;
      while ((chunk = socket.read() as Buffer | null) !== null) {
        seen.push(chunk);
        length += chunk.length;
        const head = Buffer.concat(seen, length);
        const compared = Math.min(head.length, h2Preface.length);
        if (!head.subarray(0, compared).equals(h2Preface.subarray(0, compared))) return finish('http/1.1');
        if (compared === h2Preface.length) return finish('h2');
      }
    };
    socket.on('readable', onReadable);
    socket.once('end', onGone);
    socket.once('close', onGone);
  });
}
