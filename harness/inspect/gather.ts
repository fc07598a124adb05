import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NetworkingV1Api, type V1Pod, type V1Service } from '@kubernetes/client-node';
import { badInput, environmentError, HarnessError } from '../core/errors.ts';
import { run } from '../core/exec.ts';
import { repoRoot } from '../core/paths.ts';
import { type Cluster, connect, endpointSlicesOf, podsOf } from '../kube/cluster.ts';
import { LEAN_NODE_FLAGS } from '../lab/components.ts';
import { inCiliumNode } from '../lab/dataplane/cilium.ts';
import { readSpec } from '../lab/lab.ts';
import { labRunner } from '../lab/guest/lab-guest.ts';
import { labLayout } from '../lab/layout.ts';
import type { LoadBalancerStatus } from '../lab/load-balancer/controller.ts';
import { labNames, validateLabName } from '../lab/names.ts';
import { ipvsOptionsOf } from '../lab/dataplane/kube-proxy.ts';
import { defaultCiliumOptions, type LabSpec } from '../lab/spec.ts';
import { requireBinary } from '../setup/binaries.ts';
import { type HealthObservation, inspectService, type NodeRulesText, type ProxySource, type ServiceInspection } from './model.ts';
import { clusterProxyMode } from './proxy-mode.ts';
import { controllerView, ingressClassName, ingressesTo, type IngressPathView } from './ingress.ts';
import { controllerOfClass } from '../../manifests/ingress-controller.ts';
import { kubeconfigPathOf } from '../existing/connect.ts';

/**
 * The I/O half of `kth inspect service`: reads the Service, its EndpointSlices, pods and nodes
 * from the API server, and on a lab each node's kube-proxy rules or IPVS table (inside the node's
 * network namespace) or Cilium service maps (inside the node's sandbox) and health check answers (from the
 * lab load balancer's namespace). The pure half, model.ts, turns what was read into the inspection.
 */
export interface InspectOptions {
  /** `<namespace>/<name>` */
  service: string;
  kubeconfig?: string;
  /** A context of the kubeconfig other than its current one. */
  context?: string;
  lab?: string;
  /** Bound on each API call and each command. @default 10 s */
  timeoutMs?: number;
  /** How a command reaches a lab node. @default hostNodeCommand */
  nodeCommand?: NodeCommand;
}

/**
 * The argv that runs `argv` on node `index` (1-based) of lab `lab`, where that node's data plane can
 * be read; it runs on the kernel the lab's nodes live on (labRunner: the host's, or the lab's guest).
 */
export type NodeCommand = (lab: string, spec: LabSpec, index: number, argv: readonly string[]) => Promise<string[]>;

/** Nodes on this host: the node's network namespace, and for Cilium its sandbox too (node-sandbox.sh). */
export const hostNodeCommand: NodeCommand = async (lab, spec, index, argv) =>
  spec.proxyMode === 'cilium' ? inCiliumNode(lab, index, argv) : ['ip', 'netns', 'exec', labNames(lab).nodeNetns(index), ...argv];

export function parseServiceRef(ref: string): { namespace: string; name: string } {
  const match = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z]([-a-z0-9]*[a-z0-9])?)$/.exec(ref);
  if (!match) {
    throw badInput(`'${ref}' is not <namespace>/<name> of a Service`, {
      where: 'kth inspect service',
      hint: 'name the Service with its namespace, e.g. kth inspect service default/web --lab kth',
    });
  }
  return { namespace: match[1] as string, name: match[3] as string };
}

interface Target {
  kubeconfig: string;
  lab?: { name: string; spec: LabSpec };
  /** How a person reaches the same cluster with kubectl. */
  kubectl: string;
}

async function resolveTarget(options: InspectOptions): Promise<Target> {
  if (options.lab && options.kubeconfig) throw badInput('give --lab or --kubeconfig, not both', { where: '--lab / --kubeconfig' });
  if (options.lab) {
    const name = validateLabName(options.lab);
    const spec = await readSpec(name);
    const kubeconfig = labLayout(name).kubeconfig;
    if (!spec || !existsSync(kubeconfig)) {
      throw badInput(`there is no lab named '${name}'`, { where: '--lab', hint: `list labs with 'kth lab status'; make one with 'kth lab up --name ${name}'` });
    }
    return { kubeconfig, lab: { name, spec }, kubectl: `kubectl --kubeconfig ${kubeconfig}` };
  }
  const kubeconfig = kubeconfigPathOf(options.kubeconfig);
  if (!existsSync(kubeconfig)) {
    throw badInput(`kubeconfig ${kubeconfig} does not exist`, {
      where: options.kubeconfig ? '--kubeconfig' : 'KUBECONFIG / ~/.kube/config',
      hint: "say which cluster: --lab NAME for a lab made by 'kth lab up' (see 'kth lab status'), or --kubeconfig PATH",
    });
  }
  return { kubeconfig, kubectl: options.kubeconfig ? `kubectl --kubeconfig ${kubeconfig}` : 'kubectl' };
}

/** The HTTP status of a failed API call (client-node's ApiException), or undefined for a transport failure. */
function apiStatus(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * One API call, bounded in time. A transport failure (refused, timed out, TLS) is an environment
 * error naming the server; an HTTP error is returned to the caller to judge (404 is often the answer).
 */
async function api<T>(cluster: Cluster, what: string, timeoutMs: number, call: () => Promise<T>, lab?: string): Promise<T> {
  const server = cluster.kubeconfig.getCurrentCluster()?.server ?? 'the API server';
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${Math.round(timeoutMs / 1000)}s`), { timedOut: true })), timeoutMs);
  });
  try {
    return await Promise.race([call(), timeout]);
  } catch (error) {
    if (apiStatus(error) !== undefined) throw error;
    // node-fetch says "request to <url> failed, reason: connect ECONNREFUSED …": the reason is the news.
    const reason = /reason: (.*)$/.exec((error as Error).message)?.[1] ?? (error as Error).message;
    throw environmentError(`cannot reach the Kubernetes API at ${server} (${what}): ${reason}`, {
      hint: lab ? `is lab ${lab} running? check with 'kth lab status'` : 'check that the cluster is up and the kubeconfig points at it (kubectl cluster-info)',
    });
  } finally {
    clearTimeout(timer);
  }
}

export async function gatherInspection(options: InspectOptions): Promise<ServiceInspection> {
  const { namespace, name } = parseServiceRef(options.service);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const target = await resolveTarget(options);
  let cluster: Cluster;
  try {
    cluster = connect(target.kubeconfig, options.context);
  } catch (error) {
    throw badInput(`cannot load kubeconfig ${target.kubeconfig}: ${(error as Error).message}`, { where: options.context ? '--context' : options.kubeconfig ? '--kubeconfig' : target.kubeconfig });
  }
  const labName = target.lab?.name;
  const call = <T>(what: string, fn: () => Promise<T>) => api(cluster, what, timeoutMs, fn, labName);

  let service: V1Service;
  try {
    service = await call(`read service ${namespace}/${name}`, () => cluster.core.readNamespacedService({ name, namespace }));
  } catch (error) {
    if (apiStatus(error) !== 404) throw asHarnessError(error, `read service ${namespace}/${name}`);
    throw await missingService(cluster, call, namespace, name, target);
  }

  const selector = service.spec?.selector;
  const labelSelector = selector ? Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',') : undefined;
  const [endpointSlices, selectedPods, nodes, proxy] = await Promise.all([
    call('list EndpointSlices', () => endpointSlicesOf(cluster, namespace, name)),
    labelSelector ? call('list pods', () => podsOf(cluster, namespace, labelSelector)) : Promise.resolve([] as V1Pod[]),
    call('list nodes', async () => (await cluster.core.listNode()).items),
    target.lab ? Promise.resolve(labProxySource(target.lab.name, target.lab.spec)) : clusterProxySource(cluster, call),
  ]).catch((error: unknown) => {
    throw asHarnessError(error, 'read the Service’s objects');
  });

  // Pods the slices name but the selector does not find (a selector-less Service, a pod relabelled).
  const pods = [...selectedPods];
  for (const podName of new Set(endpointSlices.flatMap((s) => (s.endpoints ?? []).map((e) => (e.targetRef?.kind === 'Pod' ? e.targetRef.name : undefined))))) {
    if (!podName || pods.some((p) => p.metadata?.name === podName)) continue;
    try {
      pods.push(await call(`read pod ${podName}`, () => cluster.core.readNamespacedPod({ name: podName, namespace })));
    } catch (error) {
      if (apiStatus(error) !== 404) throw asHarnessError(error, `read pod ${namespace}/${podName}`);
    }
  }

  const lab = target.lab;
  const wantsHealth = Boolean(lab && service.spec?.externalTrafficPolicy === 'Local' && service.spec.healthCheckNodePort && (service.spec.type === 'LoadBalancer' || service.spec.type === 'NodePort'));
  const nodeAddresses = nodes.map((n) => ({ name: n.metadata?.name ?? '', ip: n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address }));
  const [rules, health, loadBalancerNodes] = lab
    ? await Promise.all([
        readLabRules(lab.name, lab.spec, timeoutMs, options.nodeCommand),
        wantsHealth ? probeHealth(lab.name, lab.spec, nodeAddresses, service.spec?.healthCheckNodePort as number, timeoutMs) : Promise.resolve(undefined),
        service.spec?.type === 'LoadBalancer' ? loadBalancerView(lab.name, `${namespace}/${name}`) : Promise.resolve(undefined),
      ])
    : [undefined, undefined, undefined];

  const ingresses = await ingressLayer(cluster, call, namespace, name);
  return inspectService({
    service,
    ...(ingresses.length > 0 ? { ingresses } : {}),
    endpointSlices,
    pods,
    nodes,
    proxy,
    ...(rules ? { rules } : {}),
    ...(health ? { health } : {}),
    ...(loadBalancerNodes ? { loadBalancerNodes } : {}),
    ...(lab ? { lab: lab.name } : {}),
  });
}

/**
 * The Ingresses in the Service's namespace that route to it, and for the harness's controllers
 * their Service and pods. A cluster without the Ingress API (or without the right to list it)
 * shows no Ingress layer rather than failing the inspection.
 */
async function ingressLayer(cluster: Cluster, call: <T>(what: string, fn: () => Promise<T>) => Promise<T>, namespace: string, name: string): Promise<IngressPathView[]> {
  const networking = cluster.kubeconfig.makeApiClient(NetworkingV1Api);
  const listed = await call('list Ingresses', () => networking.listNamespacedIngress({ namespace })).catch(() => undefined);
  const views: IngressPathView[] = [];
  for (const { ingress, routes } of ingressesTo(name, listed?.items ?? [])) {
    const className = ingressClassName(ingress);
    const controllerName = controllerOfClass(className);
    const base = { ingress: ingress.metadata?.name ?? '', ...(className ? { className } : {}), routes };
    if (!controllerName) {
      views.push({ ...base, note: `the controller of class ${className ?? '(none)'} is not one the harness deployed: its pods are not followed` });
      continue;
    }
    const controller = await call(`read service ${namespace}/${controllerName}`, () => cluster.core.readNamespacedService({ name: controllerName, namespace })).catch(() => undefined);
    const selector = controller?.spec?.selector;
    if (!controller || !selector) {
      views.push({ ...base, note: `the controller's Service ${namespace}/${controllerName} is missing` });
      continue;
    }
    const pods = await call('list controller pods', () => podsOf(cluster, namespace, Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',')));
    views.push({ ...base, controller: controllerView(controller, pods) });
  }
  return views;
}

function asHarnessError(error: unknown, what: string): Error {
  if (error instanceof HarnessError) return error;
  const status = apiStatus(error);
  const body = (error as { body?: unknown }).body;
  const message = typeof body === 'string' ? (safeJson(body)?.message ?? body) : (error as Error).message;
  return environmentError(`${what}: the API server answered ${status ?? 'with an error'}: ${String(message).split('\n')[0]}`, { cause: error });
}

function safeJson(text: string): { message?: string } | undefined {
  try {
    return JSON.parse(text) as { message?: string };
  } catch {
    return undefined;
  }
}

/** A missing Service is bad input: say so, and list what the namespace does have. */
async function missingService(
  cluster: Cluster,
  call: <T>(what: string, fn: () => Promise<T>) => Promise<T>,
  namespace: string,
  name: string,
  target: Target,
): Promise<HarnessError> {
  const existing = await call(`list services in ${namespace}`, async () => (await cluster.core.listNamespacedService({ namespace })).items).catch(() => undefined);
  const names = (existing ?? []).map((s) => `${s.metadata?.name} (${s.spec?.type ?? 'ClusterIP'})`).sort();
  const listed = existing === undefined
    ? `list them with: ${target.kubectl} get svc -n ${namespace}`
    : names.length > 0
      ? `Services in namespace ${namespace}: ${names.join(', ')} (${target.kubectl} get svc -n ${namespace})`
      : `namespace ${namespace} has no Services (${target.kubectl} get svc -A lists every namespace's)`;
  return badInput(`service ${namespace}/${name} not found${target.lab ? ` in lab ${target.lab.name}` : ''}`, { where: 'kth inspect service', hint: listed });
}

function labProxySource(lab: string, spec: LabSpec): ProxySource {
  const source = `lab ${lab} (${labLayout(lab).spec})`;
  if (spec.proxyMode === 'ipvs') {
    return { mode: 'ipvs', source, note: `kube-proxy in ipvs mode: each node's IPVS table holds a virtual server per Service address (scheduler ${ipvsOptionsOf(spec).scheduler}), read with ipvsadm -Ln in the node's namespace` };
  }
  if (spec.proxyMode === 'cilium') {
    const options = spec.cilium ?? defaultCiliumOptions;
    return {
      mode: 'cilium',
      source,
      note: `Cilium replaces kube-proxy: each node's cilium-agent writes the Service's frontends and backends into BPF maps (load balancing ${options.lbAlgorithm}, socket LB ${options.socketLb}, NodePort ${options.nodePortMode}); read with cilium-dbg bpf lb list and service list in the node's sandbox`,
    };
  }
  return { mode: spec.proxyMode, source };
}

async function clusterProxySource(cluster: Cluster, call: <T>(what: string, fn: () => Promise<T>) => Promise<T>): Promise<ProxySource> {
  return clusterProxyMode(async (name) => {
    try {
      return await call(`read ConfigMap kube-system/${name}`, () => cluster.core.readNamespacedConfigMap({ name, namespace: 'kube-system' }));
    } catch (error) {
      // 404: not there; 403: not allowed to read it. Either way that ConfigMap says nothing.
      if (apiStatus(error) === undefined) throw error;
      return undefined;
    }
  });
}

/**
 * The argv that runs `cilium-dbg <args…>` on lab node `index` (1-based): in the node's network
 * namespace and its sandbox (node-sandbox.sh: the mount namespace with the agent's /run/cilium and
 * bpffs, the node's cgroup), where cilium-dbg finds the agent's socket and the pinned BPF maps.
 */
export function ciliumNodeCommand(lab: string, index: number, args: readonly string[]): string[] {
  return inCiliumNode(lab, index, [requireBinary('cilium-dbg'), ...args]);
}

/** A stuck agent must not hold the whole inspection: its table is asked for with this bound. */
const CILIUM_AGENT_TIMEOUT_MS = 5_000;

/**
 * One node's Cilium service state: the BPF maps (read from the pins, so a stuck agent does not
 * stop it) and the agent's own table (backend states, weights); the maps alone are an answer.
 */
async function readCiliumNode(lab: string, spec: LabSpec, index: number, timeoutMs: number, nodeCommand: NodeCommand): Promise<NodeRulesText> {
  const node = labNames(lab).nodeName(index);
  const netns = labNames(lab).nodeNetns(index);
  const dbg = async (args: string[], bound: number) => run(await nodeCommand(lab, spec, index, [requireBinary('cilium-dbg'), ...args]), { nothrow: true, timeoutMs: bound, purpose: `read Cilium's service state on ${node}` });
  const agentBound = Math.min(timeoutMs, CILIUM_AGENT_TIMEOUT_MS);
  const [lb, frontends, services] = await Promise.all([
    dbg(['bpf', 'lb', 'list', '-o', 'json'], timeoutMs),
    dbg(['bpf', 'lb', 'list', '--frontends', '-o', 'json'], timeoutMs),
    dbg(['service', 'list', '-o', 'json'], agentBound),
  ]);
  const failure = (what: string, r: typeof lb, bound: number) =>
    `${what} in ${netns} ${r.exitCode === -1 && r.durationMs >= bound - 100 ? `gave no answer within ${bound / 1000}s` : `exited ${r.exitCode}: ${r.stderr.trim().split('\n').pop() ?? ''}`}`;
  if (lb.exitCode !== 0) return { node, netns, mode: 'cilium', error: failure('cilium-dbg bpf lb list', lb, timeoutMs) };
  return {
    node,
    netns,
    mode: 'cilium',
    lbAlgorithm: (spec.cilium ?? defaultCiliumOptions).lbAlgorithm,
    bpfLb: lb.stdout,
    ...(frontends.exitCode === 0 ? { bpfLbFrontends: frontends.stdout } : {}),
    ...(services.exitCode === 0
      ? { ciliumServices: services.stdout }
      : { agentError: `${failure('cilium-dbg service list', services, agentBound)} (is cilium-agent on ${node} stuck?)` }),
  };
}

/** Each node's data plane: kube-proxy's rules or IPVS table, read inside the node's network namespace, or Cilium's service maps. */
export async function readLabRules(lab: string, spec: LabSpec, timeoutMs: number, nodeCommand: NodeCommand = hostNodeCommand): Promise<NodeRulesText[]> {
  const names = labNames(lab);
  const nodes = Array.from({ length: spec.nodes }, (_, i) => ({ index: i + 1, node: names.nodeName(i + 1), netns: names.nodeNetns(i + 1) }));
  if (spec.proxyMode === 'cilium') return Promise.all(nodes.map(({ index }) => readCiliumNode(lab, spec, index, timeoutMs, nodeCommand)));
  return Promise.all(nodes.map(async ({ index, node, netns }): Promise<NodeRulesText> => {
    // On the kernel the nodes live on: the host's, or the lab's guest.
    const inNode = async (argv: string[]) => labRunner(spec)(await nodeCommand(lab, spec, index, argv), { nothrow: true, timeoutMs, purpose: `read kube-proxy rules of ${node}` });
    if (spec.proxyMode === 'ipvs') {
      const ipvs = await inNode(['ipvsadm', '-Ln']);
      if (ipvs.exitCode !== 0) return { node, netns, mode: 'ipvs', error: `ipvsadm -Ln in ${netns} exited ${ipvs.exitCode}: ${ipvs.stderr.trim().split('\n').pop() ?? ''}` };
      return { node, netns, mode: 'ipvs', ipvs: ipvs.stdout };
    }
    if (spec.proxyMode === 'iptables') {
      const [nat, filter] = await Promise.all([inNode(['iptables-save', '-t', 'nat']), inNode(['iptables-save', '-t', 'filter'])]);
      if (nat.exitCode !== 0) return { node, netns, mode: 'iptables', error: `iptables-save -t nat in ${netns} exited ${nat.exitCode}: ${nat.stderr.trim().split('\n').pop() ?? ''}` };
      return { node, netns, mode: 'iptables', nat: nat.stdout, ...(filter.exitCode === 0 ? { filter: filter.stdout } : {}) };
    }
    const nft = await inNode(['nft', 'list', 'table', 'ip', 'kube-proxy']);
    if (nft.exitCode !== 0) return { node, netns, mode: 'nftables', error: `nft list table ip kube-proxy in ${netns} exited ${nft.exitCode}: ${nft.stderr.trim().split('\n').pop() ?? ''}` };
    return { node, netns, mode: 'nftables', nft: nft.stdout };
  }));
}

/** GET /healthz on each node's healthCheckNodePort, from the lab load balancer's namespace. */
async function probeHealth(lab: string, spec: LabSpec, nodes: { name: string; ip?: string | undefined }[], port: number, timeoutMs: number): Promise<HealthObservation[]> {
  const targets = nodes.filter((n): n is { name: string; ip: string } => Boolean(n.ip));
  if (targets.length === 0) return [];
  const result = await labRunner(spec)(['ip', 'netns', 'exec', labNames(lab).netns('lb'), process.execPath, ...LEAN_NODE_FLAGS, join(repoRoot, 'harness/inspect/health-probe.mjs'), ...targets.map((n) => `${n.ip}:${port}`)], {
    nothrow: true,
    timeoutMs,
  });
  if (result.exitCode !== 0) return targets.map((n) => ({ node: n.name, error: `probe failed (exit ${result.exitCode}): ${result.stderr.trim().split('\n').pop() ?? ''}` }));
  const answers = JSON.parse(result.stdout) as { target: string; status?: number; localEndpoints?: number; error?: string }[];
  return targets.map((n) => {
    const answer = answers.find((a) => a.target === `${n.ip}:${port}`);
    return {
      node: n.name,
      ...(answer?.status !== undefined ? { status: answer.status } : {}),
      ...(answer?.localEndpoints !== undefined ? { localEndpoints: answer.localEndpoints } : {}),
      ...(answer?.error ? { error: answer.error } : {}),
    };
  });
}

/** The lab load balancer's own view: which nodes it sends the Service's new connections to. */
async function loadBalancerView(lab: string, service: string): Promise<{ node: string; receives: boolean; detail: string }[] | undefined> {
  try {
    const status = JSON.parse(await readFile(labLayout(lab).config('load-balancer.status.json'), 'utf8')) as LoadBalancerStatus;
    return status.services.find((s) => s.service === service)?.nodes.map((n) => ({ node: n.name, receives: n.receives, detail: n.detail }));
  } catch {
    return undefined;
  }
}
