import { jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { promisify } from 'node:util';

jest.setTimeout(60_000);
const exec = promisify(execFile);
const kth = (args: string[]) => exec('node', ['harness/bin/kth.mjs', ...args], { cwd: process.cwd() }).then(
  (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
  (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
);

const listen = (server: Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

/** A loopback port that was just free: bound by the kernel's choice, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await close(server);
  return port;
}

describe('kth load in which no request succeeds', () => {
  it.each([
    ['http', (port: number) => `http://127.0.0.1:${port}/`],
    ['grpc', (port: number) => `127.0.0.1:${port}`],
  ])('GIVEN %s to a port nothing listens on THEN the JSON run is still printed, one stderr line says connection refused, exit 3', async (kind, target) => {
    const url = target(await closedPort());
    const { code, stdout, stderr } = await kth(['load', kind, '--target', url, '--rate', '20', '--duration', '1s', '--json']);
    expect(code).toBe(3);
    // The engine parses stdout whatever the exit code: the run must still be there, whole.
    const run = JSON.parse(stdout);
    expect(run.totals).toMatchObject({ requests: 20, attributed: 0, errors: 20 });
    expect(run.errors.byKind).toEqual({ refused: 20 });
    expect(stderr.trimEnd().split('\n')).toEqual([`error: no request succeeded: 20 of 20 failed (refused 20) — connection refused: nothing is listening at ${url} (wrong port, or the server is not running)`]);
  });

  it('GIVEN a server that accepts and at once resets every connection THEN the line names resets, and the table form is printed too', async () => {
    const server = createServer((socket) => socket.resetAndDestroy());
    const port = await listen(server);
    try {
      const { code, stdout, stderr } = await kth(['load', 'http', '--target', `http://127.0.0.1:${port}/`, '--model', 'short-lived', '--rate', '20', '--duration', '1s']);
      expect(code).toBe(3);
      expect(stdout).toMatch(/^requests 20: attributed 0, unattributed 0, errors 20;/m);
      expect(stderr).toMatch(/^error: no request succeeded: 20 of 20 failed \(reset 20\) — http:\/\/127\.0\.0\.1:\d+\/ accepted connections, then reset them/);
    } finally {
      await close(server);
    }
  });
});
