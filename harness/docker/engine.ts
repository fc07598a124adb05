import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { environmentError } from '../core/errors.ts';
import { run } from '../core/exec.ts';
import { stateRoot } from '../core/paths.ts';
import { isAlive, terminate } from '../lab/processes.ts';
import { dockerServerVersion } from '../workloads/image/docker.ts';
import { ManagedByLabel, managedByValue } from '../../manifests/names.ts';
import { hostBoundingSet } from './capabilities.ts';
import { installRuntimeWrapper, wrapperRuntimeName } from './runtime-wrapper.ts';
import { withFileLock } from './file-lock.ts';

/**
 * A Docker engine for the harness: the one already running, or Debian's dockerd started here.
 * A started engine is shared by every harness process that needs one (each registers its pid) and
 * stopped by the last to leave, unless containers the harness made (a --retain'ed kind cluster)
 * still exist. `kth cleanup` stops one whose users all died.
 */
export interface DockerEngine extends AsyncDisposable {
  readonly serverVersion: string;
  /** Pid of the dockerd the harness started; undefined when the engine is the user's own. */
  readonly startedPid: number | undefined;
  /** Leaves the engine (stops it when this was the last user of a harness-started one). */
  release(): Promise<void>;
}

/** One use of the engine: a process may hold several at once (a run, and the image build inside it). */
interface EngineUse {
  pid: number;
  id: string;
}

interface EngineState {
  pid: number;
  /** The uses of the harness processes using it. */
  users: EngineUse[];
  logFile: string;
}

const startTimeoutMs = 60_000;
const stateDir = () => join(stateRoot(), 'docker');
const statePath = () => join(stateDir(), 'dockerd.json');

/**
 * The flags of a harness-started dockerd. No iptables, NAT, forwarding or default bridge: the
 * harness makes its own networks, internal ones (no route out), guarded by its own rules. On a host
 * whose capability bounding set is short, privileged containers need the runtime wrapper.
 */
export function dockerdArgs(options: { pidFile: string; wrapper?: string }): string[] {
  return [
    '--iptables=false', '--ip6tables=false', '--ip-forward=false', '--ip-masq=false', '--bridge=none',
    `--pidfile=${options.pidFile}`,
    ...(options.wrapper ? [`--add-runtime=${wrapperRuntimeName}=${options.wrapper}`, `--default-runtime=${wrapperRuntimeName}`] : []),
  ];
}

export async function useDockerEngine(options: { purpose: string; log: (line: string) => void; privileged?: boolean }): Promise<DockerEngine> {
  await mkdir(stateDir(), { recursive: true });
  const use: EngineUse = { pid: process.pid, id: randomBytes(4).toString('hex') };
  const engine = await withFileLock(join(stateDir(), 'lock'), async () => {
    const state = await readState();
    const running = await dockerServerVersion();
    if (state && isAlive(state.pid) && running) {
      // The wrapper this version writes (a dockerd started by an older one reads the same path).
      const { missing } = hostBoundingSet();
      if (missing.length > 0) await installRuntimeWrapper(await runcPath(), missing);
      await writeState({ ...state, users: [...state.users.filter((u) => isAlive(u.pid)), use] });
      return { version: running, pid: state.pid };
    }
    if (running) {
      if (options.privileged) await requirePrivilegedWorks(running);
      return { version: running, pid: undefined };
    }
    return startDockerd(options, use);
  });
  let released = false;
  const release = async () => {
    if (released || engine.pid === undefined) return;
    released = true;
    await leaveEngine(use);
  };
  return { serverVersion: engine.version, startedPid: engine.pid, release, [Symbol.asyncDispose]: release };
}

/** Stops a harness-started dockerd whose users are all gone (a crashed run's); returns its pid then. */
export async function stopOrphanedEngine(): Promise<number | undefined> {
  if (!existsSync(statePath())) return undefined;
  return withFileLock(join(stateDir(), 'lock'), async () => {
    const state = await readState();
    if (!state) return undefined;
    if (state.users.some((u) => u.pid !== process.pid && isAlive(u.pid))) return undefined;
    return (await stopIfUnused(state)) ? state.pid : undefined;
  });
}

async function leaveEngine(use: EngineUse): Promise<void> {
  await withFileLock(join(stateDir(), 'lock'), async () => {
    const state = await readState();
    if (!state) return;
    const users = state.users.filter((u) => u.id !== use.id && isAlive(u.pid));
    if (users.length > 0) return writeState({ ...state, users });
    if (!(await stopIfUnused(state))) await writeState({ ...state, users });
  });
}

/** Labels of containers that keep a harness-started engine running: the harness's own, and kind nodes (a kept cluster). */
const keepingLabels = [`${ManagedByLabel}=${managedByValue}`, 'io.x-k8s.kind.cluster'];

/** Stops the engine unless containers the harness made, or any kind cluster's nodes, still exist there. */
async function stopIfUnused(state: EngineState): Promise<boolean> {
  if (isAlive(state.pid)) {
    for (const label of keepingLabels) {
      const kept = await run(['docker', 'ps', '--all', '--quiet', '--filter', `label=${label}`], { nothrow: true, timeoutMs: 30_000 });
      if (kept.exitCode === 0 && kept.stdout.trim() !== '') return false;
    }
    await terminate([state.pid], 30_000);
  }
  await rm(statePath(), { force: true });
  return true;
}

async function startDockerd(options: { purpose: string; log: (line: string) => void }, use: EngineUse): Promise<{ version: string; pid: number }> {
  const dockerd = await run(['sh', '-c', 'command -v dockerd'], { nothrow: true });
  if (dockerd.exitCode !== 0) {
    throw environmentError(`${options.purpose} needs a Docker engine; none answers and dockerd is not installed`, {
      where: 'docker',
      hint: 'install it (Debian: apt-get install -y docker.io jq); the harness starts dockerd itself when none runs',
    });
  }
  const { missing } = hostBoundingSet();
  const wrapper = missing.length > 0 ? await installRuntimeWrapper(await runcPath(), missing) : undefined;
  const logFile = join(stateDir(), 'dockerd.log');
  const log = openSync(logFile, 'a');
  const child = spawn(dockerd.stdout.trim(), dockerdArgs({ pidFile: join(stateDir(), 'dockerd.pid'), ...(wrapper ? { wrapper } : {}) }), { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  const pid = child.pid;
  if (pid === undefined) throw environmentError('could not start dockerd', { where: 'docker' });
  child.unref();
  options.log(`started dockerd (pid ${pid}${wrapper ? `, runtime ${wrapperRuntimeName} dropping ${missing.join(', ')}` : ''}); log ${logFile}`);
  const deadline = Date.now() + startTimeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) break;
    const version = await dockerServerVersion();
    if (version) {
      await writeState({ pid, users: [use], logFile });
      return { version, pid };
    }
    await sleep(250);
  }
  await terminate([pid], 10_000);
  throw environmentError(`dockerd (pid ${pid}) did not answer within ${startTimeoutMs / 1000} s`, { where: logFile, hint: `its log says why:\n${tailOf(logFile)}` });
}

/**
 * On a host whose bounding set lacks capabilities, a Docker engine before 23.0 cannot start
 * privileged containers unless its runtime drops them: found before a cluster is half made.
 */
async function requirePrivilegedWorks(version: string): Promise<void> {
  const { missing } = hostBoundingSet();
  const major = Number(version.split('.')[0]);
  if (missing.length === 0 || major >= 23) return;
  const info = await run(['docker', 'info', '--format', '{{.DefaultRuntime}}'], { nothrow: true, timeoutMs: 30_000 });
  if (info.stdout.trim() === wrapperRuntimeName) return;
  throw environmentError(`the running Docker engine ${version} cannot start privileged containers on this host: its capability bounding set lacks ${missing.join(', ')} (moby#42906, fixed in Docker 23)`, {
    where: 'docker',
    hint: `stop that engine and the harness starts its own with a runtime that drops them, or upgrade Docker to 23 or later`,
  });
}

async function runcPath(): Promise<string> {
  return (await run(['sh', '-c', 'command -v runc'], { nothrow: true })).stdout.trim() || '/usr/sbin/runc';
}

async function readState(): Promise<EngineState | undefined> {
  try {
    return JSON.parse(await readFile(statePath(), 'utf8')) as EngineState;
  } catch {
    return undefined;
  }
}

async function writeState(state: EngineState): Promise<void> {
  await writeFile(statePath(), `${JSON.stringify(state)}\n`);
}

function tailOf(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}
