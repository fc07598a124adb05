import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConnectionTable } from '../../../../harness/workloads/connections.ts';
import { parseHttpServerOptions } from '../../../../harness/workloads/http/options.ts';
import { closeReason, identityHeaders, requestKnobs, servedBy } from '../../../../harness/workloads/http/respond.ts';
import { IdentityHeader, parsePeer } from '../../../../harness/workloads/identity.ts';

// A real loopback connection gives the table a real socket to track.
async function loopbackSocket(): Promise<{ socket: net.Socket; close: () => void }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const socket = await accepted;
  return {
    socket,
    close: () => {
      client.destroy();
      socket.destroy();
      server.close();
    },
  };
}

describe('HTTP responses', () => {
  it('GIVEN a connection WHEN served THEN identity headers carry pod, peer, connection id and sequence', async () => {
    const { socket, close } = await loopbackSocket();
    try {
      const table = new ConnectionTable('web-0');
      const connection = table.accept(socket);
      const served = servedBy({ pod: 'web-0', node: 'n1', podIp: '10.0.0.5', namespace: 'ns' }, connection, connection.nextSequence());
      const headers = identityHeaders(served);
      expect(headers[IdentityHeader.connectionId]).toBe('web-0/1');
      expect(headers[IdentityHeader.sequence]).toBe('1');
      expect(parsePeer(String(headers[IdentityHeader.peer]))).toEqual({ address: '127.0.0.1', port: socket.remotePort });
      expect(headers[IdentityHeader.node]).toBe('n1');
    } finally {
      close();
    }
  });

  it('GIVEN limits WHEN requests arrive THEN the close reason follows max requests, max age and draining', async () => {
    const { socket, close } = await loopbackSocket();
    try {
      const connection = new ConnectionTable('p').accept(socket);
      const limited = parseHttpServerOptions({ maxRequestsPerConnection: 3 });
      expect(closeReason(connection, 2, limited)).toBeUndefined();
      expect(closeReason(connection, 3, limited)).toBe('max-requests');
      expect(closeReason(connection, 1, parseHttpServerOptions({ maxConnectionAgeMs: 0 }))).toBeUndefined();
      expect(closeReason(connection, 1, parseHttpServerOptions({ maxConnectionAgeMs: '1h' }))).toBeUndefined();
      await sleep(5);
      expect(closeReason(connection, 1, parseHttpServerOptions({ maxConnectionAgeMs: '1ms' }))).toBe('max-age');
      connection.closing = true;
      expect(closeReason(connection, 1, parseHttpServerOptions({}))).toBe('draining');
    } finally {
      close();
    }
  });

  it('GIVEN query knobs WHEN read THEN delay and payload override the configured values, bad ones are refused', () => {
    const config = parseHttpServerOptions({ responseDelayMs: 5, responseBytes: 10 });
    expect(requestKnobs({ url: '/x' } as never, config)).toEqual({ delayMs: 5, payloadBytes: 10 });
    expect(requestKnobs({ url: '/x?delay_ms=250&payload_bytes=0' } as never, config)).toEqual({ delayMs: 250, payloadBytes: 0 });
    expect(requestKnobs({ url: '/x?delay_ms=-1' } as never, config)).toBe('delay_ms=-1: use a whole number from 0 to 3600000');
  });
});
