import { run, type RunOptions, type RunResult } from '../core/exec.ts';

/** Thin, batched wrappers over iproute2 for the lab's namespaces. */

/** Runs a command on the kernel the lab's nodes live on: `run` on the host, or in the lab's guest. */
export type Runner = (argv: readonly string[], options?: RunOptions) => Promise<RunResult>;

/** Runs many `ip` commands in one process (`ip -batch`), inside `netns` when given. */
export async function ipBatch(netns: string | null, lines: readonly string[], purpose: string, runner: Runner = run): Promise<void> {
  if (lines.length === 0) return;
  const argv = netns ? ['ip', '-n', netns, '-batch', '-'] : ['ip', '-batch', '-'];
  await runner(argv, { input: `${lines.join('\n')}\n`, purpose });
}

export async function addNetns(name: string, runner: Runner = run): Promise<void> {
  await runner(['ip', 'netns', 'add', name], { purpose: `create network namespace ${name}` });
  await ipBatch(name, ['link set lo up'], `bring up lo in ${name}`, runner);
}

export async function listNetns(runner: Runner = run): Promise<string[]> {
  const result = await runner(['ip', '-j', 'netns', 'list'], { nothrow: true });
  if (result.exitCode !== 0 || !result.stdout.trim()) return [];
  return (JSON.parse(result.stdout) as { name: string }[]).map((entry) => entry.name);
}

export async function deleteNetns(name: string): Promise<void> {
  await run(['ip', 'netns', 'delete', name], { nothrow: true });
}

/** Sets sysctls inside a namespace (net.* sysctls are per namespace). */
export async function sysctls(netns: string, values: Record<string, string | number>, runner: Runner = run): Promise<void> {
  const args = Object.entries(values).map(([key, value]) => `${key}=${value}`);
  await runner(['ip', 'netns', 'exec', netns, 'sysctl', '-q', '-w', ...args], { purpose: `set sysctls in ${netns}` });
}

/** Runs a command inside a namespace and returns its output. */
export async function execIn(netns: string, argv: readonly string[], options: { nothrow?: boolean; timeoutMs?: number } = {}) {
  return run(['ip', 'netns', 'exec', netns, ...argv], { purpose: `run ${argv[0]} in ${netns}`, ...options });
}

export interface HostLinkInfo {
  ifname: string;
  alias?: string;
  addr_info?: { local: string; prefixlen: number }[];
}

/** Host interfaces (in the host's own namespace) with their aliases and addresses. */
export async function hostLinks(): Promise<HostLinkInfo[]> {
  // `ip -j address` omits the alias (ifalias) that `ip -j link` reports: read both and join by name.
  const [links, addresses] = await Promise.all([
    run(['ip', '-j', 'link', 'show'], { nothrow: true }),
    run(['ip', '-j', 'address', 'show'], { nothrow: true }),
  ]);
  if (links.exitCode !== 0) return [];
  const addrByName = new Map<string, HostLinkInfo['addr_info']>(
    addresses.exitCode === 0 ? (JSON.parse(addresses.stdout) as HostLinkInfo[]).map((a) => [a.ifname, a.addr_info]) : [],
  );
  return (JSON.parse(links.stdout) as { ifname: string; ifalias?: string }[]).map((link) => ({
    ifname: link.ifname,
    ...(link.ifalias ? { alias: link.ifalias } : {}),
    addr_info: addrByName.get(link.ifname) ?? [],
  }));
}
