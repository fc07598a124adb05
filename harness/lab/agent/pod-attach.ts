import { join } from 'node:path';
import { environmentError } from '../../core/errors.ts';
import { run } from '../../core/exec.ts';
import type { PodIpam } from './ipam.ts';
import { hostVethName, podNetnsName } from './names.ts';
import { createPodNetwork, deletePodNetwork, listNetns, listPodVeths, type NodeNetContext, podNetworkExists } from './pod-network.ts';

/**
 * How a pod sandbox is joined to its node: one sandbox path in the pod worker, two attachers.
 *  - `veth`: the agent's own wiring and IPAM (pod-network.ts, ipam.ts), for kube-proxy modes;
 *  - `cni`: a CNI plugin (cilium-cni) called as a kubelet's container runtime calls it, which
 *    creates the veth, takes the address from its own IPAM and registers the endpoint.
 */
export interface PodAttachTarget {
  uid: string;
  namespace: string;
  name: string;
  /** The pod's network namespace (named under /run/netns). */
  podNetns: string;
  /** `kth-pod:<namespace>/<name>`, for people reading `ip link` (veth attacher). */
  alias: string;
}

export interface PodAttacher {
  readonly kind: 'veth' | 'cni';
  /** Wires the pod's namespace to the node and returns the pod's IP. Idempotent: leftovers of an earlier try are removed first. */
  attach(pod: PodAttachTarget): Promise<string>;
  /** Removes the pod's network and frees its address; missing parts are fine. */
  detach(pod: PodAttachTarget): Promise<void>;
  /** Whether an adopted pod's network is intact. */
  intact(pod: PodAttachTarget): Promise<boolean>;
  /** After the first pod list: frees what no live pod (by UID) owns. */
  collectOrphans(liveUids: ReadonlySet<string>, log: (line: string) => void): Promise<void>;
}

export class VethAttacher implements PodAttacher {
  readonly kind = 'veth' as const;

  constructor(
    private readonly net: NodeNetContext,
    private readonly ipam: PodIpam,
    private readonly podNetnsPrefix: string,
  ) {}

  async attach(pod: PodAttachTarget): Promise<string> {
    const podIp = await this.ipam.allocate(pod.uid, `${pod.namespace}/${pod.name}`);
    await createPodNetwork(this.net, { podNetns: pod.podNetns, hostVeth: hostVethName(pod.uid), podIp, alias: pod.alias });
    return podIp;
  }

  async detach(pod: PodAttachTarget): Promise<void> {
    await deletePodNetwork(this.net, { podNetns: pod.podNetns, hostVeth: hostVethName(pod.uid) });
    await this.ipam.release(pod.uid);
  }

  intact(pod: PodAttachTarget): Promise<boolean> {
    return podNetworkExists(this.net, { podNetns: pod.podNetns, hostVeth: hostVethName(pod.uid) });
  }

  async collectOrphans(liveUids: ReadonlySet<string>, log: (line: string) => void): Promise<void> {
    for (const freed of await this.ipam.releaseAllExcept(liveUids)) log(`address ${freed.ip} of ${freed.pod} freed (pod gone)`);
    // Veths (and their namespaces) no known pod owns: an agent that died between steps.
    const known = new Set([...liveUids].map((uid) => hostVethName(uid)));
    for (const veth of await listPodVeths(this.net)) {
      if (known.has(veth.name)) continue;
      log(`removing stray pod network ${veth.name} (${veth.alias})`);
      await deletePodNetwork(this.net, { podNetns: podNetnsName(this.podNetnsPrefix, veth.name.slice(2)), hostVeth: veth.name }).catch(() => {});
    }
  }
}

/** What the CNI attacher needs: the plugin binary and its network config. */
export interface CniPluginConfig {
  /** Absolute path of the plugin binary (its directory is CNI_PATH). */
  plugin: string;
  /** The network configuration passed on stdin (name, type, cniVersion …). */
  netConf: Record<string, unknown>;
}

/** The first IPv4 address of a CNI result (any spec version from 0.3.0 on). */
export function cniResultIp(stdout: string): string {
  let result: { ips?: { address?: string; version?: string }[] };
  try {
    result = JSON.parse(stdout) as typeof result;
  } catch {
    throw new Error(`the CNI plugin printed no JSON result: ${stdout.slice(0, 300)}`);
  }
  const address = result.ips?.find((ip) => ip.address && !ip.address.includes(':'))?.address;
  if (!address) throw new Error(`the CNI result has no IPv4 address: ${stdout.slice(0, 300)}`);
  return address.split('/')[0] as string;
}

export class CniAttacher implements PodAttacher {
  readonly kind = 'cni' as const;

  constructor(
    private readonly net: NodeNetContext,
    private readonly cni: CniPluginConfig,
  ) {}

  private async invoke(command: 'ADD' | 'DEL' | 'CHECK', pod: PodAttachTarget) {
    const env = {
      CNI_COMMAND: command,
      CNI_CONTAINERID: pod.uid,
      CNI_NETNS: join('/run/netns', pod.podNetns),
      CNI_IFNAME: 'eth0',
      CNI_PATH: this.cni.plugin.slice(0, this.cni.plugin.lastIndexOf('/')),
      CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${pod.namespace};K8S_POD_NAME=${pod.name};K8S_POD_INFRA_CONTAINER_ID=${pod.uid};K8S_POD_UID=${pod.uid}`,
    };
    return run([this.cni.plugin], { input: JSON.stringify(this.cni.netConf), env, nothrow: true, timeoutMs: 60_000 });
  }

  async attach(pod: PodAttachTarget): Promise<string> {
    // Leftovers of an earlier try: only a namespace we made can have an endpoint to release.
    if ((await listNetns()).includes(pod.podNetns)) await this.detach(pod);
    await run([...this.net.netnsCommandPrefix, 'ip', 'netns', 'add', pod.podNetns], { purpose: `create pod network namespace ${pod.podNetns}`, timeoutMs: 10_000 });
    await run(['ip', '-n', pod.podNetns, 'link', 'set', 'lo', 'up'], { purpose: `bring up lo in ${pod.podNetns}`, timeoutMs: 10_000 });
    const added = await this.invoke('ADD', pod);
    if (added.exitCode !== 0) {
      await this.detach(pod).catch(() => {});
      throw environmentError(`CNI ADD (${this.cni.plugin}) failed for ${pod.namespace}/${pod.name}: ${(added.stdout || added.stderr).trim().slice(0, 600)}`, {
        hint: 'the node\'s Cilium agent may not be ready yet: kth lab logs <lab> cilium-<node>',
      });
    }
    return cniResultIp(added.stdout);
  }

  async detach(pod: PodAttachTarget): Promise<void> {
    // DEL releases the address and the endpoint even when the namespace is already gone (CNI
    // requires plugins to tolerate that); a plugin whose daemon is down queues it.
    const deleted = await this.invoke('DEL', pod);
    if ((await listNetns()).includes(pod.podNetns)) {
      await run([...this.net.netnsCommandPrefix, 'ip', 'netns', 'del', pod.podNetns], { nothrow: true, timeoutMs: 10_000 });
    }
    if (deleted.exitCode !== 0) throw new Error(`CNI DEL (${this.cni.plugin}) failed for ${pod.namespace}/${pod.name}: ${(deleted.stdout || deleted.stderr).trim().slice(0, 300)}`);
  }

  async intact(pod: PodAttachTarget): Promise<boolean> {
    if (!(await listNetns()).includes(pod.podNetns)) return false;
    const link = await run(['ip', '-n', pod.podNetns, 'link', 'show', 'eth0'], { nothrow: true, timeoutMs: 10_000 });
    return link.exitCode === 0;
  }

  async collectOrphans(): Promise<void> {
    // The plugin owns addresses and endpoints: a pod that went away while no agent ran is
    // detached from its persisted state (runtime.ts); the Cilium agent restores or removes
    // endpoints whose namespace is gone on its own.
  }
}
