import { jest } from '@jest/globals';
import net from 'node:net';
import { spawnKth } from './helpers.ts';

jest.setTimeout(60_000);

async function kth(args: string[], env: Record<string, string> = {}) {
  await using child = spawnKth(args, env);
  const exit = await child.exited;
  return { code: exit.code, stdout: child.stdout(), stderr: child.stderr() };
}

describe('kth serve configuration errors', () => {
  it('GIVEN a negative keep-alive timeout flag WHEN started THEN it exits 2 naming the setting, its env var and flag', async () => {
    const { code, stderr } = await kth(['serve', 'http', '--port', '0', '--keepalive-timeout', '-1']);
    expect(code).toBe(2);
    expect(stderr).toContain('keep-alive timeout: -1 is negative; set KTH_KEEPALIVE_TIMEOUT/--keepalive-timeout to ≥ 0');
  });

  it('GIVEN bad values in env vars WHEN started THEN every bad setting is named at once', async () => {
    const { code, stderr } = await kth(['serve', 'grpc', '--port', '0', '--metrics-port', '0'], {
      KTH_MAX_CONNECTION_AGE: '-5s',
      KTH_KEEPALIVE_TIME: 'often',
    });
    expect(code).toBe(2);
    expect(stderr).toContain('max connection age: \'-5s\' is negative; set KTH_MAX_CONNECTION_AGE/--max-connection-age to ≥ 0');
    expect(stderr).toContain("keepalive time: 'often' is not a duration");
  });

  it('GIVEN an unknown mode WHEN started THEN it exits 2 naming the mode and the valid ones', async () => {
    const { code, stderr } = await kth(['serve', 'ftp']);
    expect(code).toBe(2);
    expect(stderr).toContain("serve mode: 'ftp' is not a mode");
    expect(stderr).toContain('kth serve http, kth serve grpc');
  });

  it('GIVEN a port already in use WHEN started THEN it exits 2 naming the port, the flag and how to fix it', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      const http = await kth(['serve', 'http', '--host', '127.0.0.1', '--port', String(port)]);
      expect(http.code).toBe(2);
      expect(http.stderr).toContain(`port: 127.0.0.1:${port} is already in use`);
      expect(http.stderr).toContain('--port');
      const grpc = await kth(['serve', 'grpc', '--host', '127.0.0.1', '--port', '0', '--metrics-port', String(port)]);
      expect(grpc.code).toBe(2);
      expect(grpc.stderr).toContain(`metrics port: 127.0.0.1:${port} is already in use`);
      expect(grpc.stderr).toContain('KTH_METRICS_PORT/--metrics-port');
    } finally {
      blocker.close();
    }
  });

  it('GIVEN --port 0 WHEN started THEN the first stdout line names the chosen address, and SIGTERM ends it with 0', async () => {
    await using child = spawnKth(['serve', 'http', '--host', '127.0.0.1', '--port', '0']);
    const { host, port } = await child.listening;
    expect(host).toBe('127.0.0.1');
    expect(child.stdout()).toMatch(new RegExp(`^kth serve http listening on 127\\.0\\.0\\.1:${port}\\n`));
    const response = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } });
    expect(response.headers.get('x-kth-connection-id')).toMatch(/\/1$/);
    await response.arrayBuffer();
    process.kill(child.pid, 'SIGTERM');
    expect(await child.exited).toEqual({ code: 0, signal: null });
  });
});
