import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { CoreV1Api } from '@kubernetes/client-node';
import { lastLines, run } from '../core/exec.ts';
import { hostLink, labNetwork } from './addressing.ts';
import { type ComponentSpec, controlPlaneComponents, nodeAgentComponent } from './components.ts';
import { dataplaneFor } from './dataplane/index.ts';
import { GuestProcess, guestSpawn } from './guest/client.ts';
import { guestBootFiles } from './guest/kernel.ts';
import { guestAddress, guestComponents, labEnvironment, startupScale } from './guest/lab-guest.ts';
import { GiveUp, probe, waitFor } from './health.ts';
import { type LabLayout, labLayout } from './layout.ts';
import { LAB_MARKER_ENV, labNames } from './names.ts';
import { createPki, writeKubeconfig } from './pki.ts';
import { type LabSpec, labSpecSchema, type LabStatus } from './spec.ts';

/**
 * The lab supervisor: one process per lab, running inside the control-plane namespace. It starts
 * every component in dependency order, waits until each is healthy, restarts any that dies, and
 * on SIGTERM stops them in reverse order. It reports progress through status.json, which
 * `lab up` follows.
 */
interface Running {
  spec: ComponentSpec;
  child: ChildProcess | GuestProcess;
  restarts: number;
  stopping: boolean;
}

const STARTUP_TIMEOUT_MS = 90_000;
/** Exits before a component first turns healthy that make the lab's start fail. */
const STARTUP_CRASHES = 3;

export async function runSupervisor(labName: string): Promise<void> {
  const layout = labLayout(labName);
  const spec = labSpecSchema.parse(JSON.parse(await readFile(layout.spec, 'utf8')));
  const started = performance.now();
  const status: LabStatus = { phase: 'starting', step: 'certificates', supervisorPid: process.pid, updatedAt: new Date().toISOString(), timings: {} };
  const report = async (patch: Partial<LabStatus>) => {
    Object.assign(status, patch, { updatedAt: new Date().toISOString() });
    await writeFile(layout.status, JSON.stringify(status, null, 2));
  };
  const mark = (milestone: string) => {
    status.timings[milestone] = Number(((performance.now() - started) / 1000).toFixed(3));
  };
  const running = new Map<string, Running>();
  let shuttingDown = false;

  const shutdown = async () => {
    if (shuttingDown) return;
    shuttingDown = true;
    await report({ phase: 'stopping', step: 'stopping components' }).catch(() => {});
    await stopAll(running);
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());

  try {
    await report({});
    await mkdir(layout.logs, { recursive: true });
    await mkdir(layout.pids, { recursive: true });
    await mkdir(layout.config('.'), { recursive: true });
    const link = hostLink(spec.slot);
    const pki = await createPki(layout.pki, spec.name, [labNetwork.controlPlaneIp, link.controlPlaneIp, labNetwork.kubernetesServiceIp, '127.0.0.1',
      'localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local']);
    await writeKubeconfig(layout.kubeconfig, pki, `https://${link.controlPlaneIp}:${labNetwork.apiServerPort}`, `kth-${spec.name}`);
    await writeKubeconfig(layout.internalKubeconfig, pki, `https://${labNetwork.controlPlaneIp}:${labNetwork.apiServerPort}`, `kth-${spec.name}`);
    mark('certificates');

    const dataplane = dataplaneFor(spec.proxyMode);
    const components = [...controlPlaneComponents(spec, layout, pki), ...dataplane.clusterComponents(spec, layout)];
    for (let i = 1; i <= spec.nodes; i += 1) {
      const node = await dataplane.node(spec, layout, i);
      components.push(await nodeAgentComponent(spec, layout, i, node), ...node.components);
    }
    // A guest-kernel lab: every node-side component starts in the guest once its network exists,
    // with start-up bounds scaled to the guest's speed.
    const scale = startupScale(spec);
    if (spec.guest) {
      for (const component of components) {
        if (component.netns === null) continue;
        component.after = [...component.after, 'guest-network'];
        component.startupTimeoutMs = (component.startupTimeoutMs ?? STARTUP_TIMEOUT_MS) * scale;
      }
      components.unshift(...guestComponents(spec, layout, (await guestBootFiles())));
    }
    const healthy = new Set<string>();
    const startWhenReady = async (component: ComponentSpec): Promise<void> => {
      await waitFor(`${component.name}'s dependencies`, STARTUP_TIMEOUT_MS * scale, async () =>
        component.after.every((dep) => healthy.has(dep)) ? true : `waiting for ${component.after.filter((d) => !healthy.has(d)).join(', ')}`, 50);
      await report({ step: `starting ${component.name}` });
      if (component.task) {
        await waitFor(component.name, component.startupTimeoutMs ?? STARTUP_TIMEOUT_MS, async () => {
          await component.task?.();
          return true;
        }, 1000);
        healthy.add(component.name);
        mark(component.name);
        return;
      }
      start(component, layout, spec, running, () => shuttingDown);
      if (component.health) {
        const health = component.health;
        await waitFor(component.name, component.startupTimeoutMs ?? STARTUP_TIMEOUT_MS, async () => {
          const state = running.get(component.name);
          // A component that keeps dying before it is healthy will not become healthy: fail now,
          // with its log, rather than after the start-up timeout.
          const exits = state ? state.restarts + (state.child.exitCode !== null || state.child.signalCode !== null ? 1 : 0) : 0;
          if (state && exits >= STARTUP_CRASHES) throw new GiveUp(`exited ${exits} times while starting (last exit code ${state.child.exitCode ?? state.child.signalCode})`);
          if ('registersNode' in health) return nodeRegistered(layout, health.registersNode);
          if ('exec' in health) return execHealthy(health.exec);
          if ('probe' in health) return health.probe();
          const tls = health.clientCert ? { ca: pki.caCert, cert: pki.adminCert, key: pki.adminKey } : undefined;
          const result = await probe(health.url, tls);
          return 'status' in result && result.status >= 200 && result.status < 300 ? true : 'status' in result ? `HTTP ${result.status} ${result.body.slice(0, 200)}` : result.error;
        }, 'registersNode' in health ? 100 : 'exec' in health ? 1000 : 'probe' in health ? 500 : 50);
      }
      healthy.add(component.name);
      mark(component.name);
    };
    await Promise.all(components.map((component) =>
      startWhenReady(component).catch((error: Error) => {
        status.step = `starting ${component.name}`;
        throw new Error(`${component.name} failed to start: ${error.message}\n--- last lines of ${layout.log(component.name)} ---\n${logTail(layout, component.name)}`);
      })));

    await report({ step: 'waiting for nodes Ready' });
    await waitForNodesReady(layout, spec, STARTUP_TIMEOUT_MS * scale);
    await routeControlPlaneToPods(layout);
    mark('nodesReady');
    await report({ phase: 'ready', step: 'ready' });
  } catch (error) {
    await report({ phase: 'failed', step: status.step, error: (error as Error).message }).catch(() => {});
    await stopAll(running);
    process.exit(1);
  }
}

function start(component: ComponentSpec, layout: LabLayout, spec: LabSpec, running: Map<string, Running>, stopping: () => boolean): void {
  const argv = component.netns ? ['ip', 'netns', 'exec', component.netns, ...component.argv] : component.argv;
  let child: ChildProcess | GuestProcess;
  if (spec.guest && component.netns !== null) {
    // In the guest, through its daemon: the log file is on the shared state directory.
    child = guestSpawn(guestAddress(spec, 10_000), { argv, env: { ...labEnvironment(), ...component.env, [LAB_MARKER_ENV]: spec.name }, cwd: spec.repoRoot, logFile: layout.log(component.name) });
  } else {
    const log = openSync(layout.log(component.name), 'a');
    child = spawn(argv[0] as string, argv.slice(1), {
      stdio: ['ignore', log, log],
      env: { ...process.env, ...component.env, [LAB_MARKER_ENV]: spec.name },
      cwd: spec.repoRoot,
    });
    closeSync(log);
  }
  const previous = running.get(component.name);
  const state: Running = { spec: component, child, restarts: previous ? previous.restarts + 1 : 0, stopping: false };
  running.set(component.name, state);
  // A guest process's pid is the guest's: recorded with a prefix so nothing on the host signals it.
  const recordPid = () => child.pid && void writeFile(layout.pid(component.name), `${child instanceof GuestProcess ? 'guest:' : ''}${child.pid}\n`);
  if (child.pid) recordPid();
  else child.once('spawn', recordPid);
  child.on('exit', (code, signal) => {
    if (state.stopping || stopping()) return;
    // A dead component is restarted with backoff, as a kubelet restarts a static pod.
    const delay = Math.min(1000 * 2 ** Math.min(state.restarts, 5), 30_000);
    process.stderr.write(`${new Date().toISOString()} ${component.name} exited (code ${code}, signal ${signal}); restart ${state.restarts + 1} in ${delay}ms\n`);
    setTimeout(() => {
      if (!stopping() && running.get(component.name) === state) start(component, layout, spec, running, stopping);
    }, delay);
  });
}

/** Stops node components first (node sandboxes last), then the control plane in reverse start order. */
async function stopAll(running: Map<string, Running>): Promise<void> {
  const order = [...running.values()].reverse();
  const node = order.filter((r) => r.spec.netns !== null);
  const waves = [node.filter((r) => !r.spec.stopLast), node.filter((r) => r.spec.stopLast), order.filter((r) => r.spec.netns === null)];
  for (const wave of waves) await Promise.all(wave.map((r) => stopOne(r)));
}

async function stopOne(state: Running, graceMs = 5000): Promise<void> {
  state.stopping = true;
  const { child } = state;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

// The Kubernetes client takes over a second to load: loading it only once a node check needs it
// lets the supervisor start etcd and the API server that much sooner.
let coreClient: Promise<CoreV1Api> | undefined;
function core(layout: LabLayout): Promise<CoreV1Api> {
  coreClient ??= import('@kubernetes/client-node').then(({ CoreV1Api: Api, KubeConfig }) => {
    const kc = new KubeConfig();
    kc.loadFromFile(layout.internalKubeconfig);
    return kc.makeApiClient(Api);
  });
  return coreClient;
}

async function nodeRegistered(layout: LabLayout, nodeName: string): Promise<true | string> {
  const node = await (await core(layout)).readNode({ name: nodeName }).catch(() => undefined);
  if (!node) return `Node ${nodeName} not registered yet`;
  return node.spec?.podCIDR ? true : `Node ${nodeName} has no podCIDR yet`;
}

async function waitForNodesReady(layout: LabLayout, spec: LabSpec, timeoutMs: number): Promise<void> {
  const api = await core(layout);
  const names = labNames(spec.name);
  const expected = Array.from({ length: spec.nodes }, (_, i) => names.nodeName(i + 1));
  await waitFor('nodes Ready', timeoutMs, async () => {
    const nodes = await api.listNode();
    // Ready as the scheduler sees it: the Ready condition, a podCIDR, and the node lifecycle
    // controller's not-ready/unreachable taints lifted (until then new pods would stay Pending).
    const notReady = expected.filter((name) => {
      const node = nodes.items.find((n) => n.metadata?.name === name);
      const tainted = (node?.spec?.taints ?? []).some((t) => t.key === 'node.kubernetes.io/not-ready' || t.key === 'node.kubernetes.io/unreachable');
      return !node?.spec?.podCIDR || node.status?.conditions?.find((c) => c.type === 'Ready')?.status !== 'True' || tainted;
    });
    return notReady.length === 0 ? true : `not Ready (no podCIDR, Ready condition, or a not-ready taint still set): ${notReady.join(', ')}`;
  }, 200);
}

/**
 * Routes from the control plane (this namespace) to every node's pod CIDR via that node, as a
 * control-plane node of a real cluster has them: pods reach the API server through the
 * `kubernetes` Service with their own address as the source (kube-proxy does not masquerade
 * in-cluster traffic), and the answers must find their way back. The lab's nodes and their
 * podCIDRs are fixed once they are Ready, so the routes are set once.
 */
async function routeControlPlaneToPods(layout: LabLayout): Promise<void> {
  for (const node of (await (await core(layout)).listNode()).items) {
    const cidr = node.spec?.podCIDR;
    const via = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    if (cidr && via) await run(['ip', 'route', 'replace', cidr, 'via', via], { purpose: `route the control plane to ${node.metadata?.name}'s pods` });
  }
}

/** A health command: healthy when it exits 0; otherwise its last output line is the reason. */
async function execHealthy(argv: readonly string[]): Promise<true | string> {
  const result = await run(argv, { nothrow: true, timeoutMs: 15_000 });
  if (result.exitCode === 0) return true;
  return `${argv.slice(-3).join(' ')}: exit ${result.exitCode} ${lastLines(`${result.stdout}\n${result.stderr}`.trim(), 1)}`;
}

function logTail(layout: LabLayout, component: string): string {
  try {
    return lastLines(readFileSync(layout.log(component), 'utf8'), 20);
  } catch {
    return '(no log)';
  }
}
