import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { V1EndpointSlice, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import type { InspectInput, NodeRulesText } from '../../../harness/inspect/model.ts';

/** Real captured API objects and kube-proxy rules or Cilium maps (see fixtures/README.md). */
export type CiliumState = 'cil-steady' | 'cil-stale' | 'cil-one' | 'cil-terminating' | 'cil-none';
/** ipvsadm text written by hand in ipvsadm's format for the API state of the cil-* capture of the same name (README.md). */
export type IpvsState = 'ipvs-steady' | 'ipvs-stale' | 'ipvs-terminating';
export type State = 'ipt-steady' | 'ipt-stale' | 'ipt-one' | 'ipt-terminating' | 'nft-steady' | 'nft-stale' | 'nft-one' | 'nft-terminating' | CiliumState | IpvsState;
/** web-np exists in the cil-* and ipvs-* fixtures only. */
export type ServiceName = 'web' | 'web-aff' | 'web-np';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

export function fixtureText(state: State, file: string): string {
  return readFileSync(join(dir, state, file), 'utf8');
}

function optionalText(state: State, file: string): string | undefined {
  return existsSync(join(dir, state, file)) ? fixtureText(state, file) : undefined;
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
  return state.startsWith('nft') ? 'inspn' : 'insp';
}

function modeOf(state: State): NodeRulesText['mode'] {
  return state.startsWith('ipt') ? 'iptables' : state.startsWith('nft') ? 'nftables' : state.startsWith('ipvs') ? 'ipvs' : 'cilium';
}

/** Each node's rules as gather.ts reads them on a lab (2 nodes for ipt/nft, 3 for cil and ipvs; a file per command output). */
export function fixtureRules(state: State): NodeRulesText[] {
  const lab = labOf(state);
  if (modeOf(state) === 'cilium') {
    return [1, 2, 3].map((i): NodeRulesText => {
      const files = {
        bpfLb: optionalText(state, `cilium-bpf-lb-n${i}.json`),
        bpfLbFrontends: optionalText(state, `cilium-bpf-lb-frontends-n${i}.json`),
        ciliumServices: optionalText(state, `cilium-service-n${i}.json`),
        agentError: optionalText(state, `cilium-agent-error-n${i}.txt`),
      };
      return {
        node: `${lab}-node-${i}`,
        netns: `kth-${lab}-n${i}`,
        mode: 'cilium',
        lbAlgorithm: 'random',
        ...Object.fromEntries(Object.entries(files).filter(([, v]) => v !== undefined)),
      };
    });
  }
  if (modeOf(state) === 'ipvs') {
    return [1, 2, 3].map((i): NodeRulesText => ({ node: `${lab}-node-${i}`, netns: `kth-${lab}-n${i}`, mode: 'ipvs', ipvs: fixtureText(state, `ipvsadm-n${i}.txt`) }));
  }
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
    proxy: { mode: modeOf(state), source: `lab ${labOf(state)}` },
    rules: fixtureRules(state),
    lab: labOf(state),
  };
}
