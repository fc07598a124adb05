import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { guestRun, guestSpawn } from '../../../harness/lab/guest/client.ts';
import { isAlive } from '../../../harness/lab/processes.ts';

/** The guest daemon and its client over a real loopback socket (in a lab they talk over the guest's control link). */
describe('guest daemon', () => {
  let daemon: ChildProcess;
  let port: number;
  beforeAll(async () => {
    port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as { port: number };
        probe.close(() => resolve(free));
      });
    });
    daemon = spawn(process.execPath, ['--import', 'tsx', 'harness/lab/guest/daemon.ts', '--listen', '127.0.0.1', '--port', `${port}`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => daemon.stdout?.on('data', (d: Buffer) => d.toString().includes('listening') && resolve()));
  }, 30_000);
  afterAll(() => {
    daemon.kill('SIGKILL');
  });
  const address = () => ({ host: '127.0.0.1', port });

  it('GIVEN a command with stdin WHEN it runs THEN its stdout, stderr and exit code come back as run() gives them', async () => {
    const result = await guestRun(address(), ['sh', '-c', 'cat; echo oops >&2; exit 3'], { input: 'hello\n', nothrow: true });
    expect(result).toMatchObject({ stdout: 'hello\n', stderr: 'oops\n', exitCode: 3 });
  });

  it('GIVEN a failing command without nothrow THEN an environment error naming the command and its output', async () => {
    await expect(guestRun(address(), ['sh', '-c', 'echo broken >&2; exit 1'], { purpose: 'break' })).rejects.toMatchObject({ kind: 'environment', message: expect.stringMatching(/break failed in the lab guest \(exit 1\)[\s\S]*broken/) });
  });

  it('GIVEN a program that does not exist THEN exit 127 and the reason on stderr', async () => {
    const result = await guestRun(address(), ['no-such-program-kth'], { nothrow: true });
    expect(result.exitCode).toBe(127);
    expect(result.stderr).toMatch(/ENOENT/);
  });

  it('GIVEN a running process WHEN the client signals it THEN it ends by that signal', async () => {
    const child = guestSpawn(address(), { argv: ['sleep', '30'] });
    await new Promise((resolve) => child.once('spawn', resolve));
    child.kill('SIGTERM');
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once('exit', (c: number | null, s: string | null) => resolve([c, s])));
    expect({ code, signal }).toEqual({ code: null, signal: 'SIGTERM' });
  });

  it('GIVEN a running process WHEN its client goes away THEN the daemon ends it: nothing outlives who asked for it', async () => {
    const child = guestSpawn(address(), { argv: ['sleep', '30'] });
    await new Promise((resolve) => child.once('spawn', resolve));
    const pid = child.pid as number;
    expect(isAlive(pid)).toBe(true);
    (child as unknown as { socket: { destroy(): void } }).socket.destroy();
    const deadline = Date.now() + 10_000;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(isAlive(pid)).toBe(false);
  });

  it('GIVEN no daemon at the address WHEN a command is sent THEN it fails within the connect bound instead of hanging', async () => {
    const started = Date.now();
    const result = await guestRun({ host: '127.0.0.1', port: 1, connectTimeoutMs: 2000 }, ['true'], { nothrow: true });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/guest daemon at 127\.0\.0\.1/);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
