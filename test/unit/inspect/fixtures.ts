import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { V1EndpointSlice, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import type { InspectInput, NodeRulesText } from '../../../harness/inspect/model.ts';

/** Real captured API objects and kube-proxy rules (see fixtures/README.md). */
export type State = 'ipt-steady' | 'ipt-stale' | 'ipt-one' | 'ipt-terminating' | 'nft-steady' | 'nft-stale' | 'nft-one' | 'nft-terminating';
export type ServiceName = 'web' | 'web-aff';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

export function fixtureText(state: State, file: string): string {
  return readFileSync(join(dir, state, file), 'utf8');
}

interface Api {
  services: Record<ServiceName, V1Service>;
  endpointSlices: Record<ServiceName, V1EndpointSlice[]>;
  pods: V1Pod[];
  nodes: V1Node[];
}

export function fixtureApi(state: State): Api {
  return JSON.parse(fixtureText(state, 'api.json')) as Api;
}

export function labOf(state: State): string {
  return state.startsWith('ipt') ? 'insp' : 'inspn';
}

/** Each node's rules as gather.ts reads them on a lab. */
export function fixtureRules(state: State): NodeRulesText[] {
  const lab = labOf(state);
  return [1, 2].map((i): NodeRulesText => state.startsWith('ipt')
    ? { node: `${lab}-node-${i}`, netns: `kth-${lab}-n${i}`, mode: 'iptables', nat: fixtureText(state, `iptables-nat-n${i}.txt`), filter: fixtureText(state, `iptables-filter-n${i}.txt`) }
    : { node: `${lab}-node-${i}`, netns: `kth-${lab}-n${i}`, mode: 'nftables', nft: fixtureText(state, `nft-n${i}.txt`) });
}

/** The whole input of inspectService for one captured state, as `--lab` gathers it. */
export function fixtureInput(state: State, service: ServiceName = 'web'): InspectInput {
  const api = fixtureApi(state);
  return {
    service: api.services[service],
    endpointSlices: api.endpointSlices[service],
    pods: api.pods,
    nodes: api.nodes,
    proxy: { mode: state.startsWith('ipt') ? 'iptables' : 'nftables', source: `lab ${labOf(state)}` },
    rules: fixtureRules(state),
    lab: labOf(state),
  };
}
