import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import { environmentError } from '../../core/errors.ts';
import { commandLine, lastLines, type RunOptions, type RunResult } from '../../core/exec.ts';
import { type DaemonMessage, GUEST_DAEMON_PORT, onMessages, send, type SpawnRequest } from './protocol.ts';

/** Where a lab's guest daemon listens (the guest end of its control link). */
export interface GuestAddress {
  host: string;
  port?: number;
  /** Give up connecting after this long (a guest still booting does not answer ARP, and TCP retries for minutes). */
  connectTimeoutMs?: number;
}

/**
 * A process in the guest, shaped like the parts of a ChildProcess the harness uses (pid, exit
 * and close events, exitCode/signalCode, stdio streams, kill), so callers treat a node component
 * or a load client the same wherever its kernel is.
 */
export class GuestProcess extends EventEmitter {
  pid: number | undefined;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly stdin: Writable;
  private readonly socket: Socket;
  private ended = false;

  constructor(address: GuestAddress, request: SpawnRequest) {
    super();
    this.socket = connect({ host: address.host, port: address.port ?? GUEST_DAEMON_PORT });
    this.socket.setNoDelay(true);
    if (address.connectTimeoutMs) {
      this.socket.setTimeout(address.connectTimeoutMs, () => this.finish(null, 'SIGKILL', `guest daemon at ${address.host}: no answer in ${address.connectTimeoutMs} ms`));
      this.socket.once('connect', () => this.socket.setTimeout(0));
    }
    this.stdin = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        send(this.socket, { stdin: chunk.toString('base64') });
        done();
      },
      final: (done) => {
        send(this.socket, { stdinEnd: true });
        done();
      },
    });
    // Written now, queued until connected: nothing (stdin) may overtake the spawn.
    send(this.socket, { spawn: request });
    onMessages<DaemonMessage>(this.socket, (message) => {
      if ('pid' in message) {
        this.pid = message.pid;
        this.emit('spawn');
      } else if ('stdout' in message) this.stdout.write(Buffer.from(message.stdout, 'base64'));
      else if ('stderr' in message) this.stderr.write(Buffer.from(message.stderr, 'base64'));
      else if ('exit' in message) this.finish(message.exit.code, message.exit.signal);
      else if ('error' in message) this.stderr.write(`${message.error}\n`);
    });
    this.socket.on('error', (error) => this.finish(null, 'SIGKILL', `guest daemon at ${address.host}: ${error.message}`));
    // The guest went away (powered off, killed): the process is gone with it.
    this.socket.on('close', () => this.finish(null, 'SIGKILL'));
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (this.ended) return false;
    send(this.socket, { signal });
    return true;
  }

  private finish(code: number | null, signal: NodeJS.Signals | null, error?: string): void {
    if (this.ended) return;
    this.ended = true;
    this.exitCode = code;
    this.signalCode = code === null ? signal : null;
    if (error) this.stderr.write(`${error}\n`);
    this.stdout.end();
    this.stderr.end();
    this.socket.destroy();
    this.emit('exit', this.exitCode, this.signalCode);
    this.emit('close', this.exitCode, this.signalCode);
  }
}

export function guestSpawn(address: GuestAddress, request: SpawnRequest): GuestProcess {
  return new GuestProcess(address, request);
}

/** `run()` for a command in the guest: same options, same result, same error on failure. */
export async function guestRun(address: GuestAddress, argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const started = performance.now();
  const env = Object.fromEntries(Object.entries(options.env ?? {}).filter((entry): entry is [string, string] => entry[1] !== undefined));
  const child = guestSpawn(address, { argv: [...argv], env, ...(options.cwd ? { cwd: options.cwd } : {}), stdin: options.input !== undefined });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => stdout.push(d));
  child.stderr.on('data', (d: Buffer) => stderr.push(d));
  if (options.input !== undefined) child.stdin.end(options.input);
  const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
  await new Promise((resolve) => child.once('close', resolve)).finally(() => clearTimeout(timer));
  const result: RunResult = {
    stdout: Buffer.concat(stdout).toString('utf8'),
    stderr: Buffer.concat(stderr).toString('utf8'),
    exitCode: child.exitCode ?? -1,
    durationMs: performance.now() - started,
  };
  if (result.exitCode !== 0 && !options.nothrow) {
    const what = options.purpose ? `${options.purpose} failed` : 'command failed';
    throw environmentError(`${what} in the lab guest (exit ${result.exitCode}): ${commandLine(argv)}\n${lastLines(`${result.stderr}\n${result.stdout}`, 15)}`, {
      hint: `rerun it by hand in the guest: kth lab exec <target> -- ${commandLine(argv)}`,
    });
  }
  return result;
}
