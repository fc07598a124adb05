import { readFileSync, statfsSync } from 'node:fs';
import { availableParallelism, arch, release, totalmem } from 'node:os';
import type { V1Lease, V1Node, V1NodeCondition, V1NodeStatus } from '@kubernetes/client-node';
import { harnessVersion } from '../../core/version.ts';
import { KUBERNETES_VERSION } from '../../setup/versions.ts';
import { abortableSleep } from './handlers.ts';
import { type AgentClients, apiCode, mergePatch, microTime, strategicMerge } from './kube.ts';
import { type AgentConfig, zoneOf } from './config.ts';

/**
 * The Node object and its heartbeats, as a kubelet keeps them: registration (create, or
 * reconcile labels when the Node already exists), the full status reported on change and every
 * `nodeStatusReportIntervalMs`, and the Lease in kube-node-lease renewed every
 * `leaseRenewIntervalMs`: the node lifecycle controller reads the Lease, so the node stays
 * Ready (and its not-ready taint goes away) exactly as on a real cluster.
 */
export interface HostFacts {
  cpu: number;
  memoryBytes: number;
  ephemeralStorageBytes: number;
  machineId: string;
  bootId: string;
  kernelVersion: string;
  osImage: string;
  architecture: string;
}

const readTrim = (path: string, fallback = ''): string => {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return fallback;
  }
};

export function hostFacts(stateDir: string): HostFacts {
  let ephemeralStorageBytes = 0;
  try {
    const fs = statfsSync(stateDir);
    ephemeralStorageBytes = fs.blocks * fs.bsize;
  } catch {
    // the state dir may not exist yet; capacity then shows 0
  }
  const osRelease = readTrim('/etc/os-release');
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(osRelease)?.[1] ?? 'Linux';
  return {
    cpu: availableParallelism(),
    memoryBytes: totalmem(),
    ephemeralStorageBytes,
    machineId: readTrim('/etc/machine-id'),
    bootId: readTrim('/proc/sys/kernel/random/boot_id'),
    kernelVersion: release(),
    osImage: pretty,
    architecture: ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' } as Record<string, string>)[arch()] ?? arch(),
  };
}

export function nodeLabels(config: AgentConfig, facts: HostFacts): Record<string, string> {
  return {
    'kubernetes.io/hostname': config.nodeName,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': facts.architecture,
    'beta.kubernetes.io/os': 'linux',
    'beta.kubernetes.io/arch': facts.architecture,
    'node.kubernetes.io/instance-type': 'lab',
    'topology.kubernetes.io/zone': zoneOf(config),
    ...(config.labels ?? {}),
  };
}

export interface NetworkReadiness {
  ready: boolean;
  message: string;
}

/** The Node status the kubelet would report; transition times are kept from `previous`. */
export function nodeStatus(config: AgentConfig, facts: HostFacts, network: NetworkReadiness, previous: readonly V1NodeCondition[], now: Date): V1NodeStatus & { declaredFeatures?: string[] } {
  const condition = (type: string, status: 'True' | 'False', reason: string, message: string): V1NodeCondition => {
    const before = previous.find((c) => c.type === type);
    return {
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: now,
      lastTransitionTime: before && before.status === status && before.lastTransitionTime ? before.lastTransitionTime : now,
    };
  };
  const resources = {
    cpu: String(facts.cpu),
    memory: `${Math.floor(facts.memoryBytes / 1024)}Ki`,
    pods: '110',
    'ephemeral-storage': `${Math.floor(facts.ephemeralStorageBytes / 1024)}Ki`,
    'hugepages-2Mi': '0',
  };
  return {
    conditions: [
      condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      network.ready
        ? condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status')
        : condition('Ready', 'False', 'KubeletNotReady', `container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:${network.message}`),
    ],
    addresses: [
      { type: 'InternalIP', address: config.nodeIp },
      { type: 'Hostname', address: config.nodeName },
    ],
    capacity: resources,
    allocatable: resources,
    // Where the API server reaches this node's kubelet API (pods/log, pods/exec); 0 when the agent serves none.
    daemonEndpoints: { kubeletEndpoint: { Port: config.kubeletServer?.port ?? 0 } },
    // The API server then proxies exec's WebSocket to the agent as it is, instead of translating it
    // to SPDY (which the agent does not speak): exec-stream.ts.
    ...(config.kubeletServer ? { declaredFeatures: ['ExtendWebSocketsToKubelet'] } : {}),
    nodeInfo: {
      machineID: facts.machineId,
      systemUUID: facts.machineId,
      bootID: facts.bootId,
      kernelVersion: facts.kernelVersion,
      osImage: facts.osImage,
      containerRuntimeVersion: `kth-lab://${harnessVersion()}`,
      kubeletVersion: config.kubernetesVersion ?? KUBERNETES_VERSION,
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: facts.architecture,
    },
  };
}

export class NodeHeartbeat {
  private network: NetworkReadiness = { ready: false, message: 'waiting for node.spec.podCIDR' };
  private conditions: V1NodeCondition[] = [];
  private nodeUid = '';
  private wake: (() => void) | undefined;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly clients: AgentClients,
    private readonly config: AgentConfig,
    private readonly facts: HostFacts,
    private readonly log: (line: string) => void,
    private readonly signal: AbortSignal,
  ) {}

  /** Creates the Node (or takes over the existing one), retrying until the API server answers. */
  async register(): Promise<void> {
    const labels = nodeLabels(this.config, this.facts);
    for (let attempt = 1; !this.signal.aborted; attempt += 1) {
      try {
        let node: V1Node;
        try {
          node = await this.clients.core.createNode({ body: { apiVersion: 'v1', kind: 'Node', metadata: { name: this.config.nodeName, labels } } });
          this.log(`registered node ${this.config.nodeName}`);
        } catch (error) {
          if (apiCode(error) !== 409) throw error;
          node = await this.clients.core.patchNode({ name: this.config.nodeName, body: { metadata: { labels } } }, mergePatch());
          this.log(`node ${this.config.nodeName} already registered; labels reconciled`);
        }
        this.nodeUid = node.metadata?.uid ?? '';
        this.conditions = node.status?.conditions ?? [];
        await this.reportStatus();
        return;
      } catch (error) {
        // The supervisor starts agents alongside the API server, so early attempts meet a server
        // still starting: retry briskly (a Node create is cheap) rather than back off for seconds.
        const delay = Math.min(200 * attempt, 1000);
        this.log(`registering node ${this.config.nodeName} failed (attempt ${attempt}): ${(error as Error).message}; retrying in ${delay}ms`);
        await abortableSleep(delay, this.signal);
      }
    }
  }

  /** Starts the Lease and status loops; they end when the signal aborts. */
  start(): void {
    this.loops.push(this.leaseLoop(), this.statusLoop());
  }

  async stopped(): Promise<void> {
    await Promise.all(this.loops);
  }

  /** Network readiness (podCIDR known, routes in place) decides the Ready condition. */
  setNetwork(network: NetworkReadiness): void {
    if (network.ready === this.network.ready && network.message === this.network.message) return;
    this.network = network;
    this.wake?.();
  }

  private async reportStatus(): Promise<void> {
    const status = nodeStatus(this.config, this.facts, this.network, this.conditions, new Date());
    const node = await this.clients.core.patchNodeStatus({ name: this.config.nodeName, body: { status } }, strategicMerge());
    this.conditions = node.status?.conditions ?? status.conditions ?? [];
  }

  private async statusLoop(): Promise<void> {
    let failures = 0;
    while (!this.signal.aborted) {
      const changed = new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      const interval = failures > 0 ? Math.min(500 * 2 ** failures, 10_000) : this.config.nodeStatusReportIntervalMs;
      await Promise.race([changed, abortableSleep(interval, this.signal)]);
      this.wake = undefined;
      if (this.signal.aborted) return;
      try {
        await this.reportStatus();
        failures = 0;
      } catch (error) {
        failures += 1;
        this.log(`node status update failed: ${(error as Error).message}`);
      }
    }
  }

  private async leaseLoop(): Promise<void> {
    const namespace = 'kube-node-lease';
    const name = this.config.nodeName;
    let lease: V1Lease | undefined;
    let failures = 0;
    while (!this.signal.aborted) {
      try {
        lease = await this.renew(lease, namespace, name);
        failures = 0;
        await abortableSleep(this.config.leaseRenewIntervalMs, this.signal);
      } catch (error) {
        failures += 1;
        lease = undefined;
        // The kubelet retries quickly (starting at 200 ms) so a blip never costs the node its Ready.
        const delay = Math.min(200 * 2 ** (failures - 1), 7000);
        this.log(`lease renewal failed (attempt ${failures}): ${(error as Error).message}; retrying in ${delay}ms`);
        await abortableSleep(delay, this.signal);
      }
    }
  }

  private async renew(current: V1Lease | undefined, namespace: string, name: string): Promise<V1Lease> {
    const spec = {
      holderIdentity: name,
      leaseDurationSeconds: this.config.leaseDurationSeconds,
      renewTime: microTime(new Date()) as unknown as Date,
    };
    if (!current) {
      try {
        current = await this.clients.coordination.readNamespacedLease({ name, namespace });
      } catch (error) {
        if (apiCode(error) !== 404) throw error;
        return this.clients.coordination.createNamespacedLease({
          namespace,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: {
              name,
              namespace,
              ...(this.nodeUid ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name, uid: this.nodeUid }] } : {}),
            },
            spec,
          },
        });
      }
    }
    const { renewTime: _renew, acquireTime, ...rest } = current.spec ?? {};
    return this.clients.coordination.replaceNamespacedLease({
      name,
      namespace,
      body: {
        ...current,
        spec: {
          ...rest,
          ...spec,
          ...(acquireTime ? { acquireTime: (acquireTime instanceof Date ? microTime(acquireTime) : acquireTime) as unknown as Date } : {}),
        },
      },
    });
  }
}
