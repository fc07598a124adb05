import { hostLink, labNetwork, nodeIp } from './addressing.ts';
import { labNames } from './names.ts';
import { addNetns, deleteNetns, hostLinks, ipBatch, listNetns, sysctls } from './netns.ts';
import { run } from '../core/exec.ts';

/**
 * The lab's wiring. One bridge in its own namespace plays the node network; the control plane,
 * every node, and the lab load balancer hang off it. The external client sits on a subnet of its
 * own behind the load balancer namespace, so replies to external traffic return through it (as
 * they return through a cloud LB or gateway). Nobody has a default route, so nothing leaves.
 *
 *   host ──p2p 169.254.x/30──▶ cp (API server 198.18.0.2)
 *                               │
 *   client 198.18.48.2 ── lb 198.18.0.3 ── [ bridge in sw ] ── n1 198.18.0.11, n2 …
 */
export interface LabNetworkSpec {
  lab: string;
  nodes: number;
  /** Which host link subnet this lab uses (see hostLink). */
  slot: number;
}

export async function createLabNetwork({ lab, nodes, slot }: LabNetworkSpec): Promise<void> {
  const names = labNames(lab);
  const sw = names.netns('sw');
  await addNetns(sw);
  await ipBatch(sw, ['link add br0 type bridge', 'link set br0 up'], 'create the lab bridge');

  const members: { netns: string; ip: string }[] = [
    { netns: names.netns('cp'), ip: labNetwork.controlPlaneIp },
    { netns: names.netns('lb'), ip: labNetwork.loadBalancerIp },
    ...Array.from({ length: nodes }, (_, i) => ({ netns: names.nodeNetns(i + 1), ip: nodeIp(i + 1) })),
  ];
  for (const member of members) {
    await addNetns(member.netns);
    const port = `v-${member.netns.split('-').at(-1)}`;
    await ipBatch(sw, [`link add ${port} type veth peer name eth0 netns ${member.netns}`, `link set ${port} master br0`, `link set ${port} up`], `attach ${member.netns} to the lab bridge`);
    await ipBatch(member.netns, [`addr add ${member.ip}/${labNetwork.nodePrefix} dev eth0`, 'link set eth0 up'], `address ${member.netns}`);
  }

  // Nodes and the load balancer forward; replies to the external client go back via the LB.
  for (const member of members.slice(1)) {
    await sysctls(member.netns, { 'net.ipv4.ip_forward': 1, 'net.ipv4.conf.all.rp_filter': 0, 'net.ipv4.conf.default.rp_filter': 0 });
  }
  for (let i = 1; i <= nodes; i += 1) {
    await ipBatch(names.nodeNetns(i), [`route add ${labNetwork.clientSubnet} via ${labNetwork.loadBalancerIp}`], 'route nodes to the client subnet');
  }

  const lb = names.netns('lb');
  const client = names.netns('client');
  await addNetns(client);
  await ipBatch(lb, [`link add cl0 type veth peer name eth0 netns ${client}`, `addr add ${labNetwork.clientGatewayIp}/24 dev cl0`, 'link set cl0 up'], 'link the external client');
  await ipBatch(client, [`addr add ${labNetwork.clientIp}/24 dev eth0`, 'link set eth0 up', `route add ${labNetwork.labRange} via ${labNetwork.clientGatewayIp}`], 'address the external client');

  // The host reaches only the API server, over a point-to-point link with link-local addresses.
  const link = hostLink(slot);
  const cp = names.netns('cp');
  await ipBatch(null, [`link add ${names.hostLink} type veth peer name host0 netns ${cp}`, `link set ${names.hostLink} alias ${names.hostLinkAlias}`,
    `addr add ${link.hostIp}/${link.prefix} dev ${names.hostLink}`, `link set ${names.hostLink} up`], 'create the host link to the API server');
  await ipBatch(cp, [`addr add ${link.controlPlaneIp}/${link.prefix} dev host0`, 'link set host0 up'], 'address the API server end of the host link');
}

/** Removes every namespace whose name starts with the lab's prefix, and its host link. */
export async function destroyLabNetwork(lab: string): Promise<{ netns: string[]; links: string[] }> {
  const names = labNames(lab);
  const netns = (await listNetns()).filter((name) => name.startsWith(names.netnsPrefix));
  // Pods first, then nodes, then the switch: deleting a namespace drops its end of every veth.
  netns.sort((a, b) => rank(a) - rank(b));
  for (const name of netns) await deleteNetns(name);
  const links = (await hostLinks()).filter((l) => l.alias === names.hostLinkAlias || l.ifname === names.hostLink).map((l) => l.ifname);
  for (const ifname of links) await run(['ip', 'link', 'delete', ifname], { nothrow: true });
  return { netns, links };
}

function rank(netns: string): number {
  if (netns.includes('-p-')) return 0;
  if (netns.endsWith('-sw')) return 2;
  return 1;
}

/** The slot (host link subnet) of every lab whose host link exists, to pick a free one. */
export async function usedSlots(): Promise<Set<number>> {
  const used = new Set<number>();
  for (const link of await hostLinks()) {
    for (const addr of link.addr_info ?? []) {
      const match = /^169\.254\.(\d+)\.1$/.exec(addr.local);
      if (match && link.alias?.startsWith('kth-lab:')) used.add(Number(match[1]) - 100);
    }
  }
  return used;
}
