import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { environmentError } from '../../core/errors.ts';
import { intToIp, ipToInt } from '../addressing.ts';

/**
 * Pod addresses from the node's podCIDR, like the CNI host-local plugin: the network address,
 * the first host (.1, the conventional gateway) and the broadcast address are never handed out;
 * allocation continues after the last address handed out (wrapping), so a just-freed address is
 * not reused at once (stale conntrack entries and EndpointSlices then never point at a new pod).
 * Allocations live in a JSON file so a restarted agent does not hand out addresses in use.
 */
interface IpamFile {
  podCidr: string;
  last?: string;
  allocations: Record<string, { uid: string; pod: string }>;
}

export interface CidrRange {
  network: number;
  first: number;
  last: number;
  size: number;
}

/** The assignable range of an IPv4 CIDR: network + 2 … broadcast − 1. */
export function assignableRange(cidr: string): CidrRange {
  const match = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(cidr);
  if (!match) throw environmentError(`'${cidr}' is not an IPv4 CIDR`);
  const bits = Number(match[2]);
  if (bits > 29) throw environmentError(`podCIDR ${cidr} is too small for pods (needs at least a /29)`);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  const network = (ipToInt(match[1] as string) & mask) >>> 0;
  const size = 2 ** (32 - bits);
  return { network, first: network + 2, last: network + size - 2, size };
}

export class PodIpam {
  private state: IpamFile;

  private constructor(
    private readonly path: string,
    podCidr: string,
    loaded: IpamFile | undefined,
  ) {
    assignableRange(podCidr);
    // A different podCIDR (a node re-created under the same name) invalidates every allocation.
    this.state = loaded && loaded.podCidr === podCidr ? loaded : { podCidr, allocations: {} };
  }

  static async open(path: string, podCidr: string): Promise<PodIpam> {
    let loaded: IpamFile | undefined;
    try {
      loaded = JSON.parse(await readFile(path, 'utf8')) as IpamFile;
    } catch {
      loaded = undefined;
    }
    const ipam = new PodIpam(path, podCidr, loaded);
    await ipam.save();
    return ipam;
  }

  get podCidr(): string {
    return this.state.podCidr;
  }

  /** The pod's address: the one it already holds, or the next free one. */
  async allocate(uid: string, pod: string): Promise<string> {
    const held = this.addressOf(uid);
    if (held) return held;
    const range = assignableRange(this.state.podCidr);
    const count = range.last - range.first + 1;
    const after = this.state.last ? ipToInt(this.state.last) : range.first - 1;
    for (let step = 1; step <= count; step += 1) {
      const candidate = range.first + ((after - range.first + step + count) % count);
      const ip = intToIp(candidate);
      if (this.state.allocations[ip]) continue;
      this.state.allocations[ip] = { uid, pod };
      this.state.last = ip;
      await this.save();
      return ip;
    }
    throw environmentError(`no free pod address left in ${this.state.podCidr} (${count} in use)`, {
      hint: 'delete some pods on this node, or spread them over more nodes',
    });
  }

  addressOf(uid: string): string | undefined {
    return Object.entries(this.state.allocations).find(([, holder]) => holder.uid === uid)?.[0];
  }

  async release(uid: string): Promise<string | undefined> {
    const ip = this.addressOf(uid);
    if (!ip) return undefined;
    delete this.state.allocations[ip];
    await this.save();
    return ip;
  }

  /** Releases every allocation whose pod is not in `liveUids`; returns what was freed. */
  async releaseAllExcept(liveUids: ReadonlySet<string>): Promise<{ ip: string; uid: string; pod: string }[]> {
    const freed = Object.entries(this.state.allocations)
      .filter(([, holder]) => !liveUids.has(holder.uid))
      .map(([ip, holder]) => ({ ip, ...holder }));
    for (const { ip } of freed) delete this.state.allocations[ip];
    if (freed.length > 0) await this.save();
    return freed;
  }

  allocations(): { ip: string; uid: string; pod: string }[] {
    return Object.entries(this.state.allocations).map(([ip, holder]) => ({ ip, ...holder }));
  }

  private saving: Promise<void> = Promise.resolve();

  /** Writes are serialised (write a temporary file, then rename), so the file is always whole. */
  private save(): Promise<void> {
    const write = async () => {
      await mkdir(dirname(this.path), { recursive: true });
      const tmp = `${this.path}.tmp`;
      await writeFile(tmp, JSON.stringify(this.state, null, 2));
      await rename(tmp, this.path);
    };
    this.saving = this.saving.then(write, write);
    return this.saving;
  }
}
