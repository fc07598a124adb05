import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../core/exec.ts';
import { repoRoot, stateRoot } from '../core/paths.ts';
import { ensureDockerNetwork, harnessNetwork, outsideNetwork, removeDockerNetworkIfUnused } from '../docker/network.ts';
import { LEAN_NODE_FLAGS } from '../lab/components.ts';
import type { LoadBalancerConfigInput } from '../lab/load-balancer/config.ts';
import type { LoadBalancerStatus } from '../lab/load-balancer/controller.ts';
import { addNetns, deleteNetns, ipBatch, listNetns, sysctls } from '../lab/netns.ts';
import { isAlive, terminate } from '../lab/processes.ts';

/**
 * LoadBalancer Services on kind, and the outside they are reached from. kind has no load balancer
 * of its own (cloud-provider-kind runs an Envoy image, which cannot be had here), so the harness
 * runs the lab's load balancer controller for each kind cluster: it allocates addresses, writes
 * Service status, and DNATs each new connection to a random eligible node's NodePort, leaving the
 * client's address untouched — as a cloud's network load balancer does.
 *
 * It lives in one network namespace, `kthkind-lb`, with a leg on each harness network: 198.19.0.250
 * on the nodes' bridge, and the outside network's gateway 198.19.1.1 (taken from the host's bridge).
 * Clients outside the cluster are containers on the outside network; their default route is the
 * load balancer, and the nodes route the outside subnet back through it, so replies return the way
 * requests came (source addresses survive, as externalTrafficPolicy: Local needs). The namespace has
 * no other link and no default route: nothing leaves.
 */
export const kindLoadBalancer = {
  // Not kth-…: that prefix is the lab's, whose cleanup would take it for a lab named 'kind'.
  netns: 'kthkind-lb',
  nodesLegIp: '198.19.0.250',
  outsideLegIp: outsideNetwork.gateway,
} as const;

const kindDir = () => join(stateRoot(), 'kind');
const configPath = (cluster: string) => join(kindDir(), `${cluster}.lb.json`);
const pidPath = (cluster: string) => join(kindDir(), `${cluster}.lb.pid`);
const statusPath = (cluster: string) => join(kindDir(), `${cluster}.lb-status.json`);
const logPath = (cluster: string) => join(kindDir(), `${cluster}.lb.log`);

/** The outside network and the load balancer namespace between it and the nodes (idempotent). */
export async function ensureOutsidePath(): Promise<void> {
  await ensureDockerNetwork(outsideNetwork);
  // The outside's gateway address is the load balancer's, not the host's.
  await run(['ip', 'addr', 'del', `${outsideNetwork.gateway}/24`, 'dev', outsideNetwork.bridge], { nothrow: true });
  const { netns, nodesLegIp, outsideLegIp } = kindLoadBalancer;
  if ((await listNetns()).includes(netns)) return;
  await addNetns(netns);
  await ipBatch(null, [
    `link add kthlb-nodes type veth peer name nodes0 netns ${netns}`,
    `link set kthlb-nodes master ${harnessNetwork.bridge}`,
    'link set kthlb-nodes up',
    `link add kthlb-out type veth peer name out0 netns ${netns}`,
    `link set kthlb-out master ${outsideNetwork.bridge}`,
    'link set kthlb-out up',
  ], 'link the kind load balancer namespace to the harness networks');
  await ipBatch(netns, [`addr add ${nodesLegIp}/24 dev nodes0`, 'link set nodes0 up', `addr add ${outsideLegIp}/24 dev out0`, 'link set out0 up'], 'address the kind load balancer');
  await sysctls(netns, { 'net.ipv4.ip_forward': 1 });
}

/** Removes the namespace and the outside network once no kind cluster of the harness is left. */
export async function removeOutsidePathIfUnused(): Promise<void> {
  if (existsSync(kindDir()) && readdirSync(kindDir()).some((file) => file.endsWith('.lb.json'))) return;
  await deleteNetns(kindLoadBalancer.netns);
  await removeDockerNetworkIfUnused(outsideNetwork);
}

/** The next free slot: its own pool (198.19.(64+slot).0/24), nft table and status port. */
function freeSlot(): number {
  const used = new Set<number>();
  if (existsSync(kindDir())) {
    for (const file of readdirSync(kindDir()).filter((f) => f.endsWith('.lb.json'))) {
      const pool = (JSON.parse(readFileSync(join(kindDir(), file), 'utf8')) as { pool: string }).pool;
      used.add(Number(pool.split('.')[2]) - 64);
    }
  }
  for (let slot = 0; slot < 64; slot += 1) if (!used.has(slot)) return slot;
  throw new Error('all 64 kind load balancer pools are in use: kth cleanup removes clusters of crashed runs');
}

/**
 * Starts the controller for one cluster inside the load balancer namespace, and routes the
 * outside subnet on every node through it.
 */
export async function startKindLoadBalancer(cluster: string, kubeconfigPath: string): Promise<void> {
  const slot = freeSlot();
  const config: LoadBalancerConfigInput = {
    labName: cluster,
    kubeconfigPath,
    pool: `198.19.${64 + slot}.0/24`,
    table: `kth_lb_${slot}`,
    listen: { host: kindLoadBalancer.nodesLegIp, port: 10_270 + slot },
    statusFile: statusPath(cluster),
  };
  await writeFile(configPath(cluster), JSON.stringify(config, null, 2));
  const log = openSync(logPath(cluster), 'a');
  const child = spawn('ip', ['netns', 'exec', kindLoadBalancer.netns, process.execPath, ...LEAN_NODE_FLAGS, join(repoRoot, 'harness/bin/kth.mjs'), 'lab', 'lb-controller', '--config', configPath(cluster)], { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  await writeFile(pidPath(cluster), String(child.pid));
  const nodes = (await run(['docker', 'ps', '--filter', `label=io.x-k8s.kind.cluster=${cluster}`, '--format', '{{.Names}}'], { purpose: `list the nodes of ${cluster}` })).stdout.trim().split('\n').filter(Boolean);
  await Promise.all(nodes.map((node) => run(['docker', 'exec', node, 'ip', 'route', 'replace', outsideNetwork.subnet, 'via', kindLoadBalancer.nodesLegIp], { purpose: `route the outside network from ${node} through the load balancer` })));
}

/** Stops a cluster's controller (it removes its nft table on SIGTERM) and forgets its slot. */
export async function stopKindLoadBalancer(cluster: string): Promise<void> {
  const pid = Number(await readFile(pidPath(cluster), 'utf8').catch(() => ''));
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) await terminate([pid], 10_000);
  await Promise.all([configPath(cluster), pidPath(cluster), statusPath(cluster), logPath(cluster)].map((path) => rm(path, { force: true })));
}

/** The load balancer's view of one Service (which nodes get new connections, and why), for the report. */
export async function kindLoadBalancerNodes(cluster: string, namespace: string, service: string) {
  const status = JSON.parse(await readFile(statusPath(cluster), 'utf8')) as LoadBalancerStatus;
  return status.services.find((view) => view.service === `${namespace}/${service}`)?.nodes.map((node) => ({ node: node.name, receives: node.receives, detail: node.detail }));
}
