import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { labDown, labUp } from '../../lab/lab.ts';
import { labNames } from '../../lab/names.ts';
import { crashPod } from '../../lab/pod-process.ts';
import { connect } from '../../kube/cluster.ts';
import { type DataplaneInfo, dataplaneFor } from '../../lab/dataplane/index.ts';
import { type CiliumOptions, type LabProxyMode, proxyModes } from '../../lab/spec.ts';
import { kthArgv, type RunTarget } from '../execute.ts';

/** Why this host's lab cannot run a proxy mode, or undefined when it can. */
export async function labUnsupported(mode: string): Promise<string | undefined> {
  if (!(proxyModes as readonly string[]).includes(mode)) return `the lab has no proxy mode '${mode}'`;
  const problems = await dataplaneFor(mode as LabProxyMode).hostProblems();
  return problems.length > 0 ? `proxy mode ${mode} cannot run on this host: ${problems.join('; ')}` : undefined;
}

export interface OpenLab {
  name: string;
  target: RunTarget;
  /** What carries the lab's Service traffic (for each run's report). */
  dataplane: DataplaneInfo;
  down(): Promise<void>;
}

/** A lab in one proxy mode for one scenario run; clients run in a client pod's namespace, or the lab's external client namespace. */
export async function openLab(options: { proxyMode: string; nodes: number; cilium?: Partial<CiliumOptions>; retain: boolean; log: (line: string) => void }): Promise<OpenLab> {
  const name = `r${randomBytes(3).toString('hex')}`;
  const lab = await labUp({ name, nodes: options.nodes, proxyMode: options.proxyMode, ...(options.cilium ? { cilium: options.cilium } : {}), ownerPid: options.retain ? undefined : process.pid, log: options.log });
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
  const dataplane = await dataplaneFor(lab.spec.proxyMode).describe(lab.spec);
  return { name, target, dataplane, down: async () => void (await labDown(name)) };
}
