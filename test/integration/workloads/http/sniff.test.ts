import { jest } from '@jest/globals';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { sniffProtocol } from '../../../../harness/workloads/http/sniff.ts';

jest.setTimeout(15_000);

/** A loopback pair: what the test writes on `client` arrives on `accepted`. */
async function pair(): Promise<{ client: net.Socket; accepted: net.Socket; close(): void }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const socket = await accepted;
  return {
    client,
    accepted: socket,
    close() {
      client.destroy();
      socket.destroy();
      server.close();
    },
  };
}

async function readAll(socket: net.Socket, bytes: number): Promise<string> {
  let text = '';
  for await (const chunk of socket) {
    text += String(chunk);
    if (text.length >= bytes) break;
  }
  return text;
}

describe('protocol sniffing', () => {
  it.each([
    ['an HTTP/1.1 request', 'GET / HTTP/1.1\r\nhost: x\r\n\r\n', 'http/1.1'],
    ['the h2c preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'h2'],
    ['a request starting like the preface', 'PRIX / HTTP/1.1\r\n\r\n', 'http/1.1'],
  ])('GIVEN %s sent one byte at a time WHEN sniffed THEN it is %s and no byte is lost', async (_what, text, expected) => {
    const { client, accepted, close } = await pair();
    try {
      const sniffed = sniffProtocol(accepted);
      for (const byte of text) {
        client.write(byte);
        await sleep(1);
      }
      expect(await sniffed).toBe(expected);
      expect(await readAll(accepted, text.length)).toBe(text);
    } finally {
      close();
    }
  });

  it('GIVEN a peer that closes before sending enough WHEN sniffed THEN there is no protocol', async () => {
    const { client, accepted, close } = await pair();
    try {
      const sniffed = sniffProtocol(accepted);
      client.end('PRI');
      expect(await sniffed).toBeUndefined();
    } finally {
      close();
    }
  });
});
