import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { harnessVersion } from '../../core/version.ts';
import { binaryPath, isExecutable } from '../../setup/binaries.ts';
import type { BinaryName } from '../../setup/versions.ts';
import { goServerBinary } from '../../workloads/runtime.ts';
import { inCidr } from '../addressing.ts';
import { CrashLoopBackoff } from './backoff.ts';
import type { AgentConfig } from './config.ts';
import { resolveNetnsMountControl } from './host-mount-ns.ts';
import { agentClients, EventRecorder, KubePodSink, watchObjects } from './kube.ts';
import type { ExecTarget } from './exec-stream.ts';
import { type KubeletServer, startKubeletServer } from './kubelet-server.ts';
import { hostFacts, NodeHeartbeat } from './node-status.ts';
import type { CniPluginConfig } from './pod-attach.ts';
import type { NodeNetContext } from './pod-network.ts';
import { PodCidrRoutes } from './routes.ts';
import { PodRuntime } from './runtime.ts';
import { upstreamImages } from './upstream-images.ts';

export type { AgentConfig } from './config.ts';

/** The Go sample server the `-go` images run, when setup has built it. */
function builtGoServer(): { goServerPath?: string } {
  const path = goServerBinary();
  return existsSync(path) ? { goServerPath: path } : {};
}

/** The upstream programs setup built that upstream images map to (upstream-images.ts). */
function builtUpstreamBinaries(): { upstreamBinaries: Partial<Record<BinaryName, string>> } {
  const found: Partial<Record<BinaryName, string>> = {};
  for (const { binary } of upstreamImages) {
    const path = binaryPath(binary);
    if (isExecutable(path)) found[binary] = path;
  }
  return { upstreamBinaries: found };
}

/** An agent running from the bundled CLI (in a guest) starts harness images from the same bundle. */
function bundledEntry(): { kthEntry?: string } {
  const entry = process.argv[1];
  return entry && /\/harness\/\.bundle\/kth-[0-9a-f]+\.mjs$/.test(entry) ? { kthEntry: entry } : {};
}

/**
 * The lab node agent: the kubelet and container runtime of one lab node, running inside the
 * node's network namespace. It registers the Node and keeps it Ready (status + Lease), routes the
 * other nodes' pod CIDRs, waits for its own podCIDR, then runs every pod bound to the node as
 * processes in pod network namespaces (see pod-worker.ts).
 *
 * Returns when `signal` aborts (SIGTERM): watches stop and pods keep running, as they do when a
 * kubelet restarts; the next agent adopts them. The lab's teardown kills pods by their KTH_LAB
 * marker.
 */
export async function runAgent(config: AgentConfig, signal: AbortSignal): Promise<void> {
  const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${config.nodeName}: ${line}\n`);
  await mkdir(config.stateDir, { recursive: true });
  const clients = agentClients(config.kubeconfigPath);
  const facts = hostFacts(config.stateDir);
  const mounts = resolveNetnsMountControl(config.hostMountNamespace);
  log(`starting (${mounts.describe})`);
  const net: NodeNetContext = { netnsCommandPrefix: mounts.prefix };
  const stops: (() => void)[] = [];
  let runtime: PodRuntime | undefined;
  let kubeletApi: KubeletServer | undefined;
  const heartbeat = new NodeHeartbeat(clients, config, facts, log, signal);
  try {
    await heartbeat.register();
    if (signal.aborted) return;
    heartbeat.start();

    // Nodes: routes to the others' pod CIDRs (unless a CNI plugin routes them); our own podCIDR (node IPAM assigns it).
    const routes = config.cni ? undefined : new PodCidrRoutes(net, config.uplinkInterface, log);
    let ownCidr: string | undefined;
    let cidrKnown!: (cidr: string) => void;
    const podCidr = new Promise<string>((resolve) => {
      cidrKnown = resolve;
    });
    const nodes = watchObjects<V1Node>({
      kubeconfig: clients.kubeconfig,
      path: '/api/v1/nodes',
      list: () => clients.core.listNode(),
      signal,
      log,
      name: 'nodes',
    });
    stops.push(nodes.stop);
    // Routes follow the full node list only: syncing on each 'add' of the first list would
    // remove (then re-add) routes an earlier agent left, cutting cross-node traffic meanwhile.
    let nodesListed = false;
    const syncRoutes = () => {
      if (nodesListed) void routes?.sync(nodes.cache.list(), config.nodeName);
    };
    const onNode = (node: V1Node) => {
      if (node.metadata?.name === config.nodeName && node.spec?.podCIDR && !ownCidr) {
        ownCidr = node.spec.podCIDR;
        cidrKnown(ownCidr);
      }
      syncRoutes();
    };
    nodes.cache.on('add', onNode);
    nodes.cache.on('update', onNode);
    nodes.cache.on('delete', syncRoutes);
    void nodes.synced.then(() => {
      nodesListed = true;
      syncRoutes();
    });

    const cidr = await untilAborted(podCidr, signal);
    if (cidr === undefined) return;
    if (!inCidr(cidr.split('/')[0] as string, config.clusterCidr)) log(`warning: podCIDR ${cidr} is outside the cluster CIDR ${config.clusterCidr}`);
    if ((await untilAborted(nodes.synced, signal)) === undefined && signal.aborted) return;
    await routes?.sync(nodes.cache.list(), config.nodeName);
    let cni: CniPluginConfig | undefined;
    if (config.cni) {
      // As a kubelet: the network is ready when the plugin's daemon has written its config.
      heartbeat.setNetwork({ ready: false, message: `cni config uninitialized (waiting for ${config.cni.confFile})` });
      log(`waiting for the CNI config ${config.cni.confFile}`);
      const conf = await untilAborted(waitForCniConf(config.cni.confFile, signal), signal);
      if (conf === undefined) return;
      cni = { plugin: join(config.cni.binDir, String(conf.type)), netConf: conf };
      log(`CNI plugin ${cni.plugin} (network ${String(conf.name)})`);
    }
    heartbeat.setNetwork({ ready: true, message: '' });
    log(`podCIDR ${cidr}; node Ready`);

    // Pods bound to this node.
    const sink = new KubePodSink(clients.core, new EventRecorder(clients.core, config.nodeName, log));
    runtime = await PodRuntime.create(
      {
        nodeName: config.nodeName,
        nodeIp: config.nodeIp,
        labName: config.labName,
        stateDir: config.stateDir,
        podNetnsPrefix: config.podNetnsPrefix,
        image: { repoRoot: config.repoRoot, nodeExecPath: process.execPath, ...bundledEntry(), ...builtGoServer(), ...builtUpstreamBinaries(), harnessVersion: harnessVersion() },
        probeTimeoutScale: config.probeTimeoutScale,
        net,
        backoff: new CrashLoopBackoff({ baseMs: config.crashLoopBackoffBaseMs, maxMs: config.crashLoopBackoffMaxMs }),
        sink,
        baseEnv: { PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: process.env.HOME ?? '/root' },
        nodeAllocatable: { cpu: facts.cpu, memory: facts.memoryBytes },
        log,
        ...(cni ? { cni } : {}),
        ...(config.clusterDns ? { clusterDns: config.clusterDns } : {}),
      },
      cidr,
    );
    const pods = runtime;
    const fieldSelector = `spec.nodeName=${config.nodeName}`;
    const podWatch = watchObjects<V1Pod>({
      kubeconfig: clients.kubeconfig,
      path: '/api/v1/pods',
      fieldSelector,
      list: () => clients.core.listPodForAllNamespaces({ fieldSelector }),
      signal,
      log,
      name: 'pods',
      onAdd: (pod) => pods.upsert(pod),
      onUpdate: (pod) => pods.upsert(pod),
      onDelete: (pod) => pods.remove(pod),
    });
    stops.push(podWatch.stop);
    const execTarget = (pod: V1Pod, container: string) => runtime?.worker(pod.metadata?.uid ?? '')?.execTarget(container) ?? `pod ${pod.metadata?.name ?? ''} is not running on this node`;
    kubeletApi = await serveKubeletApi(config, (namespace, name) => podWatch.cache.get(name, namespace), execTarget, log);
    if ((await untilAborted(podWatch.synced, signal)) === undefined && signal.aborted) return;
    await pods.collectOrphans();
    log(`running ${pods.size} pods`);
    await untilAborted(new Promise<never>(() => {}), signal);
  } finally {
    for (const stop of stops) stop();
    await kubeletApi?.close();
    await runtime?.detach();
    await heartbeat.stopped();
    mounts.close();
    log('stopped (pods left running)');
  }
}

/**
 * The kubelet API (pods/log) on the node's IP, when the lab configured it. A failure to listen is
 * logged, not fatal: pods matter more than their logs through the API.
 */
async function serveKubeletApi(
  config: AgentConfig,
  pod: (namespace: string, name: string) => V1Pod | undefined,
  execTarget: (pod: V1Pod, container: string) => ExecTarget | string,
  log: (line: string) => void,
): Promise<KubeletServer | undefined> {
  const tls = config.kubeletServer;
  if (!tls) return undefined;
  try {
    const server = await startKubeletServer({ host: config.nodeIp, ...tls, stateDir: config.stateDir, pod, execTarget, log });
    log(`kubelet API (containerLogs, exec) on https://${config.nodeIp}:${server.port}`);
    return server;
  } catch (error) {
    log(`kubelet API not served: ${(error as Error).message}`);
    return undefined;
  }
}

/**
 * Reads a CNI network config once it exists: a single plugin's config, or a conflist whose first
 * plugin is the one to run (given the list's name and cniVersion, as runtimes pass them).
 */
async function waitForCniConf(path: string, signal: AbortSignal): Promise<Record<string, unknown>> {
  while (!signal.aborted) {
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text) {
      const parsed = JSON.parse(text) as Record<string, unknown> & { plugins?: Record<string, unknown>[] };
      const first = parsed.plugins?.[0];
      return first ? { cniVersion: parsed.cniVersion, name: parsed.name, ...first } : parsed;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {};
}

/** The promise's value, or undefined as soon as the signal aborts. */
async function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return undefined;
  let onAbort!: () => void;
  const aborted = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([promise, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
