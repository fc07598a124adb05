import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from '../../harness/core/exec.ts';
import { dockerServerVersion } from '../../harness/workloads/image/docker.ts';

/** A Docker engine for a test: the one already running, or one this helper started (and will stop). */
export interface DockerEngine extends AsyncDisposable {
  readonly serverVersion: string;
  /** Pid of the dockerd this helper started; undefined when an engine was already running. */
  readonly startedPid: number | undefined;
  stop(): Promise<void>;
}

/** Why no engine could be had, measured rather than guessed (exit code, log tail). */
export class DockerUnavailable extends Error {
  override readonly name = 'DockerUnavailable';
}

const startTimeoutMs = 60_000;

/**
 * Uses a running Docker engine, or starts `dockerd` (Debian's docker.io) for the test. The started
 * daemon runs without iptables and without the default bridge (containers use host networking), is
 * recorded by pid, and only that pid is stopped afterwards.
 */
export async function ensureDockerEngine(): Promise<DockerEngine> {
  const running = await dockerServerVersion();
  if (running) return { serverVersion: running, startedPid: undefined, stop: async () => {}, [Symbol.asyncDispose]: async () => {} };

  const dockerd = await run(['sh', '-c', 'command -v dockerd'], { nothrow: true });
  if (dockerd.exitCode !== 0) throw new DockerUnavailable('no Docker engine answers and dockerd is not installed (Debian: apt-get install -y docker.io)');

  const logDir = mkdtempSync(join(tmpdir(), 'kth-dockerd-'));
  const logPath = join(logDir, 'dockerd.log');
  const log = openSync(logPath, 'a');
  const child = spawn(dockerd.stdout.trim(), ['--iptables=false', '--ip6tables=false', '--bridge=none', `--pidfile=${join(logDir, 'dockerd.pid')}`], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const pid = child.pid;
  if (pid === undefined) throw new DockerUnavailable('could not spawn dockerd');
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    }),
  );
  child.unref();

  const logTail = () => (existsSync(logPath) ? readFileSync(logPath, 'utf8').trim().split('\n').slice(-15).join('\n') : '');
  const stop = async () => {
    if (!exited) {
      process.kill(pid, 'SIGTERM');
      const stopped = await Promise.race([exit.then(() => true), sleep(30_000, false, { ref: false })]);
      if (!stopped) {
        process.kill(pid, 'SIGKILL');
        await exit;
      }
    }
    rmSync(logDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + startTimeoutMs;
  while (Date.now() < deadline) {
    if (exited) {
      const tail = logTail();
      rmSync(logDir, { recursive: true, force: true });
      throw new DockerUnavailable(`dockerd exited (code ${exited.code}, signal ${exited.signal}) before answering:\n${tail}`);
    }
    const version = await dockerServerVersion();
    if (version) return { serverVersion: version, startedPid: pid, stop, [Symbol.asyncDispose]: stop };
    await sleep(250);
  }
  const tail = logTail();
  await stop();
  throw new DockerUnavailable(`dockerd (pid ${pid}) did not answer within ${startTimeoutMs / 1000}s:\n${tail}`);
}
