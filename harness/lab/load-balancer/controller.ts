import { createServer, type Server } from 'node:http';
import { writeFile, rename } from 'node:fs/promises';
import {
  type CoreV1Event,
  CoreV1Api,
  type Informer,
  KubeConfig,
  type KubernetesObject,
  type ListPromise,
  makeInformer,
  type ObjectCache,
  PatchStrategy,
  setHeaderOptions,
  type V1LoadBalancerIngress,
  type V1Node,
  type V1Service,
} from '@kubernetes/client-node';
import type { LoadBalancerConfig } from './config.ts';
import { HealthTracker, probeHealthCheckNodePort } from './health.ts';
import { allocationOrder, lbNodeOf, lbServiceOf, type LbNode, type LbService } from './model.ts';
import { deleteTable, loadRuleset } from './nft.ts';
import { healthTargets, type Placed, plan, type ServiceView } from './plan.ts';
import { AddressPool } from './pool.ts';
import { renderRuleset } from './ruleset.ts';

/**
 * The lab load balancer controller: runs inside the lab's load-balancer namespace, watches
 * Services and Nodes through informers (list + watch, re-list on 410 Gone, restart with backoff
 * on errors; no polling of the API), and for every `type: LoadBalancer` Service
 *   1. allocates an address from the pool and writes `status.loadBalancer.ingress[{ip, ipMode: VIP}]`;
 *   2. programs its own nft table: LB ip:port → random eligible node's NodePort, source untouched;
 *   3. for `externalTrafficPolicy: Local`, probes kube-proxy's healthCheckNodePort on every node
 *      each interval and sends new connections only to nodes answering 200.
 */
export interface LoadBalancerStatus {
  lab: string;
  pool: string;
  table: string;
  synced: boolean;
  programmed: boolean;
  updatedAt: string;
  services: ServiceView[];
}

export interface ControllerOptions {
  config: LoadBalancerConfig;
  log?: (line: string) => void;
  /** Where to load rules; the controller's own namespace when absent. */
  netns?: string;
}

const component = 'kth-lab-load-balancer';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export class LoadBalancerController {
  private readonly config: LoadBalancerConfig;
  private readonly log: (line: string) => void;
  private readonly netns: string | undefined;
  private readonly core: CoreV1Api;
  private readonly kc: KubeConfig;
  private readonly pool: AddressPool;
  private readonly health: HealthTracker;
  private readonly watched: { stop(): Promise<void> }[] = [];
  private services!: ObjectCache<V1Service>;
  private nodes!: ObjectCache<V1Node>;
  private server: Server | undefined;
  private synced = false;
  private programmed = false;
  private stopped = false;
  private pending = false;
  private running: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private healthRound: Promise<void> | undefined;
  private appliedRuleset: string | undefined;
  private status: LoadBalancerStatus;
  private lastStatusJson = '';
  private readonly lastSummary = new Map<string, string>();
  private readonly emitted = new Map<string, string>();

  constructor({ config, log, netns }: ControllerOptions) {
    this.config = config;
    this.log = log ?? ((line) => process.stdout.write(`${new Date().toISOString()} ${line}\n`));
    this.netns = netns;
    this.kc = new KubeConfig();
    this.kc.loadFromFile(config.kubeconfigPath);
    this.core = this.kc.makeApiClient(CoreV1Api);
    this.pool = new AddressPool(config.pool);
    this.health = new HealthTracker(config.healthCheck);
    this.status = { lab: config.labName, pool: config.pool, table: config.table, synced: false, programmed: false, updatedAt: new Date().toISOString(), services: [] };
  }

  /** Starts serving /healthz and /status, syncs both informers, programs the table, starts health checks. */
  async start(): Promise<void> {
    this.server = await listen(this.config.listen.host, this.config.listen.port, (path) => this.answer(path));
    this.log(`serving /healthz and /status on ${this.config.listen.host}:${this.config.listen.port}`);
    const services = new WatchedResource<V1Service>('services', this.kc, '/api/v1/services', () => this.core.listServiceForAllNamespaces(), this.log, () => this.requestReconcile());
    const nodes = new WatchedResource<V1Node>('nodes', this.kc, '/api/v1/nodes', () => this.core.listNode(), this.log, () => this.requestReconcile());
    this.watched.push(services, nodes);
    this.services = services.cache;
    this.nodes = nodes.cache;
    await Promise.all([services.start(), nodes.start()]);
    if (this.stopped) return;
    this.synced = true;
    this.log(`informers synced: ${services.cache.list().length} services, ${nodes.cache.list().length} nodes`);
    this.requestReconcile();
    this.scheduleHealthRound(0);
  }

  /** Stops watching and probing and removes the nft table. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.healthTimer);
    await Promise.all(this.watched.map((w) => w.stop()));
    await this.running?.catch(() => {});
    await this.healthRound?.catch(() => {});
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    await deleteTable(this.config.table, this.netns);
    this.log(`stopped; nft table ip ${this.config.table} removed`);
  }

  view(): LoadBalancerStatus {
    return this.status;
  }

  private answer(path: string): { status: number; body: string; type: string } {
    if (path === '/healthz') {
      const ok = this.synced && this.programmed;
      return { status: ok ? 200 : 503, body: ok ? 'ok\n' : `${this.synced ? 'nft table not programmed yet' : 'informers not synced yet'}\n`, type: 'text/plain' };
    }
    if (path === '/status') return { status: 200, body: `${JSON.stringify(this.status, null, 2)}\n`, type: 'application/json' };
    return { status: 404, body: 'try /healthz or /status\n', type: 'text/plain' };
  }

  // ---- reconcile -------------------------------------------------------------------------------

  /** Coalesces bursts of events (a re-list calls back once per object) into one reconcile. */
  private requestReconcile(): void {
    if (!this.synced || this.stopped) return;
    this.pending = true;
    if (this.running) return;
    this.running = (async () => {
      while (this.pending && !this.stopped) {
        this.pending = false;
        await new Promise((resolve) => setTimeout(resolve, 5));
        try {
          await this.reconcile();
        } catch (error) {
          this.log(`reconcile failed, retrying in 1s: ${(error as Error).message}`);
          this.retryLater();
        }
      }
    })().finally(() => {
      this.running = undefined;
    });
  }

  private retryLater(): void {
    if (this.retryTimer || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.requestReconcile();
    }, 1000);
  }

  private currentServices(): LbService[] {
    return this.services.list().map(lbServiceOf).filter((s): s is LbService => s !== undefined);
  }

  private currentNodes(): LbNode[] {
    return this.nodes.list().map(lbNodeOf).filter((n): n is LbNode => n !== undefined);
  }

  private async reconcile(): Promise<void> {
    const services = this.currentServices();
    const nodes = this.currentNodes();
    const placed = this.allocate(services);

    const { views, targets } = plan(placed, nodes, this.health);
    const ruleset = renderRuleset({ table: this.config.table, pool: this.config.pool, targets });
    if (ruleset !== this.appliedRuleset) {
      await loadRuleset(ruleset, this.netns);
      this.appliedRuleset = ruleset;
      this.programmed = true;
    }
    for (const view of views) this.logChange(view);
    for (const key of [...this.lastSummary.keys()]) if (!views.some((v) => v.service === key)) this.lastSummary.delete(key);
    await this.publish(views);

    const failures = (await Promise.all([...placed.map((p) => this.writeStatus(p)), ...this.clearForeignStatuses()])).filter((ok) => !ok);
    if (failures.length > 0) this.retryLater();
  }

  /** Releases addresses of vanished Services, adopts addresses already in status, allocates the rest. */
  private allocate(services: readonly LbService[]): Placed[] {
    const live = new Set(services.map((s) => s.key));
    for (const { key, ip } of this.pool.entries()) {
      if (!live.has(key)) {
        this.pool.release(key);
        this.log(`${key}: released ${ip}`);
      }
    }
    const uids = new Set(services.map((s) => s.uid));
    for (const key of this.emitted.keys()) if (!uids.has(key.slice(0, key.indexOf('/')))) this.emitted.delete(key);
    const ordered = allocationOrder(services);
    // First adopt what Services already carry (a restarted controller keeps every address), …
    for (const s of ordered) {
      const adopt = s.statusIps.find((ip) => this.pool.contains(ip));
      if (adopt && !this.pool.addressOf(s.key) && !this.pool.ownerOf(adopt) && (s.requestedIp === undefined || s.requestedIp === adopt)) {
        this.pool.allocate(s.key, { preferred: adopt });
      }
    }
    // … then give the others their requested or lowest free address.
    return ordered.map((s): Placed => {
      const result = this.pool.allocate(s.key, { required: s.requestedIp });
      if (!result.ok) {
        this.event(s, 'Warning', 'AllocationFailed', result.reason);
        return { service: s, error: result.reason };
      }
      if (result.changed || !s.statusIps.includes(result.ip)) this.event(s, 'Normal', 'IPAllocated', `Assigned IP ${result.ip} from the lab load balancer pool ${this.config.pool}`);
      return { service: s, ip: result.ip };
    });
  }

  /** Writes `status.loadBalancer` when it differs from what the Service should carry; false on failure. */
  private async writeStatus({ service, ip }: Placed): Promise<boolean> {
    const current = this.services.get(service.name, service.namespace)?.status?.loadBalancer?.ingress ?? [];
    const desired: V1LoadBalancerIngress[] = ip ? [{ ip, ipMode: 'VIP' }] : [];
    if (sameIngress(current, desired)) return true;
    return this.patchIngress(service.namespace, service.name, desired);
  }

  /** Services that stopped being ours (type changed, class set) keep no address of our pool. */
  private clearForeignStatuses(): Promise<boolean>[] {
    return this.services.list().flatMap((svc) => {
      if (lbServiceOf(svc) || svc.spec?.type === 'LoadBalancer') return [];
      const ours = (svc.status?.loadBalancer?.ingress ?? []).some((i) => i.ip && this.pool.contains(i.ip));
      return ours ? [this.patchIngress(svc.metadata?.namespace ?? 'default', svc.metadata?.name ?? '', [])] : [];
    });
  }

  private async patchIngress(namespace: string, name: string, ingress: V1LoadBalancerIngress[]): Promise<boolean> {
    const body = { status: { loadBalancer: ingress.length > 0 ? { ingress } : { ingress: null } } };
    try {
      await this.core.patchNamespacedServiceStatus({ name, namespace, body }, mergePatch);
      this.log(`${namespace}/${name}: status.loadBalancer.ingress = ${ingress.length > 0 ? ingress.map((i) => `${i.ip} (${i.ipMode})`).join(', ') : '[]'}`);
      return true;
    } catch (error) {
      if ((error as { code?: number }).code === 404) return true; // deleted meanwhile: its delete event follows
      this.log(`${namespace}/${name}: writing status.loadBalancer failed: ${(error as Error).message}`);
      return false;
    }
  }

  private logChange(view: ServiceView): void {
    const receiving = view.nodes.filter((n) => n.receives).map((n) => n.name);
    const summary = view.ip
      ? `${view.ip} ${view.ports.map((p) => `${p.protocol.toLowerCase()}/${p.port}->${p.nodePort}`).join(',')} (${view.trafficPolicy}) -> ${receiving.join(', ') || 'no node (connections refused)'}`
      : `no address: ${view.error ?? 'pending'}`;
    if (this.lastSummary.get(view.service) === summary) return;
    const first = !this.lastSummary.has(view.service);
    this.lastSummary.set(view.service, summary);
    this.log(`${view.service}: ${summary}`);
    const skipped = view.skippedPorts.map((p) => `${p.protocol}/${p.port}: ${p.reason}`).join('; ');
    if (first && skipped) this.log(`${view.service}: ports not balanced: ${skipped}`);
    const svc = this.currentServices().find((s) => s.key === view.service);
    if (svc && view.ip && !first) this.event(svc, 'Normal', 'UpdatedLoadBalancer', `New connections to ${view.ip} go to ${receiving.join(', ') || 'no node'}`);
  }

  private async publish(views: ServiceView[]): Promise<void> {
    const next = { lab: this.config.labName, pool: this.config.pool, table: this.config.table, synced: this.synced, programmed: this.programmed, services: views };
    const json = JSON.stringify(next);
    if (json === this.lastStatusJson) return;
    this.lastStatusJson = json;
    this.status = { ...next, updatedAt: new Date().toISOString() };
    if (this.config.statusFile) {
      const tmp = `${this.config.statusFile}.tmp`;
      await writeFile(tmp, `${JSON.stringify(this.status, null, 2)}\n`);
      await rename(tmp, this.config.statusFile);
    }
  }

  /** A Kubernetes Event on the Service (best effort; repeated identical events are sent once). */
  private event(service: LbService, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const dedupe = `${service.uid}/${reason}`;
    if (this.emitted.get(dedupe) === message) return;
    this.emitted.set(dedupe, message);
    const now = new Date();
    const body: CoreV1Event = {
      metadata: { generateName: `${service.name}.`, namespace: service.namespace },
      involvedObject: { kind: 'Service', apiVersion: 'v1', namespace: service.namespace, name: service.name, uid: service.uid },
      type,
      reason,
      message,
      source: { component },
      reportingComponent: component,
      reportingInstance: this.config.labName,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    this.core.createNamespacedEvent({ namespace: service.namespace, body }).catch((error: Error) => {
      this.log(`${service.key}: event ${reason} not recorded: ${error.message}`);
    });
  }

  // ---- health checks ---------------------------------------------------------------------------

  private scheduleHealthRound(delayMs: number): void {
    if (this.stopped) return;
    this.healthTimer = setTimeout(() => {
      const started = performance.now();
      this.healthRound = this.healthCheckRound()
        .catch((error: Error) => this.log(`health check round failed: ${error.message}`))
        .finally(() => this.scheduleHealthRound(Math.max(0, this.config.healthCheck.intervalMs - (performance.now() - started))));
    }, delayMs);
  }

  /** Probes every (Local Service, candidate node) once, in parallel, each bounded by the timeout. */
  private async healthCheckRound(): Promise<void> {
    const targets = healthTargets(this.currentServices(), this.currentNodes());
    this.health.retain(new Set(targets.map((t) => t.key)));
    if (targets.length === 0) return;
    const results = await Promise.all(targets.map(async (t) => ({ t, result: await probeHealthCheckNodePort(t.nodeIp, t.port, this.config.healthCheck.timeoutMs) })));
    if (this.stopped) return;
    let flipped = false;
    for (const { t, result } of results) {
      if (this.health.record(t.key, result)) {
        flipped = true;
        this.log(`${t.service}: node ${t.nodeIp} healthCheckNodePort ${t.port} ${this.health.healthy(t.key) ? 'healthy' : 'unhealthy'} (${result.detail}${result.localEndpoints !== undefined ? `, localEndpoints=${result.localEndpoints}` : ''})`);
      }
    }
    // Refresh the published view (last answers) every round; reprogram only when something flipped.
    if (flipped) this.requestReconcile();
    else await this.publish(plan(this.placedNow(), this.currentNodes(), this.health).views);
  }

  private placedNow(): Placed[] {
    return allocationOrder(this.currentServices()).map((s) => {
      const ip = this.pool.addressOf(s.key);
      return ip ? { service: s, ip } : { service: s, error: this.status.services.find((v) => v.service === s.key)?.error ?? 'pending' };
    });
  }
}

function sameIngress(a: readonly V1LoadBalancerIngress[], b: readonly V1LoadBalancerIngress[]): boolean {
  return a.length === b.length && a.every((x, i) => x.ip === b[i]?.ip && (x.ipMode ?? 'VIP') === b[i]?.ipMode && !x.hostname);
}

/**
 * An informer kept alive: the client's ListWatch re-lists by itself on 410 Gone and re-watches
 * when the server ends a watch; on any other error it stops, and this restarts it with backoff.
 */
class WatchedResource<T extends KubernetesObject> {
  readonly informer: Informer<T> & ObjectCache<T>;
  private listed = false;
  private stopped = false;
  private backoffMs = 500;
  private timer: NodeJS.Timeout | undefined;
  private firstList: { resolve: () => void; promise: Promise<void> };

  constructor(private readonly what: string, kc: KubeConfig, path: string, list: ListPromise<T>, private readonly log: (line: string) => void, onChange: () => void) {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.firstList = { resolve, promise };
    const listFn: ListPromise<T> = async () => {
      const result = await list();
      this.listed = true;
      this.backoffMs = 500;
      this.firstList.resolve();
      return result;
    };
    this.informer = makeInformer(kc, path, listFn);
    const changed = () => {
      this.backoffMs = 500; // an event arrived: the watch works again
      onChange();
    };
    this.informer.on('add', changed);
    this.informer.on('update', changed);
    this.informer.on('delete', changed);
    this.informer.on('error', (error: unknown) => {
      if (this.stopped) return;
      const delay = this.backoffMs;
      this.backoffMs = Math.min(this.backoffMs * 2, 30_000);
      this.log(`watch of ${this.what} ended with an error, restarting in ${delay}ms: ${describe(error)}`);
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.informer.start().catch((e: Error) => this.log(`restarting the ${this.what} informer failed: ${e.message}`)), delay);
    });
  }

  get cache(): ObjectCache<T> {
    return this.informer;
  }

  /** Resolves once the first list has arrived (retrying through errors). */
  async start(): Promise<void> {
    await this.informer.start().catch((error: Error) => this.log(`starting the ${this.what} informer failed: ${error.message}`));
    if (!this.listed) await this.firstList.promise;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.firstList.resolve();
    await this.informer.stop();
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (error && typeof error === 'object') return JSON.stringify(error).slice(0, 300);
  return String(error);
}

function listen(host: string, port: number, answer: (path: string) => { status: number; body: string; type: string }): Promise<Server> {
  const server = createServer((req, res) => {
    const { status, body, type } = answer(new URL(req.url ?? '/', 'http://lb').pathname);
    res.writeHead(status, { 'content-type': type }).end(body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
