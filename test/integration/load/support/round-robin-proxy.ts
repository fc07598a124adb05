import net from 'node:net';

/**
 * A connection-level round-robin TCP proxy on 127.0.0.1, standing in for kube-proxy in front of
 * several sample servers: each ACCEPTED connection goes to the next backend, exactly as a Service
 * spreads connections (not requests). The sample servers cannot do this themselves, so this small
 * in-test component is the only way to get several pods behind one address on loopback.
 */
export async function startRoundRobinProxy(backends: readonly number[]): Promise<{ port: number; accepted: () => number; close: () => Promise<void> }> {
  let next = 0;
  let accepted = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    accepted++;
    const port = backends[next++ % backends.length]!;
    const upstream = net.connect({ host: '127.0.0.1', port });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => accepted,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
