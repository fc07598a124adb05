import type { Socket } from 'node:net';

/**
 * The guest daemon's wire protocol: one TCP connection per process, newline-delimited JSON.
 * The connection's life is the process's: the client's first message starts it, output and the
 * exit come back, and a client that goes away takes its process with it (the daemon kills it),
 * so nothing in the guest outlives whoever asked for it.
 */
export interface SpawnRequest {
  argv: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Append stdout and stderr to this file (a path on the shared state directory) instead of sending them back. */
  logFile?: string;
  /** Whether the client sends standard input (otherwise it is /dev/null). */
  stdin?: boolean;
}

export type ClientMessage =
  | { spawn: SpawnRequest }
  | { stdin: string }
  | { stdinEnd: true }
  | { signal: NodeJS.Signals };

export type DaemonMessage =
  | { pid: number }
  | { stdout: string }
  | { stderr: string }
  | { exit: { code: number | null; signal: NodeJS.Signals | null } }
  | { error: string };

/** Writes one message; binary data travels base64-encoded inside it. */
export function send(socket: Socket, message: ClientMessage | DaemonMessage): void {
  if (!socket.destroyed) socket.write(`${JSON.stringify(message)}\n`);
}

/** Calls `onMessage` for every complete line; a partial line waits for the rest. */
export function onMessages<T>(socket: Socket, onMessage: (message: T) => void): void {
  let pending = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    pending += chunk;
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (line) onMessage(JSON.parse(line) as T);
      newline = pending.indexOf('\n');
    }
  });
}

export const GUEST_DAEMON_PORT = 7070;
