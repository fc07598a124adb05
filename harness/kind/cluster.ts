import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, stringify } from 'yaml';
import { environmentError } from '../core/errors.ts';
import { lastLines, run } from '../core/exec.ts';
import { stateRoot } from '../core/paths.ts';
import { harnessNetwork, removeHarnessNetworkIfUnused } from '../docker/network.ts';
import { startKindLoadBalancer, stopKindLoadBalancer, removeOutsidePathIfUnused } from './load-balancer.ts';
import { connect, type Cluster } from '../kube/cluster.ts';
import { excludeFromLoadBalancersLabel } from '../lab/load-balancer/model.ts';
import { isAlive } from '../lab/processes.ts';
import { binaryPath } from '../setup/binaries.ts';

/**
 * kind clusters the harness made. Each is named `kth-<mode>-<6 hex>` and recorded, before kind
 * starts, in `<state>/kind/<name>.json` with the creating process: only recorded clusters are ever
 * deleted (a cluster someone else made, even one named kth-…, is never touched), and a record
 * whose process died marks a crashed run's cluster for `kth cleanup` and the next start.
 */
export interface KindClusterRecord {
  name: string;
  pid: number;
  proxyMode: string;
  nodes: number;
  image: string;
  createdAt: string;
  /** Kept on purpose (--retain, kth kind up): never removed as an orphan. */
  retained: boolean;
}

export interface KindCluster {
  record: KindClusterRecord;
  kubeconfigPath: string;
  cluster: Cluster;
  /** The control plane's address on the harness network (the kubeconfig's server). */
  apiServer: string;
  /** Wall time of `kind create cluster` plus the wait for every node Ready, measured here. */
  createMs: number;
}

const kindDir = () => join(stateRoot(), 'kind');
const recordPath = (name: string) => join(kindDir(), `${name}.json`);
export const kubeconfigPathOf = (name: string): string => join(kindDir(), `${name}.kubeconfig`);
const configPathOf = (name: string) => join(kindDir(), `${name}.config.yaml`);

export const kindClusterName = (proxyMode: string, token = randomBytes(3).toString('hex')): string => `kth-${proxyMode}-${token}`;

/** kind on the harness's own Docker network, with this machine's kind binary. */
const kindEnv = { KIND_EXPERIMENTAL_DOCKER_NETWORK: harnessNetwork.name, KIND_EXPERIMENTAL_PROVIDER: 'docker' };
const nodeReadyTimeoutMs = 300_000;

export function readKindRecords(): KindClusterRecord[] {
  if (!existsSync(kindDir())) return [];
  return readdirSync(kindDir())
    .filter((file) => file.endsWith('.json') && !file.endsWith('.lb.json') && !file.endsWith('.lb-status.json'))
    .flatMap((file) => {
      try {
        return [JSON.parse(readFileSync(join(kindDir(), file), 'utf8')) as KindClusterRecord];
      } catch {
        return [];
      }
    });
}

export async function createKindCluster(options: {
  name: string;
  proxyMode: string;
  nodes: number;
  image: string;
  config: Record<string, unknown>;
  retained: boolean;
  log: (line: string) => void;
  /** Ctrl-C: kind stops creating (and removes what it made); the caller deletes the rest. */
  signal?: AbortSignal;
}): Promise<KindCluster> {
  const { name } = options;
  await mkdir(kindDir(), { recursive: true });
  const record: KindClusterRecord = { name, pid: process.pid, proxyMode: options.proxyMode, nodes: options.nodes, image: options.image, createdAt: new Date().toISOString(), retained: options.retained };
  await writeFile(recordPath(name), `${JSON.stringify(record, null, 2)}\n`);
  await writeFile(configPathOf(name), stringify(options.config));
  const started = performance.now();
  await runKind(['create', 'cluster', '--name', name, '--image', options.image, '--config', configPathOf(name), '--kubeconfig', kubeconfigPathOf(name)], options.log, `create kind cluster ${name}`, options.signal);
  const apiServer = await writeReachableKubeconfig(name);
  const cluster = connect(kubeconfigPathOf(name));
  if (options.nodes > 1) await controlPlaneRunsPods(cluster);
  await waitNodesReady(cluster, options.nodes, options.log);
  await startKindLoadBalancer(name, kubeconfigPathOf(name));
  return { record, kubeconfigPath: kubeconfigPathOf(name), cluster, apiServer, createMs: performance.now() - started };
}

/** Deletes a cluster the harness recorded: its load balancer, nodes and files, and the networks once nothing uses them. */
export async function deleteKindCluster(name: string, log: (line: string) => void): Promise<void> {
  await stopKindLoadBalancer(name);
  await runKind(['delete', 'cluster', '--name', name, '--kubeconfig', kubeconfigPathOf(name)], log, `delete kind cluster ${name}`);
  await Promise.all([recordPath(name), kubeconfigPathOf(name), configPathOf(name)].map((path) => rm(path, { force: true })));
  await removeOutsidePathIfUnused();
  await removeHarnessNetworkIfUnused();
}

/** Deletes the recorded clusters `which` picks; returns their names. */
export async function removeKindClusters(which: (record: KindClusterRecord) => boolean, log: (line: string) => void): Promise<string[]> {
  const picked = readKindRecords().filter(which);
  for (const record of picked) await deleteKindCluster(record.name, log);
  return picked.map((record) => record.name);
}

/** A cluster of a harness process that died without removing it (a --retain'ed one is kept on purpose). */
export const isOrphaned = (record: KindClusterRecord): boolean => !record.retained && record.pid !== process.pid && !isAlive(record.pid);

export const removeOrphanedKindClusters = (log: (line: string) => void): Promise<string[]> => removeKindClusters(isOrphaned, log);

export async function markRetained(name: string): Promise<void> {
  const record = readKindRecords().find((r) => r.name === name);
  if (record) await writeFile(recordPath(name), `${JSON.stringify({ ...record, retained: true }, null, 2)}\n`);
}

/**
 * kind writes a kubeconfig for 127.0.0.1 and a published port; the harness network is internal,
 * so the host reaches the API server at the control plane's own address instead (kubeadm puts it
 * in the serving certificate: it is the advertise address).
 */
async function writeReachableKubeconfig(name: string): Promise<string> {
  const internal = await run([binaryPath('kind'), 'get', 'kubeconfig', '--internal', '--name', name], { env: kindEnv, purpose: `read the kubeconfig of kind cluster ${name}` });
  const ip = await containerIp(`${name}-control-plane`);
  const apiServer = `https://${ip}:6443`;
  const config = parse(internal.stdout) as { clusters: { cluster: { server: string } }[] };
  for (const entry of config.clusters) entry.cluster.server = apiServer;
  await writeFile(kubeconfigPathOf(name), stringify(config), { mode: 0o600 });
  return apiServer;
}

export async function containerIp(container: string): Promise<string> {
  const result = await run(['docker', 'inspect', '--format', `{{(index .NetworkSettings.Networks "${harnessNetwork.name}").IPAddress}}`, container], { purpose: `find ${container}'s address` });
  return result.stdout.trim();
}

/**
 * All N nodes equal, as in the lab (see config.ts): the control plane takes pods (its NoSchedule
 * taint lifted) and load balancer traffic (kubeadm's exclude-from-external-load-balancers label
 * removed; load balancers honour it, so with externalTrafficPolicy: Local its pods would get none).
 */
async function controlPlaneRunsPods(cluster: Cluster): Promise<void> {
  const nodes = await cluster.core.listNode({ labelSelector: 'node-role.kubernetes.io/control-plane' });
  for (const node of nodes.items) {
    const taints = (node.spec?.taints ?? []).filter((taint) => taint.key !== 'node-role.kubernetes.io/control-plane');
    await cluster.core.patchNode({
      name: node.metadata?.name as string,
      body: [
        { op: 'replace', path: '/spec/taints', value: taints },
        ...(node.metadata?.labels?.[excludeFromLoadBalancersLabel] !== undefined ? [{ op: 'remove', path: `/metadata/labels/${excludeFromLoadBalancersLabel.replace('/', '~1')}` }] : []),
      ],
    });
  }
}

async function waitNodesReady(cluster: Cluster, count: number, log: (line: string) => void): Promise<void> {
  const deadline = Date.now() + nodeReadyTimeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const nodes = (await cluster.core.listNode().catch(() => ({ items: [] }))).items;
    const ready = nodes.filter((node) => node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
    const line = `${ready}/${count} nodes Ready`;
    if (line !== last) log(line);
    last = line;
    if (ready >= count) return;
    await sleep(1000);
  }
  throw environmentError(`kind nodes not Ready within ${nodeReadyTimeoutMs / 1000} s (${last})`, { where: 'kind', hint: 'look at the nodes: docker exec <cluster>-control-plane journalctl -u kubelet' });
}

/** Runs kind, passing its progress lines on (they are on stderr) and keeping the tail for a failure. */
export async function runKind(args: readonly string[], log: (line: string) => void, purpose: string, signal?: AbortSignal): Promise<void> {
  const child = spawn(binaryPath('kind'), args, { env: { ...process.env, ...kindEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = () => child.kill('SIGINT');
  signal?.addEventListener('abort', stop, { once: true });
  let output = '';
  const onData = (chunk: Buffer) => {
    const text = chunk.toString();
    output += text;
    for (const line of text.split(/\r?\n/)) {
      const clean = line.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').trim();
      if (clean && !clean.startsWith('WARNING: Overriding docker network')) log(clean);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  signal?.removeEventListener('abort', stop);
  if (signal?.aborted) throw new Error(`${purpose}: interrupted`);
  if (code !== 0) {
    throw environmentError(`${purpose} failed (exit ${code})${output ? `:\n${lastLines(output, 15)}` : ''}`, { where: 'kind', hint: `rerun by hand: KIND_EXPERIMENTAL_DOCKER_NETWORK=${harnessNetwork.name} ${binaryPath('kind')} ${args.join(' ')}` });
  }
}
