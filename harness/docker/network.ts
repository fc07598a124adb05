import { run } from '../core/exec.ts';
import { ManagedByLabel, managedByValue } from '../../manifests/names.ts';

/**
 * The harness's Docker networks, in 198.19.0.0/16 (RFC 2544's benchmarking range, never routed on
 * the internet): `kth-kind` for kind's nodes, and `kth-outside` for clients outside the clusters
 * (their gateway is the kind load balancer's namespace, see kind/load-balancer.ts). Their bridges
 * have fixed names so one host nftables table forbids any forwarding in or out: Docker still gives containers a default route via the host, and the host
 * forwards. Traffic on a bridge (bridged, never routed by the host) and between the host and the
 * nodes is all the harness needs.
 */
export interface HarnessNetwork {
  name: string;
  bridge: string;
  subnet: string;
  gateway: string;
  /** Where Docker hands out addresses; the rest of the subnet is the harness's own. */
  ipRange: string;
  /**
   * Docker's `--internal`. The nodes' network cannot be: kind publishes the API server's port
   * (127.0.0.1:<port> on the host), which Docker refuses on internal networks. The guard, not
   * this flag, is what keeps traffic in (a dockerd run by the harness has no iptables rules at all).
   */
  internal: boolean;
}

export const harnessNetwork: HarnessNetwork = { name: 'kth-kind', bridge: 'kth-kind0', subnet: '198.19.0.0/24', gateway: '198.19.0.1', ipRange: '198.19.0.0/25', internal: false };
export const outsideNetwork: HarnessNetwork = { name: 'kth-outside', bridge: 'kth-out0', subnet: '198.19.1.0/24', gateway: '198.19.1.1', ipRange: '198.19.1.0/25', internal: true };

const guardTable = 'kth_docker_guard';

/** The nftables table that keeps each network's traffic on its bridge (no route out, none in). */
export function guardRuleset(bridges: readonly string[]): string {
  const rules = bridges.flatMap((bridge) => [`    iifname "${bridge}" oifname != "${bridge}" drop`, `    oifname "${bridge}" iifname != "${bridge}" drop`]);
  return `table inet ${guardTable} {
  chain forward {
    type filter hook forward priority -10; policy accept;
${rules.join('\n')}
  }
}
`;
}

export async function ensureDockerNetwork(network: HarnessNetwork): Promise<void> {
  // The guard goes in first (replaced whole), so no container on a network ever has a moment with a way out.
  await run(['nft', '-f', '-'], { input: `table inet ${guardTable}\ndelete table inet ${guardTable}\n${guardRuleset([harnessNetwork.bridge, outsideNetwork.bridge])}`, purpose: 'install the Docker network guard (nftables)' });
  const exists = await run(['docker', 'network', 'inspect', '--format', '{{.Internal}}', network.name], { nothrow: true, timeoutMs: 30_000 });
  if (exists.exitCode === 0) return;
  await run(
    [
      'docker', 'network', 'create', '--driver', 'bridge', ...(network.internal ? ['--internal'] : []),
      '--subnet', network.subnet, '--gateway', network.gateway, '--ip-range', network.ipRange,
      '--opt', `com.docker.network.bridge.name=${network.bridge}`,
      '--label', `${ManagedByLabel}=${managedByValue}`,
      network.name,
    ],
    { purpose: `create the Docker network ${network.name}`, timeoutMs: 60_000 },
  );
}

export const ensureHarnessNetwork = (): Promise<void> => ensureDockerNetwork(harnessNetwork);

/** Removes a network once no container is attached to it; the guard goes with the last one. */
export async function removeDockerNetworkIfUnused(network: HarnessNetwork): Promise<boolean> {
  const attached = await run(['docker', 'network', 'inspect', '--format', '{{len .Containers}}', network.name], { nothrow: true, timeoutMs: 30_000 });
  if (attached.exitCode === 0) {
    if (attached.stdout.trim() !== '0') return false;
    await run(['docker', 'network', 'rm', network.name], { nothrow: true, timeoutMs: 60_000 });
  }
  const left = await Promise.all([harnessNetwork, outsideNetwork].map((n) => run(['docker', 'network', 'inspect', n.name], { nothrow: true, timeoutMs: 30_000 })));
  if (left.every((result) => result.exitCode !== 0)) await run(['nft', 'delete', 'table', 'inet', guardTable], { nothrow: true });
  return true;
}

export const removeHarnessNetworkIfUnused = (): Promise<boolean> => removeDockerNetworkIfUnused(harnessNetwork);
