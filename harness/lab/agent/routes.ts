import type { V1Node } from '@kubernetes/client-node';
import { run } from '../../core/exec.ts';
import { AGENT_ROUTE_PROTO, type NodeNetContext } from './pod-network.ts';

/**
 * Routes to the other nodes' pod CIDRs over the lab bridge — what a CNI's "host-gw" mode does:
 * `<podCIDR> via <that node's InternalIP> dev eth0`, kept in step with the Node objects. Routes
 * carry protocol 75 so the agent recognises its own after a restart and removes stale ones.
 */
export function desiredPodRoutes(nodes: readonly V1Node[], selfName: string): Map<string, string> {
  const routes = new Map<string, string>();
  for (const node of nodes) {
    if (node.metadata?.name === selfName) continue;
    const cidr = node.spec?.podCIDR;
    const ip = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    if (cidr && ip && /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(cidr)) routes.set(cidr, ip);
  }
  return routes;
}

export class PodCidrRoutes {
  private installed = new Map<string, string>();
  private loaded = false;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly net: NodeNetContext,
    private readonly uplink: string,
    private readonly log: (line: string) => void,
  ) {}

  private ip(): string[] {
    return this.net.nodeNetns ? ['ip', '-n', this.net.nodeNetns] : ['ip'];
  }

  /** Brings the routes in line with `nodes`; calls are serialised, each one converges fully. */
  sync(nodes: readonly V1Node[], selfName: string): Promise<void> {
    const desired = desiredPodRoutes(nodes, selfName);
    const step = () => this.apply(desired).catch((error: Error) => this.log(`pod CIDR routes: ${error.message}`));
    this.chain = this.chain.then(step, step);
    return this.chain;
  }

  current(): ReadonlyMap<string, string> {
    return this.installed;
  }

  private async apply(desired: Map<string, string>): Promise<void> {
    if (!this.loaded) {
      // Routes an earlier agent left: ours are proto 75 via the uplink (pod /32s are on veths).
      const result = await run([...this.ip(), '-j', 'route', 'show', 'proto', String(AGENT_ROUTE_PROTO), 'dev', this.uplink], { nothrow: true, timeoutMs: 10_000 });
      if (result.exitCode === 0 && result.stdout.trim()) {
        for (const route of JSON.parse(result.stdout) as { dst: string; gateway?: string }[]) {
          if (route.gateway) this.installed.set(route.dst.includes('/') ? route.dst : `${route.dst}/32`, route.gateway);
        }
      }
      this.loaded = true;
    }
    for (const [cidr, via] of desired) {
      if (this.installed.get(cidr) === via) continue;
      await run([...this.ip(), 'route', 'replace', cidr, 'via', via, 'dev', this.uplink, 'proto', String(AGENT_ROUTE_PROTO)], {
        purpose: `route pod CIDR ${cidr} via ${via}`,
        timeoutMs: 10_000,
      });
      this.installed.set(cidr, via);
      this.log(`route ${cidr} via ${via}`);
    }
    for (const [cidr, via] of [...this.installed]) {
      if (desired.has(cidr)) continue;
      await run([...this.ip(), 'route', 'del', cidr, 'via', via, 'dev', this.uplink, 'proto', String(AGENT_ROUTE_PROTO)], { nothrow: true, timeoutMs: 10_000 });
      this.installed.delete(cidr);
      this.log(`route ${cidr} via ${via} removed`);
    }
  }
}
