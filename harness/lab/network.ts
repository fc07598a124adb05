import { guestLink, hostLink, labNetwork, nodeIp } from './addressing.ts';
import { labNames } from './names.ts';
import { addNetns, deleteNetns, hostLinks, ipBatch, listNetns, type Runner, sysctls } from './netns.ts';
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
 *
 * In a guest-kernel lab everything right of cp lives in the guest, and cp reaches the bridge
 * through a tap whose other end is the guest's NIC on that bridge.
 */
export interface LabNetworkSpec {
  lab: string;
  nodes: number;
  /** Which host link subnet this lab uses (see hostLink). */
  slot: number;
}

/** The whole lab network on the host's kernel. */
export async function createLabNetwork({ lab, nodes, slot }: LabNetworkSpec): Promise<void> {
  const names = labNames(lab);
  await addNetns(names.netns('cp'));
  await createNodeNetwork(lab, nodes, run, async (sw) => {
    await ipBatch(sw, [`link add v-cp type veth peer name eth0 netns ${names.netns('cp')}`, 'link set v-cp master br0', 'link set v-cp up'], 'attach the control plane to the lab bridge');
    await ipBatch(names.netns('cp'), [`addr add ${labNetwork.controlPlaneIp}/${labNetwork.nodePrefix} dev eth0`, 'link set eth0 up'], 'address the control plane');
  });
  await linkHostToControlPlane(lab, slot);
}

/**
 * The node side of the lab — switch, nodes, load balancer, external client — on whichever kernel
 * `runner` reaches (the host's, or a guest's). `attachControlPlane` puts the control plane on the
 * bridge: a veth on the host, the guest's lab NIC in a guest.
 */
export async function createNodeNetwork(lab: string, nodes: number, runner: Runner, attachControlPlane: (sw: string) => Promise<void>): Promise<void> {
  const names = labNames(lab);
  const sw = names.netns('sw');
  await addNetns(sw, runner);
  await ipBatch(sw, ['link add br0 type bridge', 'link set br0 up'], 'create the lab bridge', runner);
  await attachControlPlane(sw);

  const members: { netns: string; ip: string }[] = [
    { netns: names.netns('lb'), ip: labNetwork.loadBalancerIp },
    ...Array.from({ length: nodes }, (_, i) => ({ netns: names.nodeNetns(i + 1), ip: nodeIp(i + 1) })),
  ];
  for (const member of members) {
    await addNetns(member.netns, runner);
    const port = `v-${member.netns.split('-').at(-1)}`;
    await ipBatch(sw, [`link add ${port} type veth peer name eth0 netns ${member.netns}`, `link set ${port} master br0`, `link set ${port} up`], `attach ${member.netns} to the lab bridge`, runner);
    await ipBatch(member.netns, [`addr add ${member.ip}/${labNetwork.nodePrefix} dev eth0`, 'link set eth0 up'], `address ${member.netns}`, runner);
  }

  // Nodes and the load balancer forward; replies to the external client go back via the LB.
  for (const member of members) {
    await sysctls(member.netns, { 'net.ipv4.ip_forward': 1, 'net.ipv4.conf.all.rp_filter': 0, 'net.ipv4.conf.default.rp_filter': 0 }, runner);
  }
  // A node's own processes (hostNetwork pods) reach ClusterIPs as on a real node: a locally sent
  // packet is routed before kube-proxy's OUTPUT rules rewrite it, so it needs some route, which a
  // real node's default route gives it. Lab nodes have none; this route stands in for it (the
  // rewritten packet is routed again to its endpoint; one no rule matches dies on the lab bridge).
  // Found by Kubernetes' own "service endpoints using hostNetwork" test (kth lab e2e).
  for (let i = 1; i <= nodes; i += 1) {
    await ipBatch(
      names.nodeNetns(i),
      [`route add ${labNetwork.clientSubnet} via ${labNetwork.loadBalancerIp}`, `route add ${labNetwork.serviceCidr} dev eth0 src ${nodeIp(i)}`],
      'route nodes to the client subnet and the service range',
      runner,
    );
  }

  const lb = names.netns('lb');
  const client = names.netns('client');
  await addNetns(client, runner);
  await ipBatch(lb, [`link add cl0 type veth peer name eth0 netns ${client}`, `addr add ${labNetwork.clientGatewayIp}/24 dev cl0`, 'link set cl0 up'], 'link the external client', runner);
  await ipBatch(client, [`addr add ${labNetwork.clientIp}/24 dev eth0`, 'link set eth0 up', `route add ${labNetwork.labRange} via ${labNetwork.clientGatewayIp}`], 'address the external client', runner);
}

/** The host reaches only the API server, over a point-to-point link with link-local addresses. */
export async function linkHostToControlPlane(lab: string, slot: number): Promise<void> {
  const names = labNames(lab);
  const link = hostLink(slot);
  const cp = names.netns('cp');
  await ipBatch(null, [`link add ${names.hostLink} type veth peer name host0 netns ${cp}`, `link set ${names.hostLink} alias ${names.hostLinkAlias}`,
    `addr add ${link.hostIp}/${link.prefix} dev ${names.hostLink}`, `link set ${names.hostLink} up`], 'create the host link to the API server');
  await ipBatch(cp, [`addr add ${link.controlPlaneIp}/${link.prefix} dev host0`, 'link set host0 up'], 'address the API server end of the host link');
}

/**
 * The host side of a guest-kernel lab: the control-plane namespace with the guest's two taps
 * (made persistent here, so they carry their addresses before qemu opens them, and go with the
 * namespace): the lab NIC holds the API server's bridge address, the control NIC reaches the
 * guest daemon. The host routes only the guest's control /30 through the control plane.
 */
export async function createGuestHostSide(lab: string, slot: number, taps: { lab: string; control: string }): Promise<void> {
  const names = labNames(lab);
  const cp = names.netns('cp');
  const control = guestLink(slot);
  await addNetns(cp);
  await ipBatch(cp, [`tuntap add mode tap name ${taps.lab}`, `tuntap add mode tap name ${taps.control}`,
    `addr add ${labNetwork.controlPlaneIp}/${labNetwork.nodePrefix} dev ${taps.lab}`, `link set ${taps.lab} up`,
    `addr add ${control.cpIp}/${control.prefix} dev ${taps.control}`, `link set ${taps.control} up`], 'create the guest\'s taps in the control plane');
  await sysctls(cp, { 'net.ipv4.ip_forward': 1 });
  await linkHostToControlPlane(lab, slot);
  await ipBatch(null, [`route add ${control.subnet} via ${hostLink(slot).controlPlaneIp} dev ${names.hostLink}`], 'route the host to the guest daemon');
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
