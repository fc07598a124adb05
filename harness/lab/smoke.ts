import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunSummary } from '../analysis/run-summary.ts';
import { environmentError } from '../core/errors.ts';
import { onInterrupt } from '../core/interrupts.ts';
import { apply, connect, ensureNamespace, podsOf, waitForDeployment, waitForPodReady } from '../kube/cluster.ts';
import { clientPod } from '../../manifests/client-pod.ts';
import { sampleServiceObjects, serverMetricsUrl } from '../../manifests/sample-service.ts';
import { labDown, labUp } from './lab.ts';
import { labNames } from './names.ts';
import { labKthEntry, labRunner, startupScale } from './guest/lab-guest.ts';
import type { KernelChoice } from './spec.ts';

/**
 * The lab's end-to-end check and the main job until scenarios land: a lab, the sample HTTP
 * service, and the same client load with two connection lifetimes. Persistent connections pin
 * each client connection to one pod (the data plane — kube-proxy or Cilium — chooses per connection); short-lived ones spread.
 * Every phase is cross-checked against the servers' own counters.
 */
export interface SmokeOptions {
  nodes: number;
  proxyMode: string;
  /** The nodes' kernel (default auto: a guest when the host kernel cannot run the mode). */
  kernel?: KernelChoice;
  outDir: string;
  retain: boolean;
  log: (line: string) => void;
}

export interface SmokePhase {
  name: string;
  description: string;
  args: string[];
  run: RunSummary;
}

export interface SmokeResult {
  lab: string;
  proxyMode: string;
  phases: SmokePhase[];
  passed: boolean;
  verdicts: string[];
  file: string;
}

export async function runLabSmoke(options: SmokeOptions): Promise<SmokeResult> {
  const name = `smoke-${process.pid.toString(36)}`;
  const removeLab = () => labDown(name).then(() => undefined);
  const unregister = onInterrupt(removeLab);
  try {
    const lab = await labUp({ name, nodes: options.nodes, proxyMode: options.proxyMode, ...(options.kernel ? { kernel: options.kernel } : {}), ownerPid: options.retain ? undefined : process.pid, log: options.log });
    const cluster = connect(lab.kubeconfig);
    const ns = 'smoke';
    await ensureNamespace(cluster, ns);
    options.log('deploying the sample HTTP service: 3 replicas spread over nodes, ClusterIP');
    await apply(cluster, sampleServiceObjects({ name: 'web', namespace: ns, runId: name, server: 'http', replicas: 3, topologySpread: {} }));
    await waitForDeployment(cluster, ns, 'web', 90_000 * startupScale(lab.spec));
    const service = await cluster.core.readNamespacedService({ name: 'web', namespace: ns });
    const servers = await podsOf(cluster, ns, 'app.kubernetes.io/name=web');
    const metrics = servers.map((p) => `${p.metadata?.name}=${serverMetricsUrl(p)}`).join(',');
    await apply(cluster, [clientPod({ name: 'client', namespace: ns, runId: name })]);
    const client = await waitForPodReady(cluster, ns, 'client', 60_000 * startupScale(lab.spec));
    const netns = labNames(name).podNetns(client.metadata?.uid ?? '');
    const target = `http://${service.spec?.clusterIP}:80/`;

    const plans = [
      { name: 'persistent', description: '2 keep-alive connections held for 8 s, 50 req/s', args: ['--model', 'persistent', '--connections', '2', '--rate', '50', '--duration', '8s', '--unit', 'connections'] },
      { name: 'short-lived', description: '600 requests, a new connection each', args: ['--model', 'short-lived', '--connections', '4', '--concurrency', '4', '--max-requests', '600', '--duration', '60s', '--unit', 'connections'] },
    ];
    const phases: SmokePhase[] = [];
    for (const plan of plans) {
      options.log(`load from a client pod: ${plan.name} (${plan.description})`);
      const args = ['http', '--target', target, ...plan.args, '--expect-pods', servers.map((p) => p.metadata?.name).join(','), '--server-metrics', metrics, '--settle', '30s', '--json'];
      const load = await labRunner(lab.spec)(['ip', 'netns', 'exec', netns, process.execPath, labKthEntry(lab.spec), 'load', ...args], { timeoutMs: 120_000 * startupScale(lab.spec), nothrow: true });
      if (load.exitCode !== 0) throw environmentError(`load phase ${plan.name} failed (exit ${load.exitCode}): ${load.stderr.trim()}`);
      const stdout = load.stdout;
      phases.push({ ...plan, args, run: JSON.parse(stdout) as RunSummary });
    }

    const verdicts: string[] = [];
    for (const phase of phases) {
      const check = phase.run.crossCheck;
      verdicts.push(check?.agree ? `${phase.name}: client and server counts agree (${phase.run.totals.attributed})` : `${phase.name}: client and server counts DIFFER: ${JSON.stringify(check)}`);
    }
    const persistent = phases.find((p) => p.name === 'persistent')?.run;
    if (persistent) {
      const reached = persistent.pods.filter((p) => p.requests > 0);
      verdicts.push(`persistent: ${reached.reduce((n, p) => n + p.connections, 0)} connections reached ${reached.length} of ${persistent.pods.length} pods, and every request followed its connection (the data plane picks a backend per connection, not per request)`);
    }
    const shortLived = phases.find((p) => p.name === 'short-lived')?.run;
    const balanced = (shortLived?.metrics.chiSquareP ?? 0) >= 0.001;
    verdicts.push(`short-lived: chi-square p=${shortLived?.metrics.chiSquareP?.toPrecision(3)} over ${shortLived?.metrics.chiSquare.unit} → ${balanced ? 'consistent with uniform (p ≥ 0.001)' : 'NOT uniform'}`);
    const passed = balanced && phases.every((p) => p.run.crossCheck?.agree === true);

    const dir = join(options.outDir, `smoke-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'result.json');
    await writeFile(file, `${JSON.stringify({ lab: name, proxyMode: options.proxyMode, nodes: options.nodes, phases, verdicts, passed }, null, 2)}\n`);
    return { lab: name, proxyMode: options.proxyMode, phases, passed, verdicts, file };
  } finally {
    unregister();
    if (!options.retain) await removeLab();
    else options.log(`lab ${name} kept: kth lab down --name ${name}`);
  }
}
