import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../../../harness/core/exec.ts';
import { removeHostPlaceholders } from '../../../../../harness/lab/agent/host-placeholders.ts';
import { knownLabs } from '../../../../../harness/lab/lab.ts';

/**
 * A throwaway lab "node" for integration tests: a network namespace `kth-test-<id>-n1` with
 * eth0 = 198.18.0.11/24 (a veth whose other end sits in `kth-test-<id>-sw`), ip_forward on and,
 * like a real lab node, no default route. Everything the tests create carries the lab name
 * `test-<id>` (namespaces `kth-test-<id>-…`, processes KTH_LAB=test-<id>), so `destroy` — and
 * `kth cleanup`, should a test run be killed — finds and removes all of it.
 */
export interface TestNode {
  id: string;
  labName: string;
  nodeNetns: string;
  switchNetns: string;
  nodeIp: string;
  podCidr: string;
  podNetnsPrefix: string;
  stateDir: string;
  destroy(): Promise<void>;
}

export async function createTestNode(options: { podCidr?: string; nodeIp?: string } = {}): Promise<TestNode> {
  const id = randomBytes(3).toString('hex');
  const labName = `test-${id}`;
  const nodeNetns = `kth-${labName}-n1`;
  const switchNetns = `kth-${labName}-sw`;
  const nodeIp = options.nodeIp ?? '198.18.0.11';
  const stateDir = mkdtempSync(join(tmpdir(), `kth-agent-${id}-`));
  const node: TestNode = {
    id,
    labName,
    nodeNetns,
    switchNetns,
    nodeIp,
    podCidr: options.podCidr ?? '198.18.129.0/24',
    podNetnsPrefix: `kth-${labName}-p-`,
    stateDir,
    destroy: () => destroyTestLab(labName, stateDir),
  };
  try {
    await run(['ip', 'netns', 'add', switchNetns]);
    await run(['ip', 'netns', 'add', nodeNetns]);
    await run(['ip', '-n', switchNetns, 'link', 'add', 'v-n1', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', nodeNetns]);
    await run(['ip', '-n', switchNetns, 'link', 'set', 'v-n1', 'up']);
    await run(['ip', '-n', nodeNetns, '-batch', '-'], { input: `link set lo up\nlink set eth0 up\naddr add ${nodeIp}/24 dev eth0\n` });
    await run(['ip', 'netns', 'exec', nodeNetns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  } catch (error) {
    await node.destroy();
    throw error;
  }
  return node;
}

/**
 * Kills every process marked KTH_LAB=<lab> (by pid), deletes every `kth-<lab>-…` namespace, and
 * the host placeholders (host-placeholders.ts) once no lab at all is left.
 */
export async function destroyTestLab(labName: string, stateDir?: string): Promise<void> {
  const pids = labProcesses(labName);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  const list = await run(['ip', '-j', 'netns', 'list'], { nothrow: true });
  const names = list.stdout.trim() ? (JSON.parse(list.stdout) as { name: string }[]).map((n) => n.name) : [];
  for (const name of names.filter((n) => n.startsWith(`kth-${labName}-`))) await run(['ip', 'netns', 'del', name], { nothrow: true });
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  // Mount targets the agent made on the host go with the last lab, as `kth lab down` does it.
  if ((await knownLabs()).length === 0) await removeHostPlaceholders();
}

/** Pids whose environment carries KTH_LAB=<lab>. */
export function labProcesses(labName: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(`KTH_LAB=${labName}`)) found.push(Number(entry));
    } catch {
      // gone or not ours to read
    }
  }
  return found;
}

export async function netnsList(): Promise<string[]> {
  const list = await run(['ip', '-j', 'netns', 'list'], { nothrow: true });
  return list.stdout.trim() ? (JSON.parse(list.stdout) as { name: string }[]).map((n) => n.name) : [];
}

/** Whether a pid is alive (not a zombie). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

/** Polls `check` every 50 ms until it is truthy or `timeoutMs` passes (then throws with `what`). */
export async function eventually<T>(what: string, check: () => T | Promise<T>, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/** A free-standing temp dir for a test. */
export const tempDir = (prefix: string): string => mkdtempSync(join(tmpdir(), prefix));
