import {
  AppsV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  type V1Deployment,
  type V1EndpointSlice,
  type V1Node,
  type V1Pod,
  type V1Service,
  Watch,
} from '@kubernetes/client-node';
import { environmentError } from '../core/errors.ts';

/**
 * The one way the harness talks to any cluster (lab, kind, existing): apply objects, wait on
 * watches, read pods and EndpointSlices. Providers differ only in how the kubeconfig came to be.
 */
export interface Cluster {
  kubeconfig: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  discovery: DiscoveryV1Api;
  objects: KubernetesObjectApi;
}

/** The cluster of a kubeconfig file, in its current context or the one named (which must exist). */
export function connect(kubeconfigPath: string, context?: string): Cluster {
  const kubeconfig = new KubeConfig();
  kubeconfig.loadFromFile(kubeconfigPath);
  if (context !== undefined) {
    if (!kubeconfig.getContexts().some((c) => c.name === context)) throw new Error(`context '${context}' is not in it (contexts: ${kubeconfig.getContexts().map((c) => c.name).join(', ') || 'none'})`);
    kubeconfig.setCurrentContext(context);
  }
  return clusterOf(kubeconfig);
}

/** The API clients of a loaded kubeconfig (its current context). */
export function clusterOf(kubeconfig: KubeConfig): Cluster {
  return {
    kubeconfig,
    core: kubeconfig.makeApiClient(CoreV1Api),
    apps: kubeconfig.makeApiClient(AppsV1Api),
    discovery: kubeconfig.makeApiClient(DiscoveryV1Api),
    objects: KubernetesObjectApi.makeApiClient(kubeconfig),
  };
}

const FIELD_MANAGER = 'kube-traffic-harness';

/** Server-side apply of each object in order; the harness owns the fields it sets. */
export async function apply(cluster: Cluster, objects: readonly KubernetesObject[]): Promise<KubernetesObject[]> {
  const applied: KubernetesObject[] = [];
  for (const object of objects) {
    applied.push(await cluster.objects.patch(object, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply));
  }
  return applied;
}

export async function ensureNamespace(cluster: Cluster, name: string, labels: Record<string, string> = {}): Promise<void> {
  await apply(cluster, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } }]);
}

/**
 * Watches `path` (a list URL such as /apis/apps/v1/namespaces/x/deployments) until `done` says
 * yes for some object, or fails after `timeoutMs` with the last state `describe` gave.
 */
export async function watchUntil<T extends KubernetesObject>(
  cluster: Cluster,
  path: string,
  query: Record<string, string>,
  done: (objects: ReadonlyMap<string, T>) => true | string,
  timeoutMs: number,
  what: string,
): Promise<ReadonlyMap<string, T>> {
  const objects = new Map<string, T>();
  let last = 'no events yet';
  return await new Promise((resolve, reject) => {
    let request: { abort(): void } | undefined;
    const finish = (error?: Error) => {
      clearTimeout(timer);
      request?.abort();
      if (error) reject(error);
      else resolve(objects);
    };
    const timer = setTimeout(() => finish(environmentError(`${what}: not reached within ${Math.round(timeoutMs / 1000)}s (${last})`)), timeoutMs);
    const check = () => {
      const verdict = done(objects);
      if (verdict === true) finish();
      else last = verdict;
    };
    new Watch(cluster.kubeconfig)
      .watch(path, { ...query, allowWatchBookmarks: 'true' }, (type: string, object: T) => {
        const key = `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
        if (type === 'DELETED') objects.delete(key);
        else if (type === 'ADDED' || type === 'MODIFIED') objects.set(key, object);
        check();
      }, (error: unknown) => {
        // The watch ended (server timeout, 410 Gone): start over unless we are done.
        if (error && (error as { name?: string }).name !== 'AbortError') last = `watch ended: ${(error as Error).message}`;
      })
      .then((req) => {
        request = req;
        check();
      }, (error: Error) => finish(environmentError(`${what}: cannot watch ${path}: ${error.message}`)));
  });
}

/** Taints the node lifecycle controller puts on a node it has lost (and lifts when it is back). */
const NODE_LOST_TAINTS = new Set(['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']);

/** Why a node cannot take pods now (NotReady, tainted as lost, cordoned), or undefined. */
export function nodeUnfit(node: V1Node | undefined): string | undefined {
  if (!node) return 'not found';
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status !== 'True') return `Ready=${ready?.status ?? 'unknown'}${ready?.reason ? ` (${ready.reason})` : ''}`;
  const lost = node.spec?.taints?.filter((taint) => NODE_LOST_TAINTS.has(taint.key));
  if (lost?.length) return `tainted ${lost.map((taint) => `${taint.key}:${taint.effect}`).join(', ')}`;
  if (node.spec?.unschedulable) return 'cordoned (unschedulable)';
  return undefined;
}

/**
 * Waits until each named node is Ready, untainted by the node lifecycle controller and
 * schedulable: a node an earlier run took down comes back a few seconds after its fault is undone.
 */
export async function waitForNodesFit(cluster: Cluster, names: readonly string[], timeoutMs = 60_000): Promise<void> {
  if (names.length === 0) return;
  await watchUntil<V1Node>(cluster, '/api/v1/nodes', {}, (nodes) => {
    const unfit = names.flatMap((name) => {
      const why = nodeUnfit(nodes.get(`/${name}`));
      return why ? [`${name}: ${why}`] : [];
    });
    return unfit.length === 0 ? true : unfit.join('; ');
  }, timeoutMs, `node(s) ${names.join(', ')} Ready and schedulable`);
}

/** Waits until a Deployment has rolled out: every replica updated, available and ready. */
export async function waitForDeployment(cluster: Cluster, namespace: string, name: string, timeoutMs = 60_000): Promise<V1Deployment> {
  const objects = await watchUntil<V1Deployment>(cluster, `/apis/apps/v1/namespaces/${namespace}/deployments`, { fieldSelector: `metadata.name=${name}` }, (all) => {
    const d = all.get(`${namespace}/${name}`);
    if (!d) return 'not created';
    const want = d.spec?.replicas ?? 1;
    const s = d.status ?? {};
    const ok = (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) && s.updatedReplicas === want && s.readyReplicas === want && s.availableReplicas === want && (s.replicas ?? 0) === want;
    return ok ? true : `${s.readyReplicas ?? 0}/${want} ready, ${s.updatedReplicas ?? 0} updated, ${s.replicas ?? 0} total`;
  }, timeoutMs, `deployment ${namespace}/${name} ready`);
  return objects.get(`${namespace}/${name}`) as V1Deployment;
}

/**
 * Container waiting reasons that waiting never cures: the container cannot be created (a lab image
 * whose program is missing, a bad config) or its image cannot be had. (ErrImagePull and
 * CrashLoopBackOff are left out: the kubelet retries those, and they can recover.)
 */
const permanentWaitingReasons = new Set(['CreateContainerError', 'CreateContainerConfigError', 'InvalidImageName', 'ErrImageNeverPull']);

/** The first pod whose container can never start, in words; undefined when none. */
export function podStartProblem(pods: readonly V1Pod[]): string | undefined {
  for (const pod of pods) {
    for (const status of pod.status?.containerStatuses ?? []) {
      const waiting = status.state?.waiting;
      if (waiting?.reason && permanentWaitingReasons.has(waiting.reason)) return `pod ${pod.metadata?.name}: ${waiting.reason}: ${waiting.message ?? ''}`.trim();
    }
  }
  return undefined;
}

/**
 * {@link waitForDeployment}, but failing as soon as one of its pods (`selector`) can never start,
 * with the kubelet's reason, instead of after the whole timeout.
 */
export async function waitForDeploymentPods(cluster: Cluster, namespace: string, name: string, selector: string, timeoutMs = 60_000): Promise<V1Deployment> {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const stuck = new Promise<never>((_, reject) => {
    const poll = async () => {
      const problem = podStartProblem(await podsOf(cluster, namespace, selector).catch(() => []));
      if (stopped) return;
      if (problem) reject(environmentError(`deployment ${namespace}/${name} cannot become ready: ${problem}`, { hint: `kubectl -n ${namespace} describe pod shows the same; fix what it names and run again` }));
      else timer = setTimeout(() => void poll(), 2000);
    };
    timer = setTimeout(() => void poll(), 2000);
  });
  try {
    return await Promise.race([waitForDeployment(cluster, namespace, name, timeoutMs), stuck]);
  } finally {
    stopped = true;
    clearTimeout(timer);
  }
}

/** Waits until a LoadBalancer Service has an address in its status (what the cloud, or the lab LB, assigns). */
export async function waitForLoadBalancer(cluster: Cluster, namespace: string, name: string, timeoutMs = 60_000): Promise<V1Service> {
  const objects = await watchUntil<V1Service>(cluster, `/api/v1/namespaces/${namespace}/services`, { fieldSelector: `metadata.name=${name}` }, (all) => {
    const service = all.get(`${namespace}/${name}`);
    if (!service) return 'not created';
    return service.status?.loadBalancer?.ingress?.some((ingress) => ingress.ip || ingress.hostname) ? true : 'no address assigned yet';
  }, timeoutMs, `service ${namespace}/${name} load balancer address`);
  return objects.get(`${namespace}/${name}`) as V1Service;
}

export async function podsOf(cluster: Cluster, namespace: string, labelSelector: string): Promise<V1Pod[]> {
  return (await cluster.core.listNamespacedPod({ namespace, labelSelector })).items;
}

export async function endpointSlicesOf(cluster: Cluster, namespace: string, service: string): Promise<V1EndpointSlice[]> {
  return (await cluster.discovery.listNamespacedEndpointSlice({ namespace, labelSelector: `kubernetes.io/service-name=${service}` })).items;
}

/** The ready endpoint addresses in some EndpointSlices. */
function readyAddresses(slices: Iterable<V1EndpointSlice>): string[] {
  return [...slices].flatMap((slice) => (slice.endpoints ?? []).filter((e) => e.conditions?.ready !== false).flatMap((e) => e.addresses));
}

/** Ready endpoint addresses of a Service, from its EndpointSlices. */
export async function readyEndpoints(cluster: Cluster, namespace: string, service: string): Promise<string[]> {
  return readyAddresses(await endpointSlicesOf(cluster, namespace, service));
}

/**
 * Waits until a Service's EndpointSlices list `count` ready addresses. A Deployment can report every
 * replica ready a moment before the EndpointSlice controller has published the last one.
 */
export async function waitForReadyEndpoints(cluster: Cluster, namespace: string, service: string, count: number, timeoutMs = 30_000): Promise<string[]> {
  const slices = await watchUntil<V1EndpointSlice>(cluster, `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`, { labelSelector: `kubernetes.io/service-name=${service}` }, (all) => {
    const n = readyAddresses(all.values()).length;
    return n === count ? true : `${n}/${count} ready endpoints`;
  }, timeoutMs, `service ${namespace}/${service} endpoints`);
  return readyAddresses(slices.values());
}

/** Waits until a pod reports the Ready condition. */
export async function waitForPodReady(cluster: Cluster, namespace: string, name: string, timeoutMs = 60_000): Promise<V1Pod> {
  const all = await watchUntil<V1Pod>(cluster, `/api/v1/namespaces/${namespace}/pods`, { fieldSelector: `metadata.name=${name}` }, (pods) => {
    const pod = pods.get(`${namespace}/${name}`);
    const ready = pod?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    return ready ? true : `phase ${pod?.status?.phase ?? 'not created'}${pod?.status?.reason ? ` (${pod.status.reason})` : ''}`;
  }, timeoutMs, `pod ${namespace}/${name} Ready`);
  return all.get(`${namespace}/${name}`) as V1Pod;
}
