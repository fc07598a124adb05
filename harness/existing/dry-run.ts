import { stringify } from 'yaml';
import { clientPod } from '../../manifests/client-pod.ts';
import { ManagedByLabel, managedByValue, RunIdLabel } from '../../manifests/names.ts';
import { planScenario, specsOf } from '../engine/plan.ts';
import { sharedClusterNamespace } from '../engine/providers/run-namespaces.ts';
import { relayPod } from '../engine/providers/relay-pod.ts';
import { loadScenario } from '../engine/scenario.ts';
import type { ProxyMode } from '../engine/types.ts';
import { workloadObjects } from '../engine/workload.ts';
import { prefixedImageRef } from '../workloads/image/names.ts';

/**
 * `kth run --provider existing --dry-run`: every object the scenario's runs would create on the
 * cluster, as YAML, without reaching it. Namespaces get a random suffix (a1b2c3 here) and load
 * pods a sequence number at run time; node placement follows the cluster's nodes.
 */
export async function dryRunObjects(options: { file: string; proxyModes?: ProxyMode[]; imagePrefix?: string; timeScale: number }): Promise<string> {
  const scenario = await loadScenario(options.file);
  const plan = planScenario(scenario.spec, { timeScale: options.timeScale, ...(options.proxyModes ? { proxyModes: options.proxyModes } : {}) });
  // Examples of what run time fills in: the run id (the start time) and each namespace's random suffix.
  const runId = `${scenario.spec.name}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const loadImage = prefixedImageRef('load-driver', options.imagePrefix);
  const documents: string[] = [
    `# kth run ${options.file} --provider existing: ${plan.runs.length} run(s); each run's namespace is deleted when it ends (unless --retain).\n` +
      `# Before them, a namespace kth-preflight-<random> with one pod of ${loadImage} checks the cluster can start the harness image (deleted at once).\n`,
  ];
  // One proxy mode runs on a cluster (its own): the objects are the same for every mode.
  for (const run of plan.runs.filter((r) => r.proxyMode === plan.proxyModes[0])) {
    const namespace = sharedClusterNamespace(run.variant, 'a1b2c3');
    const { workload } = specsOf(run);
    const client = clientPod({ name: 'client', namespace, runId, image: loadImage });
    const objects = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: { [ManagedByLabel]: managedByValue, [RunIdLabel]: runId } } },
      ...workloadObjects(workload, { name: 'web', namespace, runId }, [], options.imagePrefix),
      client,
      relayPod({ name: 'kth-load-1', anchor: client, image: `${loadImage}`, argv: ['load', '<protocol>', '--target', '<the Service>', '…'] }),
    ];
    documents.push(`# run ${run.id}: the Service under test, its pods' client, and one load pod per load (and per counters read)\n${objects.map((object) => stringify(object)).join('---\n')}`);
  }
  return documents.join('---\n');
}
