import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { type ClientMessage, onMessages, send } from './protocol.ts';

/**
 * The guest daemon: runs inside a lab guest and starts processes there for the host (the lab
 * supervisor's node components, `kth lab exec`, inspect's rule reads, load clients). Kept free of
 * the harness's heavier modules: under emulation every module loaded costs ten times its host time.
 */
const { values } = parseArgs({ options: { listen: { type: 'string' }, port: { type: 'string' } } });
const KILL_GRACE_MS = 5000;

function serve(socket: Socket): void {
  let child: ReturnType<typeof spawn> | undefined;
  let exited = false;
  onMessages<ClientMessage>(socket, (message) => {
    if ('spawn' in message) {
      const request = message.spawn;
      const log = request.logFile ? openSync(request.logFile, 'a') : undefined;
      try {
        child = spawn(request.argv[0] as string, request.argv.slice(1), {
          env: { ...process.env, ...request.env },
          cwd: request.cwd ?? '/',
          stdio: [request.stdin ? 'pipe' : 'ignore', log ?? 'pipe', log ?? 'pipe'],
          detached: true, // its own process group, so a kill reaches what it started
        });
      } finally {
        if (log !== undefined) closeSync(log);
      }
      // A program that cannot start (ENOENT, EACCES) ends like a shell's: exit 127.
      child.on('error', (error) => {
        if (exited) return;
        exited = true;
        send(socket, { error: `${request.argv[0]}: ${error.message}` });
        send(socket, { exit: { code: 127, signal: null } });
        socket.end();
      });
      if (child.pid) send(socket, { pid: child.pid });
      child.stdout?.on('data', (data: Buffer) => send(socket, { stdout: data.toString('base64') }));
      child.stderr?.on('data', (data: Buffer) => send(socket, { stderr: data.toString('base64') }));
      child.on('close', (code, signal) => {
        if (exited) return;
        exited = true;
        send(socket, { exit: { code, signal } });
        socket.end();
      });
    } else if ('stdin' in message) child?.stdin?.write(Buffer.from(message.stdin, 'base64'));
    else if ('stdinEnd' in message) child?.stdin?.end();
    else if ('signal' in message) signalGroup(child?.pid, message.signal);
  });
  // The client went away: its process goes too (SIGTERM, then SIGKILL).
  socket.on('close', () => {
    if (!child?.pid || exited) return;
    signalGroup(child.pid, 'SIGTERM');
    setTimeout(() => exited || signalGroup(child?.pid, 'SIGKILL'), KILL_GRACE_MS).unref();
  });
  socket.on('error', () => {});
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* gone */
    }
  }
}

const server = createServer(serve);
server.listen(Number(values.port), values.listen, () => process.stdout.write(`kth-guest: daemon listening on ${values.listen}:${values.port}\n`));
