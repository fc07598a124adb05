import type { RunKernel } from '../../report/model.ts';
import type { BinaryName } from '../../setup/versions.ts';
import type { AgentConfigInput } from '../agent/config.ts';
import type { ComponentSpec } from '../components.ts';
import type { LabLayout } from '../layout.ts';
import type { LabProxyMode, LabSpec } from '../spec.ts';

/**
 * A lab node's data plane — kube-proxy in one of its modes, or Cilium's eBPF kube-proxy
 * replacement — as one interface, one implementation per data plane, chosen in one place
 * (index.ts). Everything else in the lab (network, control plane, node agent, load balancer) is
 * shared, so a scenario runs the same way whichever data plane carries its traffic.
 */
export interface Dataplane {
  readonly mode: LabProxyMode;
  /** Binaries it runs, checked before anything starts. */
  readonly binaries: readonly BinaryName[];
  /** Why this host cannot run it (each with its fix), or [] when it can. */
  hostProblems(): Promise<string[]>;
  /** How long a 3-node `lab up` may take before it is failed (start-up bound). */
  readonly startupBoundMs: number;
  /** Cluster-wide steps or processes (e.g. CRDs), beside the control plane. */
  clusterComponents(spec: LabSpec, layout: LabLayout): ComponentSpec[];
  /** What runs on node `index` besides the node agent, and how the agent joins it. */
  node(spec: LabSpec, layout: LabLayout, index: number): Promise<NodeDataplane>;
  /**
   * Removes what outlives the lab's processes and network namespaces (cgroup directories,
   * mount points), once those are gone. Idempotent; returns what it removed, for the log.
   */
  cleanup(lab: string): Promise<string[]>;
  /** What carried a running lab's traffic, for reports: implementation, version, options, kernel features in use. */
  describe(spec: LabSpec): Promise<DataplaneInfo>;
}

/** The data plane of a run, as recorded in report.json (`runs[].dataplane`). */
export interface DataplaneInfo {
  /** `kube-proxy` or `cilium`. */
  implementation: string;
  version: string;
  /** The settings a user compares on (mode, LB algorithm, socket LB scope …). */
  options: Record<string, string | number | boolean>;
  /** What the data plane reports it enabled in the kernel (Cilium: KPR features, attach mode, routing). */
  features?: Record<string, string | number | boolean>;
  /** The kernel the nodes ran on (a guest's timings are not the host's). */
  kernel?: RunKernel;
}

export interface NodeDataplane {
  /** The data plane's own processes on the node. */
  components: ComponentSpec[];
  /** Wraps a node process's argv so it runs where the data plane expects node processes (identity for kube-proxy). */
  enter(argv: readonly string[]): string[];
  /** Components the node agent waits for (a node sandbox). */
  agentAfter: string[];
  /** Pods attach through this CNI plugin instead of the agent's own veth (see agent/pod-attach.ts). */
  cni?: AgentConfigInput['cni'];
}
