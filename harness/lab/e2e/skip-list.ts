import type { LabProxyMode } from '../spec.ts';

/**
 * Upstream sig-network e2e tests the lab does not run, each with the reason (kpng kept such lists
 * per backend). A test lands here only when it needs something the lab deliberately lacks; a test
 * that fails because the lab's node agent or network behaves unlike a kubelet's is a bug in the
 * lab, fixed there, never listed here.
 */
export interface SkippedTest {
  /** The test's full name as `e2e.test --list-tests` prints it, or a prefix of it ending at a word. */
  name: string;
  reason: string;
  /** Only in these proxy modes (absent: every mode). */
  modes?: readonly LabProxyMode[];
}

export const skipList: readonly SkippedTest[] = [
  {
    name: '[sig-network] Services should work after restarting kube-proxy [Disruptive]',
    reason: 'restarts kube-proxy over SSH to the node; lab nodes run no SSH server (the harness restarts kube-proxy itself: fault `kube-proxy-restart`)',
  },
  {
    name: '[sig-network] Services should work after restarting apiserver [Disruptive]',
    reason: 'restarts the API server through the cloud provider\'s master restart (SSH or GCE); the lab\'s control plane is a supervised process with neither',
  },
  {
    name: '[sig-network] Services should be rejected for evicted pods (no endpoints exist)',
    reason: "needs the kubelet's eviction manager (a pod evicted for exceeding its ephemeral-storage limit); lab pods run on the host's filesystem with no writable layer of their own to measure, and the agent evicts nothing",
  },
  {
    name: '[sig-network] Services should allow creating a basic SCTP service with pod and endpoints [LinuxOnly] [Serial]',
    reason: 'SCTP sockets: this host kernel is built without CONFIG_IP_SCTP (socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP) fails with EPROTONOSUPPORT), so no pod can serve SCTP; conntrack and the xt sctp match are there',
  },
  {
    name: '[sig-network] Networking Granular Checks: Services should function for pod-Service: sctp [Feature:SCTPConnectivity]',
    reason: 'SCTP feature tests (Feature:SCTPConnectivity) are opt-in upstream too',
  },
  {
    name: '[sig-network] Networking Granular Checks: Services should function for node-Service: sctp [Feature:SCTPConnectivity]',
    reason: 'SCTP feature tests (Feature:SCTPConnectivity) are opt-in upstream too',
  },
  {
    name: '[sig-network] Networking Granular Checks: Services should function for endpoint-Service: sctp [Feature:SCTPConnectivity]',
    reason: 'SCTP feature tests (Feature:SCTPConnectivity) are opt-in upstream too',
  },
];

/** The entries that apply in `mode`. */
export function skipsFor(mode: LabProxyMode): SkippedTest[] {
  return skipList.filter((entry) => !entry.modes || entry.modes.includes(mode));
}

/** The skip entry that covers a test, if any. */
export function skipOf(test: string, skips: readonly SkippedTest[]): SkippedTest | undefined {
  return skips.find((entry) => test === entry.name || test.startsWith(`${entry.name} `));
}
