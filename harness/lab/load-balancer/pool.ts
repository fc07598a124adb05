import { inCidr, intToIp, ipToInt } from '../addressing.ts';

/**
 * The load balancer's address pool. An address, once given to a Service, stays with it until the
 * Service is deleted or stops being `type: LoadBalancer` (stable per Service, as a cloud keeps an
 * NLB's address). New Services get the next free address after the last one handed out, wrapping
 * at the end (a lab's first LoadBalancer Service is predictably 198.18.32.1): a just-released
 * address is not reused at once, as a cloud hands a new load balancer a fresh address. Reused at
 * once, the old address's conntrack entries in the balancer's namespace (a SYN to a dead node is
 * remembered for 120 s) would send a new client connection that happens to reuse a source port to
 * the old Service's node and NodePort — seen as refused connections on a run after a node-down one.
 */
export type Allocation = { ok: true; ip: string; changed: boolean } | { ok: false; reason: string };

export interface AllocationRequest {
  /** `spec.loadBalancerIP`: must be honoured exactly, or the Service gets no address. */
  required?: string | undefined;
  /** An address the Service already carries in its status (adopted after a controller restart). */
  preferred?: string | undefined;
}

export class AddressPool {
  readonly cidr: string;
  private readonly first: number;
  private readonly last: number;
  private readonly byKey = new Map<string, string>();
  private readonly byIp = new Map<string, string>();
  /** The last address handed out by free choice: the next search starts after it. */
  private cursor: number | undefined;

  constructor(cidr: string) {
    const [base, bits] = cidr.split('/') as [string, string];
    const prefix = Number(bits);
    const size = 2 ** (32 - prefix);
    const network = (ipToInt(base) & (prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0)) >>> 0;
    this.cidr = cidr;
    // The network and broadcast addresses are left out, as on any subnet a client might share.
    this.first = size > 2 ? network + 1 : network;
    this.last = size > 2 ? network + size - 2 : network + size - 1;
  }

  /** Whether `ip` is an address this pool hands out. */
  contains(ip: string): boolean {
    if (!/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(ip) || !inCidr(ip, this.cidr)) return false;
    const value = ipToInt(ip);
    return value >= this.first && value <= this.last;
  }

  get size(): number {
    return this.last - this.first + 1;
  }

  addressOf(key: string): string | undefined {
    return this.byKey.get(key);
  }

  ownerOf(ip: string): string | undefined {
    return this.byIp.get(ip);
  }

  /** Every allocation, by address order. */
  entries(): { key: string; ip: string }[] {
    return [...this.byKey].map(([key, ip]) => ({ key, ip })).sort((a, b) => ipToInt(a.ip) - ipToInt(b.ip));
  }

  /**
   * The address of `key`: its current one (unless `required` names another), else `required`,
   * else `preferred` when free, else the next free one after the last handed out (wrapping).
   */
  allocate(key: string, request: AllocationRequest = {}): Allocation {
    const current = this.byKey.get(key);
    const { required, preferred } = request;
    if (required !== undefined) {
      if (current === required) return { ok: true, ip: current, changed: false };
      if (!this.contains(required)) {
        if (current) this.release(key);
        return { ok: false, reason: `spec.loadBalancerIP ${required} is not in the lab load balancer pool ${this.cidr}` };
      }
      const owner = this.byIp.get(required);
      if (owner !== undefined) {
        if (current) this.release(key);
        return { ok: false, reason: `spec.loadBalancerIP ${required} is already used by Service ${owner}` };
      }
      if (current) this.release(key);
      this.take(key, required);
      return { ok: true, ip: required, changed: true };
    }
    if (current) return { ok: true, ip: current, changed: false };
    if (preferred !== undefined && this.contains(preferred) && !this.byIp.has(preferred)) {
      this.take(key, preferred);
      return { ok: true, ip: preferred, changed: true };
    }
    const start = this.cursor === undefined || this.cursor >= this.last ? this.first : this.cursor + 1;
    for (let step = 0; step < this.size; step += 1) {
      const value = this.first + ((start - this.first + step) % this.size);
      const ip = intToIp(value);
      if (!this.byIp.has(ip)) {
        this.take(key, ip);
        this.cursor = value;
        return { ok: true, ip, changed: true };
      }
    }
    return { ok: false, reason: `the lab load balancer pool ${this.cidr} is exhausted (${this.size} addresses in use)` };
  }

  /** Frees the address of `key`; returns it, or undefined when it had none. */
  release(key: string): string | undefined {
    const ip = this.byKey.get(key);
    if (ip === undefined) return undefined;
    this.byKey.delete(key);
    this.byIp.delete(ip);
    return ip;
  }

  private take(key: string, ip: string): void {
    this.byKey.set(key, ip);
    this.byIp.set(ip, key);
  }
}
