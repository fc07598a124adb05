import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { WebSocket } from 'ws';
import { inContainer } from './handlers.ts';

/**
 * `kubectl exec` (and client-go's exec) as the kubelet serves it over WebSocket: the API server
 * proxies the upgrade straight to the node when the Node declares `ExtendWebSocketsToKubelet`
 * (beta and on by default in 1.36), so the agent speaks the channel protocol itself and never
 * SPDY. Every binary message is one channel byte and its data: 0 stdin, 1 stdout, 2 stderr,
 * 3 the final status, 4 terminal resize; in v5 a client's `[255, channel]` closes that channel
 * (stdin's end of file). The process runs in the container's namespaces with its environment, as
 * a runtime's exec does (handlers.ts's inContainer, which exec probes use too).
 */
export const execSubprotocols = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'channel.k8s.io'] as const;

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const STATUS = 3;
const CLOSE_SIGNAL = 255;

/** The query of `/exec/<ns>/<pod>/<container>?command=…&input=1&output=1&error=1&tty=0`. */
export interface ExecRequest {
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

export function parseExecQuery(query: URLSearchParams): ExecRequest | { error: string } {
  const flag = (name: string) => ['1', 'true'].includes(query.get(name) ?? '');
  const request = { command: query.getAll('command'), stdin: flag('input'), stdout: flag('output'), stderr: flag('error'), tty: flag('tty') };
  if (request.command.length === 0) return { error: 'you must specify at least one command for the container' };
  if (!request.stdin && !request.stdout && !request.stderr) return { error: 'you must specify at least 1 of stdin, stdout, stderr' };
  if (request.tty && request.stderr) return { error: 'stdout and stderr cannot both be requested with a tty' };
  return request;
}

/** Where an exec runs: the container's main process (its namespaces and working directory) and environment. */
export interface ExecTarget {
  containerPid: number;
  env: Readonly<Record<string, string>>;
}

/** The metav1.Status a v4+ client reads on channel 3 when the command ends. */
export function execStatus(exitCode: number | null, signal: NodeJS.Signals | null, command: readonly string[], failure?: string): Record<string, unknown> {
  if (failure !== undefined) return { metadata: {}, status: 'Failure', message: failure, reason: 'InternalError', code: 500 };
  const code = exitCode ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1);
  if (code === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

/**
 * Runs one exec session on an upgraded socket until the command ends (status sent, socket
 * closed) or the client goes away (the command's process group is killed: nothing outlives its
 * session). Resolves when both are over.
 */
export function serveExec(socket: WebSocket, target: ExecTarget, request: ExecRequest, log: (line: string) => void): Promise<void> {
  const protocol = socket.protocol;
  const statusJson = protocol.startsWith('v4.') || protocol.startsWith('v5.');
  const send = (channel: number, data: Buffer | string) => {
    if (socket.readyState !== socket.OPEN) return;
    const body = typeof data === 'string' ? Buffer.from(data) : data;
    socket.send(Buffer.concat([Buffer.from([channel]), body]));
  };
  const argv = inContainer(target.containerPid, request.command);
  const child = spawn(argv[0] as string, argv.slice(1), { env: { ...target.env }, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  // The kubelet tells the client the streams are up with an empty frame on the first output channel.
  send(request.stdout ? STDOUT : request.stderr ? STDERR : STATUS, Buffer.alloc(0));
  // A stream nobody asked for is dropped (the server refuses a tty before a session starts).
  child.stdout.on('data', (chunk: Buffer) => request.stdout && send(STDOUT, chunk));
  child.stderr.on('data', (chunk: Buffer) => request.stderr && send(STDERR, chunk));
  if (!request.stdin) child.stdin.end();
  child.stdin.on('error', () => {}); // the command may exit before reading what it was sent
  socket.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary || data.length === 0) return;
    if (data[0] === CLOSE_SIGNAL) {
      if (data[1] === STDIN) child.stdin.end();
      return;
    }
    if (data[0] === STDIN && request.stdin && child.stdin.writable) child.stdin.write(data.subarray(1));
  });
  const killGroup = () => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  socket.on('close', killGroup);
  return new Promise<void>((resolve) => {
    let failure: string | undefined;
    child.on('error', (error) => {
      failure = `cannot run ${argv[0]}: ${error.message}`;
    });
    child.on('close', (exitCode, signal) => {
      socket.off('close', killGroup);
      const status = execStatus(exitCode, signal, request.command, failure);
      if (statusJson) send(STATUS, JSON.stringify(status));
      else if (status.status !== 'Success') send(STATUS, String(status.message));
      if (failure) log(`exec ${request.command.join(' ')}: ${failure}`);
      if (socket.readyState === socket.OPEN) socket.close(1000);
      resolve();
    });
  });
}
