import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { run } from '../../core/exec.ts';
import type { ClientProcess } from '../execute.ts';
import { decodeRelayFrames, eventsPath } from './relay-frames.ts';

let sequence = 0;

/**
 * `kth <argv>` as a container on a Docker network beside a kind cluster's nodes: where a client
 * outside the cluster sits (it reaches NodePorts and LoadBalancer addresses as an outside machine
 * would, from an address that is none of the nodes'). The container runs `kth load relay`, so its
 * output comes back framed like a relay pod's — the events file included. kill() stops it with
 * SIGTERM, which the relay turns into the load's Ctrl-C.
 */
export function spawnRelayContainer(options: { image: string; network: string; argv: readonly string[]; labels: Record<string, string> }): ClientProcess {
  const [command, ...rest] = options.argv;
  if (command !== 'load') throw new Error(`an external client container runs kth load …, not kth ${command}`);
  const name = `kth-client-${process.pid.toString(36)}-${(sequence++).toString(36)}`;
  const labels = Object.entries(options.labels).flatMap(([key, value]) => ['--label', `${key}=${value}`]);
  const child = spawn('docker', ['run', '--rm', '--name', name, '--network', options.network, ...labels, '--stop-timeout', '30', options.image, 'relay', '--', ...rest], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const emitter = new EventEmitter();
  let dockerErrors = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (dockerErrors += text));
  const decoded = decodeRelayFrames(child.stdout, { stdout, stderr, eventsFile: eventsPath(options.argv) });
  child.once('close', (code) => {
    void decoded.then((exit) => {
      if (exit === undefined) stderr.write(`the client container ${name} ended without reporting its exit (docker exit ${code})${dockerErrors ? `: ${dockerErrors.trim()}` : ''}\n`);
      stdout.end();
      stderr.end();
      emitter.emit('close', exit === undefined ? code || 1 : (exit ?? 1));
    });
  });
  return {
    stdout,
    stderr,
    kill() {
      void run(['docker', 'stop', '--time', '30', name], { nothrow: true, timeoutMs: 60_000 });
      return true;
    },
    once(event, listener) {
      emitter.once(event, listener);
      return this;
    },
  };
}
