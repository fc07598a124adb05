import { writeFile } from 'node:fs/promises';
import { run } from '../../core/exec.ts';

/**
 * A pod's network: its own namespace, joined to the node by a veth pair and routed point to point
 * (the Calico way), with no bridge. Every packet a pod sends or receives is routed by the node's
 * kernel and so crosses the node's netfilter, where kube-proxy's rules act on it exactly as in a
 * real cluster (DNAT to endpoints, masquerade for hairpin and off-node traffic).
 *
 *   pod netns                              node netns
 *   eth0 podIP/32  ───── veth ─────  kp<uid8>  (no address, proxy_arp=1, mac ee:ee:ee:ee:ee:ee)
 *   169.254.1.1 dev eth0 (scope link)       podIP/32 dev kp<uid8> proto 75
 *   default via 169.254.1.1 dev eth0
 *   neigh 169.254.1.1 → ee:ee:ee:ee:ee:ee (permanent)
 *
 * The gateway's neighbour entry is static because the node has no default route: proxy ARP only
 * answers for targets the node can route, and 169.254.1.1 is not one of them. (Calico's hosts
 * have a default route; lab nodes must not.) Every host-side veth has the same MAC, as Calico's.
 */
export const POD_GATEWAY_IP = '169.254.1.1';
export const HOST_VETH_MAC = 'ee:ee:ee:ee:ee:ee';
/** Routing protocol number marking the agent's routes (`ip route show proto 75`). */
export const AGENT_ROUTE_PROTO = 75;

export interface NodeNetContext {
  /**
   * The node's namespace when the caller runs outside it (tests); undefined in the agent, which
   * already runs inside its node's namespace.
   */
  nodeNetns?: string;
  /** Prefix for `ip netns add|del` (see host-mount-ns.ts). */
  netnsCommandPrefix: readonly string[];
}

export interface PodNetworkSpec {
  podNetns: string;
  hostVeth: string;
  podIp: string;
  /** `kth-pod:<namespace>/<name>` on the host-side veth. */
  alias: string;
}

const nodeIp = (context: NodeNetContext): string[] => (context.nodeNetns ? ['ip', '-n', context.nodeNetns] : ['ip']);

async function ipBatch(prefix: readonly string[], lines: readonly string[], purpose: string): Promise<void> {
  await run([...prefix, '-batch', '-'], { input: `${lines.join('\n')}\n`, purpose, timeoutMs: 15_000 });
}

async function setNodeSysctl(context: NodeNetContext, key: string, value: string): Promise<void> {
  if (context.nodeNetns) {
    await run(['ip', 'netns', 'exec', context.nodeNetns, 'sysctl', '-q', '-w', `${key}=${value}`], { purpose: `set ${key}`, timeoutMs: 10_000 });
  } else {
    // /proc/sys/net belongs to the network namespace of whoever opens it: here, the node's.
    await writeFile(`/proc/sys/${key.replaceAll('.', '/')}`, value);
  }
}

/** Creates the pod's namespace and wiring; leftovers of an earlier attempt are removed first. */
export async function createPodNetwork(context: NodeNetContext, spec: PodNetworkSpec): Promise<void> {
  await deletePodNetwork(context, spec);
  await run([...context.netnsCommandPrefix, 'ip', 'netns', 'add', spec.podNetns], { purpose: `create pod network namespace ${spec.podNetns}`, timeoutMs: 10_000 });
  try {
    await ipBatch(
      nodeIp(context),
      [
        `link add ${spec.hostVeth} address ${HOST_VETH_MAC} type veth peer name eth0 netns ${spec.podNetns}`,
        `link set ${spec.hostVeth} alias ${spec.alias}`,
        `link set ${spec.hostVeth} up`,
        `route replace ${spec.podIp}/32 dev ${spec.hostVeth} scope link proto ${AGENT_ROUTE_PROTO}`,
      ],
      `wire ${spec.podNetns} to the node`,
    );
    await setNodeSysctl(context, `net.ipv4.conf.${spec.hostVeth}.proxy_arp`, '1');
    await ipBatch(
      ['ip', '-n', spec.podNetns],
      [
        'link set lo up',
        'link set eth0 up',
        `addr add ${spec.podIp}/32 dev eth0`,
        `route add ${POD_GATEWAY_IP} dev eth0 scope link`,
        `route add default via ${POD_GATEWAY_IP} dev eth0`,
        `neigh replace ${POD_GATEWAY_IP} lladdr ${HOST_VETH_MAC} dev eth0 nud permanent`,
      ],
      `configure ${spec.podNetns}`,
    );
  } catch (error) {
    await deletePodNetwork(context, spec).catch(() => {});
    throw error;
  }
}

/** Removes the veth (both ends, and the route with it) and the namespace; missing parts are fine. */
export async function deletePodNetwork(context: NodeNetContext, spec: Pick<PodNetworkSpec, 'podNetns' | 'hostVeth'>): Promise<void> {
  await run([...nodeIp(context), 'link', 'del', spec.hostVeth], { nothrow: true, timeoutMs: 10_000 });
  const netns = await listNetns();
  if (netns.includes(spec.podNetns)) {
    await run([...context.netnsCommandPrefix, 'ip', 'netns', 'del', spec.podNetns], { purpose: `delete pod network namespace ${spec.podNetns}`, timeoutMs: 10_000 });
  }
}

export async function listNetns(): Promise<string[]> {
  const result = await run(['ip', '-j', 'netns', 'list'], { nothrow: true, timeoutMs: 10_000 });
  if (result.exitCode !== 0 || !result.stdout.trim()) return [];
  return (JSON.parse(result.stdout) as { name: string }[]).map((entry) => entry.name);
}

/** Whether the pod's namespace and host veth both exist (an adopted pod's network is intact). */
export async function podNetworkExists(context: NodeNetContext, spec: Pick<PodNetworkSpec, 'podNetns' | 'hostVeth'>): Promise<boolean> {
  const link = await run([...nodeIp(context), 'link', 'show', spec.hostVeth], { nothrow: true, timeoutMs: 10_000 });
  return link.exitCode === 0 && (await listNetns()).includes(spec.podNetns);
}

/** Host-side pod veths in the node namespace (name and alias), for orphan cleanup. */
export async function listPodVeths(context: NodeNetContext): Promise<{ name: string; alias: string }[]> {
  const result = await run([...nodeIp(context), '-j', 'link', 'show', 'type', 'veth'], { nothrow: true, timeoutMs: 10_000 });
  if (result.exitCode !== 0 || !result.stdout.trim()) return [];
  return (JSON.parse(result.stdout) as { ifname: string; ifalias?: string }[])
    .filter((link) => /^kp[0-9a-f]{8}$/.test(link.ifname) && (link.ifalias ?? '').startsWith('kth-pod:'))
    .map((link) => ({ name: link.ifname, alias: link.ifalias ?? '' }));
}
