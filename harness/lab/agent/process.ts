import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, mkdirSync, openSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parseMountinfo } from './host-mount-ns.ts';

/**
 * A container's main process: started with `ip netns exec <pod netns> <program> …` (ip execs the
 * program, so the pid we get is the program's), in a session of its own (so signals aimed at the
 * agent never reach pods, and the whole container can be killed as one process group), with
 * stdout and stderr appended to the container's log file. The agent only ever signals pids it
 * started (or adopted from its own state after a restart, checked against the process start time).
 *
 * The host's / is every container's /, so what a runtime gets from the container's own rootfs —
 * a termination-message file at terminationMessagePath, the volumes at their mountPaths — comes
 * from a mount namespace instead: `ip netns exec` already gives each process a private one (a
 * slave of the host's, so nothing mounted in it reaches the host), and a small shell bind-mounts
 * the instance's own files and directories on the paths there, then execs the program (same pid).
 * hostNetwork pods without a node namespace get the mount namespace from
 * `unshare --mount --propagation slave`. Cost: about 2 ms per start (one sh, a mount each).
 *
 * Each container also gets a UTS namespace whose hostname is the pod's (`unshare --uts`, then the
 * same shell writes /proc/sys/kernel/hostname), as a runtime gives every pod sandbox: programs
 * that answer with their hostname (agnhost's netexec and serve-hostname, which Kubernetes' own
 * network tests compare with pod names) then name their pod, not the host.
 */
export interface ExitInfo {
  exitCode: number | null;
  /** Signal number when killed by one (the exit code is then 128 + signal). */
  signal: number | null;
  finishedAt: Date;
  /** False for an adopted process: its exit status cannot be known, only that it is gone. */
  observed: boolean;
}

export interface ContainerProcess {
  readonly pid: number;
  readonly startedAt: Date;
  /** /proc/<pid>/stat start time, to tell this process from a later one with the same pid. */
  readonly procStart: string;
  readonly exited: Promise<ExitInfo>;
  hasExited(): boolean;
  /** Sends a signal to the main process only (as a container runtime's StopContainer does). */
  signal(signal: NodeJS.Signals): void;
  /** SIGKILL to the whole process group: the container and everything it started. */
  killAll(): void;
  /** Stop observing (the agent is shutting down; the process keeps running). */
  detach(): void;
}

export class StartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartError';
  }
}

export interface SpawnSpec {
  /** The pod's network namespace; undefined runs in the agent's own (hostNetwork pods). */
  podNetns: string | undefined;
  argv: readonly string[];
  env: Readonly<Record<string, string>>;
  cwd: string;
  logPath: string;
  /** Bind mounts in the container's mount namespace, in order (the termination message file, volumes). */
  mounts?: readonly BindMount[];
  /** The hostname the container sees (a UTS namespace of its own); undefined keeps the agent's. */
  hostname?: string;
}

/** A host file or directory bind-mounted on `target` in a container's mount namespace. */
export interface BindMount {
  source: string;
  target: string;
  readOnly?: boolean;
}

/** Host tools, looked up on the host's PATH (not the container's, which may be anything). */
const HOST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const hostTools = new Map<string, string | undefined>();
function hostTool(name: string): string {
  if (!hostTools.has(name)) hostTools.set(name, resolveExecutable(name, HOST_PATH, '/'));
  const found = hostTools.get(name);
  if (!found) throw new StartError(`the lab needs ${name} on the host to start containers`);
  return found;
}

/**
 * The shell between namespace entry and the program. Its arguments are triples (`bind` or
 * `bind,ro`, host path, mount target) up to a `--`, then the program and its arguments: a mode is
 * never `--`, so the program's own arguments are never taken for a mount. Shells export PWD (and
 * bash SHLVL) on their own: they are unset again unless the container's environment has them, so
 * the program gets exactly its env.
 */
export function mountWrapperScript(env: Readonly<Record<string, string>>, hostname?: string): string {
  const added = ['PWD', 'OLDPWD', 'SHLVL'].filter((name) => !(name in env));
  return [
    ...(hostname !== undefined ? [`printf %s ${shellWord(hostname)} > /proc/sys/kernel/hostname || { echo "kth-lab: cannot set the hostname" >&2; exit 128; }`] : []),
    ...(added.length ? [`unset ${added.join(' ')}`] : []),
    'while [ "$1" != -- ]; do "$0" -o "$1" "$2" "$3" || { echo "kth-lab: cannot mount $2 on $3" >&2; exit 128; }; shift 3; done',
    'shift',
    'exec "$@"',
  ].join('; ');
}

const shellWord = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

/** The command line that starts a container: namespace entry, the hostname and mounts, the program. */
export function containerArgv(
  spec: Pick<SpawnSpec, 'podNetns' | 'env' | 'mounts' | 'hostname'>,
  executable: string,
  args: readonly string[],
  tool: (name: 'sh' | 'mount' | 'unshare') => string,
): string[] {
  const mounts = spec.mounts ?? [];
  const uts = spec.hostname !== undefined;
  const enter = spec.podNetns ? ['ip', 'netns', 'exec', spec.podNetns] : [];
  if (mounts.length === 0 && !uts) return [...enter, executable, ...args];
  // `ip netns exec` already makes a mount namespace; without it, unshare makes one when mounts need it.
  const namespaces = spec.podNetns
    ? [...enter, ...(uts ? [tool('unshare'), '--uts'] : [])]
    : [tool('unshare'), ...(mounts.length > 0 ? ['--mount', '--propagation', 'slave'] : []), ...(uts ? ['--uts'] : [])];
  const triples = mounts.flatMap((mount) => [mount.readOnly ? 'bind,ro' : 'bind', mount.source, mount.target]);
  // $0 of the script is mount itself, so the wrapper runs nothing found on the container's PATH.
  return [...namespaces, tool('sh'), '-c', mountWrapperScript(spec.env, spec.hostname), tool('mount'), ...triples, '--', executable, ...args];
}

/** Finds a program the way execvp does, with the container's PATH. */
export function resolveExecutable(program: string, path: string | undefined, cwd: string): string | undefined {
  const executable = (candidate: string) => {
    try {
      accessSync(candidate, constants.X_OK);
      return statSync(candidate).isFile();
    } catch {
      return false;
    }
  };
  if (program.includes('/')) {
    const full = isAbsolute(program) ? program : resolve(cwd, program);
    return executable(full) ? full : undefined;
  }
  for (const dir of (path ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (!dir) continue;
    const candidate = join(dir, program);
    if (executable(candidate)) return candidate;
  }
  return undefined;
}

export function procStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined; // exited, not yet reaped
    return fields[19];
  } catch {
    return undefined;
  }
}

const signalNumber = (signal: NodeJS.Signals | null): number | null => (signal ? (osConstants.signals[signal] ?? null) : null);

function sendSignal(target: number, signal: NodeJS.Signals): void {
  try {
    process.kill(target, signal);
  } catch {
    // already gone
  }
}

export function spawnContainer(spec: SpawnSpec): ContainerProcess {
  const [program, ...args] = spec.argv;
  if (!program) throw new StartError('no command to run');
  const executable = resolveExecutable(program, spec.env.PATH, spec.cwd);
  if (!executable) throw new StartError(`exec: "${program}": executable file not found in $PATH`);
  try {
    if (!statSync(spec.cwd).isDirectory()) throw new Error('not a directory');
  } catch {
    throw new StartError(`working directory ${spec.cwd} does not exist`);
  }
  const argv = containerArgv(spec, executable, args, hostTool);
  mkdirSync(dirname(spec.logPath), { recursive: true });
  const log = openSync(spec.logPath, 'a');
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(argv[0] as string, argv.slice(1), {
      detached: true,
      stdio: ['ignore', log, log],
      env: { ...spec.env },
      cwd: spec.cwd,
    });
  } finally {
    closeSync(log);
  }
  const pid = child.pid;
  if (pid === undefined) throw new StartError(`could not start ${program}`);
  const startedAt = new Date();
  const procStart = procStartTime(pid) ?? '';
  let done = false;
  const exited = new Promise<ExitInfo>((resolveExit) => {
    child.once('exit', (code, signal) => {
      done = true;
      // The container is gone when its main process is: take whatever it left behind with it.
      sendSignal(-pid, 'SIGKILL');
      resolveExit({ exitCode: code, signal: signalNumber(signal), finishedAt: new Date(), observed: true });
    });
    child.once('error', () => {
      if (done) return;
      done = true;
      resolveExit({ exitCode: 128, signal: null, finishedAt: new Date(), observed: true });
    });
  });
  // Pods outlive the agent (a restarted agent adopts them), so they must not keep it alive.
  child.unref();
  return {
    pid,
    startedAt,
    procStart,
    exited,
    hasExited: () => done,
    signal: (signal) => {
      if (!done) sendSignal(pid, signal);
    },
    killAll: () => {
      if (!done) sendSignal(-pid, 'SIGKILL');
    },
    detach: () => {},
  };
}

/**
 * Takes over a process an earlier agent started (same pid and start time). Its exit status is
 * not ours to read (we are not its parent), so its end is noticed by checking /proc once a second.
 */
export function adoptContainer(pid: number, procStart: string, startedAt: Date, pollMs = 1000): ContainerProcess | undefined {
  if (procStartTime(pid) !== procStart) return undefined;
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  let resolveExit!: (info: ExitInfo) => void;
  const exited = new Promise<ExitInfo>((r) => {
    resolveExit = r;
  });
  const check = () => {
    if (procStartTime(pid) === procStart) {
      timer = setTimeout(check, pollMs);
      timer.unref();
      return;
    }
    done = true;
    sendSignal(-pid, 'SIGKILL');
    resolveExit({ exitCode: null, signal: null, finishedAt: new Date(), observed: false });
  };
  timer = setTimeout(check, pollMs);
  timer.unref();
  const alive = () => !done && procStartTime(pid) === procStart;
  return {
    pid,
    startedAt,
    procStart,
    exited,
    hasExited: () => done,
    signal: (signal) => {
      if (alive()) sendSignal(pid, signal);
    },
    killAll: () => {
      if (alive()) sendSignal(-pid, 'SIGKILL');
    },
    detach: () => {
      if (timer) clearTimeout(timer);
    },
  };
}

/**
 * Waits until `target` — the container's last mount, made after the others — is mounted in its
 * namespace (a few ms after the start). Exec hooks join that namespace by pid: one run earlier (a
 * postStart right away) would join it before the mounts — or `ip`'s namespace before it even made
 * its own — and write the host's placeholder. False when the process ended first or it took
 * longer than `timeoutMs`.
 */
export async function waitForMounts(container: ContainerProcess, target: string, timeoutMs = 2000): Promise<boolean> {
  let mountPoint = target;
  try {
    mountPoint = realpathSync(target); // mountinfo shows the path with symlinks resolved
  } catch {
    // gone meanwhile: compare as given
  }
  const mountsOn = (pid: number | 'self') => parseMountinfo(readFileSync(`/proc/${pid}/mountinfo`, 'utf8')).filter((m) => m.mountPoint === mountPoint).length;
  // The path may be a mount point already (the container's namespace starts as a copy of ours).
  const before = mountsOn('self');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (container.hasExited()) return false;
    try {
      if (mountsOn(container.pid) > before) return true;
    } catch {
      return false;
    }
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 2));
  }
}
