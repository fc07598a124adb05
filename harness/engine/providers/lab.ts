import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { labDown, labUp } from '../../lab/lab.ts';
import { labNames } from '../../lab/names.ts';
import { crashPod } from '../../lab/pod-process.ts';
import { connect } from '../../kube/cluster.ts';
import { ipvsCapability, nftablesCapability } from '../../setup/host-capabilities.ts';
import { kthArgv, type RunTarget } from '../execute.ts';

/** Why this host's lab cannot run a proxy mode, or undefined when it can. */
export function labUnsupported(mode: string): string | undefined {
  if (mode === 'cilium') return 'the lab runs kube-proxy only; Cilium runs on the kind and existing providers';
  const capability = mode === 'ipvs' ? ipvsCapability() : mode === 'nftables' ? nftablesCapability() : undefined;
  return capability && !capability.available ? `proxy mode ${mode} cannot run on this host: ${capability.detail}` : undefined;
}

export interface OpenLab {
  name: string;
  target: RunTarget;
  down(): Promise<void>;
}

/** A lab in one proxy mode for one scenario run; clients run in a client pod's namespace, or the lab's external client namespace. */
export async function openLab(options: { proxyMode: string; nodes: number; retain: boolean; log: (line: string) => void }): Promise<OpenLab> {
  const name = `r${randomBytes(3).toString('hex')}`;
  const lab = await labUp({ name, nodes: options.nodes, proxyMode: options.proxyMode, ownerPid: options.retain ? undefined : process.pid, log: options.log });
  const names = labNames(name);
  const target: RunTarget = {
    cluster: connect(lab.kubeconfig),
    spawnClient(where, argv) {
      const netns = where === 'external' ? names.netns('client') : names.podNetns(where.pod.metadata?.uid ?? '');
      const [command, ...args] = kthArgv(argv);
      return spawn('ip', ['netns', 'exec', netns, command!, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    },
    async killProcess(namespace, pod) {
      const podName = pod.metadata?.name as string;
      const pid = crashPod(name, namespace, podName);
      return `${podName} (pid ${pid}, SIGKILL)`;
    },
  };
  return { name, target, down: async () => void (await labDown(name)) };
}
