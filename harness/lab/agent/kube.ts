import {
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
  PatchStrategy,
  setHeaderOptions,
  type V1ObjectReference,
  type V1Pod,
  type V1PodStatus,
  Watch,
} from '@kubernetes/client-node';
import type { EnvLookups } from './container-env.ts';
import type { PodEvent, PodSink } from './sink.ts';
import { statusPatchBody } from './status.ts';

/** The API clients the agent uses, from one kubeconfig. */
export interface AgentClients {
  kubeconfig: KubeConfig;
  core: CoreV1Api;
  coordination: CoordinationV1Api;
}

export function agentClients(kubeconfigPath: string): AgentClients {
  const kubeconfig = new KubeConfig();
  kubeconfig.loadFromFile(kubeconfigPath);
  return { kubeconfig, core: kubeconfig.makeApiClient(CoreV1Api), coordination: kubeconfig.makeApiClient(CoordinationV1Api) };
}

/** The HTTP status of a failed API call (client-node's ApiException), or undefined. */
export function apiCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown; statusCode?: unknown } | null)?.code ?? (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

export const strategicMerge = () => setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
export const mergePatch = () => setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** metav1.MicroTime wants exactly six fractional digits (RFC3339Micro); Date gives three. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export interface WatchHandle<T extends KubernetesObject> {
  cache: ListWatch<T>;
  /** Resolves after the first complete list (every existing object has been delivered as 'add'). */
  synced: Promise<void>;
  stop(): void;
}

/**
 * A list-and-watch on `path` that never gives up while `signal` lives: client-node's ListWatch
 * re-lists on 410 Gone and re-watches when the server closes the stream; other failures (API
 * server restarting, connection reset) are retried here with backoff (0.5 s doubling to 30 s).
 */
export function watchObjects<T extends KubernetesObject>(options: {
  kubeconfig: KubeConfig;
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  fieldSelector?: string;
  signal: AbortSignal;
  log: (line: string) => void;
  name: string;
  onAdd?: (object: T) => void;
  onUpdate?: (object: T) => void;
  onDelete?: (object: T) => void;
}): WatchHandle<T> {
  const cache = new ListWatch<T>(options.path, new Watch(options.kubeconfig), options.list, false, undefined, options.fieldSelector);
  if (options.onAdd) cache.on('add', options.onAdd);
  if (options.onUpdate) cache.on('update', options.onUpdate);
  if (options.onDelete) cache.on('delete', options.onDelete);
  let failures = 0;
  let failedSinceStart = false;
  let timer: NodeJS.Timeout | undefined;
  let markSynced!: () => void;
  const synced = new Promise<void>((resolve) => {
    markSynced = resolve;
  });
  const begin = async () => {
    if (options.signal.aborted) return;
    failedSinceStart = false;
    try {
      await cache.start();
    } catch (error) {
      failedSinceStart = true;
      retry(error);
      return;
    }
    if (!failedSinceStart) {
      failures = 0;
      markSynced();
    }
  };
  const retry = (error: unknown) => {
    if (options.signal.aborted || timer) return;
    failures += 1;
    const delay = Math.min(500 * 2 ** (failures - 1), 30_000);
    options.log(`watch ${options.name}: ${(error as Error)?.message ?? String(error)}; retrying in ${delay}ms`);
    timer = setTimeout(() => {
      timer = undefined;
      void begin();
    }, delay);
  };
  cache.on('error', (error) => {
    failedSinceStart = true;
    retry(error);
  });
  const stop = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    void cache.stop();
  };
  options.signal.addEventListener('abort', stop, { once: true });
  void begin();
  return { cache, synced, stop };
}

/**
 * Events as the kubelet records them: source kubelet/<node>, one object per distinct
 * (object, reason, message), with count and lastTimestamp bumped on repeats instead of new objects.
 */
export class EventRecorder {
  private readonly seen = new Map<string, { name: string; namespace: string; count: number; chain: Promise<void> }>();
  private sequence = 0;

  constructor(
    private readonly core: CoreV1Api,
    private readonly nodeName: string,
    private readonly log: (line: string) => void,
  ) {}

  record(object: V1ObjectReference & { namespace: string; name: string }, event: PodEvent): void {
    const key = `${object.uid}|${event.fieldPath ?? ''}|${event.reason}|${event.message}`;
    const existing = this.seen.get(key);
    const now = new Date();
    if (existing) {
      existing.count += 1;
      const count = existing.count;
      existing.chain = existing.chain.then(() =>
        this.core
          .patchNamespacedEvent({ name: existing.name, namespace: existing.namespace, body: { count, lastTimestamp: now } }, mergePatch())
          .then(() => undefined)
          .catch((error: unknown) => this.log(`event ${event.reason} for ${object.name}: ${(error as Error).message}`)),
      );
      return;
    }
    if (this.seen.size >= 4096) this.seen.delete(this.seen.keys().next().value as string);
    this.sequence += 1;
    const name = `${object.name}.${(BigInt(now.getTime()) * 1_000_000n + BigInt(this.sequence % 1_000_000)).toString(16)}`;
    const entry = { name, namespace: object.namespace, count: 1, chain: Promise.resolve() };
    this.seen.set(key, entry);
    entry.chain = this.core
      .createNamespacedEvent({
        namespace: object.namespace,
        body: {
          metadata: { name, namespace: object.namespace },
          involvedObject: { ...object, ...(event.fieldPath ? { fieldPath: event.fieldPath } : {}) },
          reason: event.reason,
          message: event.message,
          type: event.type,
          source: { component: 'kubelet', host: this.nodeName },
          reportingComponent: 'kubelet',
          reportingInstance: this.nodeName,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      })
      .then(() => undefined)
      .catch((error: unknown) => this.log(`event ${event.reason} for ${object.name}: ${(error as Error).message}`));
  }
}

/** The PodSink of the real agent: the API server. */
export class KubePodSink implements PodSink {
  readonly lookups: EnvLookups;

  constructor(
    private readonly core: CoreV1Api,
    private readonly events: EventRecorder,
  ) {
    this.lookups = {
      configMap: async (namespace, name) => {
        try {
          const map = await core.readNamespacedConfigMap({ name, namespace });
          return { ...(map.data ?? {}) };
        } catch (error) {
          if (apiCode(error) === 404) return undefined;
          throw error;
        }
      },
      secret: async (namespace, name) => {
        try {
          const secret = await core.readNamespacedSecret({ name, namespace });
          const data: Record<string, string> = {};
          for (const [key, value] of Object.entries(secret.data ?? {})) data[key] = Buffer.from(value, 'base64').toString('utf8');
          return { ...data, ...(secret.stringData ?? {}) };
        } catch (error) {
          if (apiCode(error) === 404) return undefined;
          throw error;
        }
      },
      serviceAccountToken: async ({ namespace, serviceAccount, audiences, expirationSeconds, pod }) => {
        const issued = await core.createNamespacedServiceAccountToken({
          name: serviceAccount,
          namespace,
          body: { spec: { audiences, expirationSeconds, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.name, uid: pod.uid } } },
        });
        const token = issued.status?.token;
        if (!token) throw new Error('the TokenRequest came back without a token');
        return { token, expiresAt: issued.status?.expirationTimestamp ? new Date(issued.status.expirationTimestamp) : new Date(Date.now() + expirationSeconds * 1000) };
      },
      // The API server's Service never moves: asked once, kept (not while it has no ClusterIP yet).
      masterService: async () => {
        this.masterService ??= core.readNamespacedService({ name: 'kubernetes', namespace: 'default' }).then((service) => {
          const host = service.spec?.clusterIP;
          const port = service.spec?.ports?.find((p) => p.name === 'https')?.port ?? service.spec?.ports?.[0]?.port;
          return host && host !== 'None' && port ? { host, port } : undefined;
        });
        const found = await this.masterService.catch(() => undefined);
        if (!found) this.masterService = undefined;
        return found;
      },
    };
  }

  private masterService: Promise<{ host: string; port: number } | undefined> | undefined;

  async patchStatus(pod: V1Pod, status: V1PodStatus): Promise<{ result: 'ok'; pod?: V1Pod } | { result: 'gone' }> {
    const name = pod.metadata?.name ?? '';
    const namespace = pod.metadata?.namespace ?? '';
    try {
      const updated = await this.core.patchNamespacedPodStatus({ name, namespace, body: statusPatchBody(pod, status) }, strategicMerge());
      return { result: 'ok', pod: updated };
    } catch (error) {
      const code = apiCode(error);
      if (code === 404) return { result: 'gone' };
      if (code === 409) {
        // UID precondition: is this still our pod?
        const current = await this.core.readNamespacedPod({ name, namespace }).catch(() => undefined);
        if (!current || current.metadata?.uid !== pod.metadata?.uid) return { result: 'gone' };
      }
      throw error;
    }
  }

  async finalDelete(pod: V1Pod): Promise<void> {
    const name = pod.metadata?.name ?? '';
    const namespace = pod.metadata?.namespace ?? '';
    try {
      await this.core.deleteNamespacedPod({
        name,
        namespace,
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata?.uid ?? '' } },
      });
    } catch (error) {
      const code = apiCode(error);
      if (code === 404 || code === 409) return; // already gone, or a new pod with this name
      throw error;
    }
  }

  event(pod: V1Pod, event: PodEvent): void {
    this.events.record(
      { apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.name ?? '', namespace: pod.metadata?.namespace ?? 'default', uid: pod.metadata?.uid ?? '' },
      event,
    );
  }
}
