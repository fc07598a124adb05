import type { V1Node } from '@kubernetes/client-node';
import { nodeUnfit } from '../../../harness/kube/cluster.ts';

const node = (ready: 'True' | 'False' | 'Unknown', extra: { taints?: { key: string; effect: string }[]; unschedulable?: boolean } = {}): V1Node => ({
  metadata: { name: 'n' },
  spec: { taints: extra.taints, unschedulable: extra.unschedulable },
  status: { conditions: [{ type: 'Ready', status: ready, reason: ready === 'True' ? 'KubeletReady' : 'NodeStatusUnknown' }] },
});

describe('nodeUnfit: whether a node can take a run\'s pods now', () => {
  it('GIVEN a Ready, untainted, schedulable node THEN fit (other taints, such as a control-plane one, are the scheduler\'s business)', () => {
    expect(nodeUnfit(node('True'))).toBeUndefined();
    expect(nodeUnfit(node('True', { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] }))).toBeUndefined();
  });

  it('GIVEN a node that is back Ready but still carries the lifecycle controller\'s taint THEN unfit, naming the taint: pods deployed now would all land elsewhere', () => {
    expect(nodeUnfit(node('True', { taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }] }))).toBe('tainted node.kubernetes.io/unreachable:NoSchedule');
  });

  it('GIVEN a lost, a cordoned or a missing node THEN unfit, saying which', () => {
    expect(nodeUnfit(node('Unknown'))).toBe('Ready=Unknown (NodeStatusUnknown)');
    expect(nodeUnfit(node('True', { unschedulable: true }))).toBe('cordoned (unschedulable)');
    expect(nodeUnfit(undefined)).toBe('not found');
  });
});
