import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot } from '../../../harness/core/paths.ts';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * One HTTP/1.1 connection the test controls byte for byte: it never reconnects on its own, so the
 * test sees exactly which TCP connection each response came back on, and when the server ends it.
 */
export class RawHttpConnection {
  readonly socket: net.Socket;
  /** Resolves once the connection is closed: 'end' when the server ended it, 'error' on a reset, 'local' when we closed it. */
  readonly ended: Promise<'end' | 'error' | 'local'>;
  /** The socket error that ended the connection (ECONNRESET on a reset). */
  error: NodeJS.ErrnoException | undefined;
  private buffer = Buffer.alloc(0);
  private waiting: { resolve: (r: RawResponse) => void; reject: (e: Error) => void } | undefined;
  private closedError: Error | undefined;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    let how: 'end' | 'error' | 'local' = 'local';
    this.ended = new Promise((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        this.buffer = Buffer.concat([this.buffer, chunk]);
        this.tryParse();
      });
      socket.once('end', () => {
        how = 'end';
        this.fail(new Error('server closed the connection before a full response'), 'ECONNCLOSED');
        socket.end();
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        how = 'error';
        this.error = error;
        this.fail(error, error.code ?? 'ERROR');
      });
      socket.once('close', () => {
        this.fail(new Error('connection closed'), 'ECONNCLOSED');
        resolve(how);
      });
    });
  }

  static open(port: number, host = '127.0.0.1'): Promise<RawHttpConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host }, () => {
        socket.off('error', reject);
        resolve(new RawHttpConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  get localPort(): number {
    return this.socket.localPort ?? 0;
  }

  request(path: string, method = 'GET'): Promise<RawResponse> {
    if (this.waiting) throw new Error('one request at a time');
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(`${method} ${path} HTTP/1.1\r\nhost: test\r\ncontent-length: 0\r\n\r\n`);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private fail(error: Error, code: string): void {
    if (this.closedError) return;
    this.closedError = Object.assign(error, { code });
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(this.closedError);
  }

  private tryParse(): void {
    const headEnd = this.buffer.indexOf('\r\n\r\n');
    if (headEnd === -1 || !this.waiting) return;
    const [statusLine, ...lines] = this.buffer.subarray(0, headEnd).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    if (this.buffer.length < headEnd + 4 + length) return;
    const body = this.buffer.subarray(headEnd + 4, headEnd + 4 + length).toString('utf8');
    this.buffer = this.buffer.subarray(headEnd + 4 + length);
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting.resolve({ status: Number(statusLine?.split(' ')[1]), headers, body });
  }
}

/** Polls `check` until it returns a value other than undefined/false, at most `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export interface KthProcess extends AsyncDisposable {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The first stdout line's `listening on <host>:<port>` (and `metrics on …` for grpc). */
  readonly listening: Promise<{ host: string; port: number; metricsPort?: number }>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
  stderr(): string;
}

const kthBin = join(repoRoot, 'harness/bin/kth.mjs');

/** Runs `node harness/bin/kth.mjs <args>` as a child; disposing kills that pid if it still runs. */
export function spawnKth(args: string[], env: Record<string, string> = {}): KthProcess {
  const child = spawn(process.execPath, [kthBin, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (out += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (err += text));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const listening = new Promise<{ host: string; port: number; metricsPort?: number }>((resolve, reject) => {
    const onData = () => {
      const match = /listening on (\[[^\]]+\]|[^\s:]+):(\d+)(?: metrics on \S+:(\d+))?\n/.exec(out);
      if (!match) return;
      child.stdout.off('data', onData);
      resolve({ host: match[1] as string, port: Number(match[2]), ...(match[3] ? { metricsPort: Number(match[3]) } : {}) });
    };
    child.stdout.on('data', onData);
    void exited.then(({ code, signal }) => reject(new Error(`kth ${args.join(' ')} exited (${code ?? signal}) before listening:\n${err}`)));
  });
  listening.catch(() => {});
  let done = false;
  void exited.then(() => (done = true));
  if (child.pid === undefined) throw new Error('could not spawn kth');
  const pid = child.pid;
  return {
    child,
    pid,
    listening,
    exited,
    stdout: () => out,
    stderr: () => err,
    [Symbol.asyncDispose]: async () => {
      if (!done) process.kill(pid, 'SIGKILL');
      await exited;
    },
  };
}
