import { badInput, environmentError } from '../../core/errors.ts';
import { readKindRecords } from '../../kind/cluster.ts';
import { listLabs } from '../../lab/lab.ts';
import type { ScenarioSpec } from '../types.ts';
import { keptKindProvider } from './kind.ts';
import { keptLabProvider } from './lab.ts';
import type { ClusterProvider } from './provider.ts';

/** A lab or kind cluster that was up before the run (`--cluster`), checked against the scenario. */
export interface KeptCluster {
  name: string;
  proxyMode: string;
  nodes: number;
  provider: ClusterProvider;
}

/**
 * `--cluster <name>`: the lab (`kth lab up`) or kind cluster (`kth kind up`) a run uses instead of
 * making one. Everything that could make the run's numbers not the scenario's is refused here,
 * before anything is created: another proxy mode, another node count (placements and per-node
 * checks are written for the scenario's nodes), other Cilium or IPVS options than the scenario sets.
 */
export async function keptCluster(options: {
  name: string;
  provider: 'lab' | 'kind';
  spec: ScenarioSpec;
  /** --proxy-mode, when given: must be the cluster's. */
  proxyModes?: readonly string[];
  nodes: number;
  retain: boolean;
  goServers: boolean;
}): Promise<KeptCluster> {
  const { name, provider } = options;
  // A lab is named by its maker; when the name is taken, the hint asks for another.
  const make = (mode: string, lab = '<another name>') => `kth ${provider} up ${provider === 'lab' ? `--name ${lab} ` : ''}--proxy-mode ${mode} --nodes ${options.nodes}`;
  let kept: KeptCluster;
  if (provider === 'lab') {
    const lab = (await listLabs()).find((l) => l.name === name);
    if (!lab?.spec) throw badInput(`--cluster ${name}: there is no lab of that name on this machine`, { where: '--cluster', hint: `kth lab status lists the labs; ${make(options.proxyModes?.[0] ?? 'iptables', name)} makes one` });
    if (lab.state !== 'ready') throw environmentError(`--cluster ${name}: the lab is ${lab.state}${lab.why ? ` (${lab.why})` : ''}`, { where: '--cluster', hint: `kth lab down --name ${name}, then ${make(lab.spec.proxyMode, name)}` });
    const spec = lab.spec;
    const differs = [
      ...(spec.proxyMode === 'cilium' ? optionsDiffer('cilium', options.spec.cilium, spec.cilium) : []),
      ...(spec.proxyMode === 'ipvs' ? optionsDiffer('ipvs', options.spec.ipvs, spec.ipvs) : []),
    ];
    if (differs.length > 0) throw badInput(`--cluster ${name}: the scenario sets ${differs.join(', ')}`, { where: '--cluster', hint: 'run without --cluster (the run makes a lab with the scenario\'s options), or make the lab with them' });
    kept = { name, proxyMode: spec.proxyMode, nodes: spec.nodes, provider: keptLabProvider(spec, { retain: options.retain }) };
  } else {
    const record = readKindRecords().find((r) => r.name === name);
    if (!record) throw badInput(`--cluster ${name}: the harness made no kind cluster of that name on this machine`, { where: '--cluster', hint: `kth kind status lists them; ${make(options.proxyModes?.[0] ?? 'iptables')} makes one (a cluster the harness did not make: --provider existing)` });
    kept = { name, proxyMode: record.proxyMode, nodes: record.nodes, provider: keptKindProvider(record, { retain: options.retain, goServers: options.goServers }) };
  }
  if (options.proxyModes && (options.proxyModes.length !== 1 || options.proxyModes[0] !== kept.proxyMode)) {
    throw badInput(`--proxy-mode ${options.proxyModes.join(',')}: ${provider === 'lab' ? 'lab' : 'kind cluster'} ${name} runs ${kept.proxyMode}`, { where: '--proxy-mode', hint: `drop --proxy-mode (the cluster's own mode is run), or name a cluster in that mode` });
  }
  if (kept.nodes !== options.nodes) {
    throw badInput(`--cluster ${name} has ${kept.nodes} node(s); scenario ${options.spec.name} is written for ${options.nodes}`, { where: '--cluster', hint: make(kept.proxyMode) });
  }
  return kept;
}

/** The options a scenario sets that the cluster has otherwise, as `cilium.lbAlgorithm=maglev (the lab: random)`. */
function optionsDiffer(what: string, wanted: object | undefined, has: object | undefined): string[] {
  const actual = (has ?? {}) as Record<string, unknown>;
  return Object.entries(wanted ?? {})
    .filter(([key, value]) => value !== undefined && JSON.stringify(actual[key]) !== JSON.stringify(value))
    .map(([key, value]) => `${what}.${key}=${JSON.stringify(value)} (the lab: ${actual[key] === undefined ? 'default' : JSON.stringify(actual[key])})`);
}
