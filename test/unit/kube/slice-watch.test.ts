import type { V1EndpointSlice } from '@kubernetes/client-node';
import { sliceChange } from '../../../harness/kube/slice-watch.ts';

describe('an EndpointSlice as the run timeline records it', () => {
  it('GIVEN a slice with a ready, a terminating and an unset-conditions endpoint THEN conditions follow the API defaults and the server time is the newest managedFields time', () => {
    const slice: V1EndpointSlice = {
      addressType: 'IPv4',
      metadata: {
        name: 'web-abc',
        namespace: 'kth-x',
        resourceVersion: '42',
        creationTimestamp: new Date('2026-11-25T10:00:00Z'),
        managedFields: [{ time: new Date('2026-11-25T10:00:05Z') }, { time: new Date('2026-11-25T10:00:07Z') }],
      },
      endpoints: [
        { addresses: ['198.18.128.2'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'n1', targetRef: { kind: 'Pod', name: 'web-1' } },
        { addresses: ['198.18.129.2'], conditions: { ready: false, serving: true, terminating: true }, nodeName: 'n2', targetRef: { kind: 'Pod', name: 'web-2' } },
        { addresses: ['198.18.130.2'], targetRef: { kind: 'Pod', name: 'web-3' } },
      ],
    };
    const change = sliceChange('MODIFIED', slice, 'web', 1234);
    expect(change).toMatchObject({ kind: 'endpointslice-change', t: 1234, change: 'modified', namespace: 'kth-x', service: 'web', slice: 'web-abc', resourceVersion: '42' });
    expect(change.serverTime).toBe(Date.parse('2026-11-25T10:00:07Z'));
    expect(change.endpoints.map((e) => [e.pod, e.node, e.ready, e.serving, e.terminating])).toEqual([
      ['web-1', 'n1', true, true, false],
      ['web-2', 'n2', false, true, true],
      ['web-3', '', true, true, false],
    ]);
  });

  it('GIVEN ADDED and DELETED THEN the change says so; without managedFields the creation time stands', () => {
    const slice: V1EndpointSlice = { addressType: 'IPv4', metadata: { name: 's', creationTimestamp: new Date('2026-11-25T10:00:00Z') }, endpoints: [] };
    expect(sliceChange('ADDED', slice, 'web', 1).change).toBe('added');
    expect(sliceChange('DELETED', slice, 'web', 1).change).toBe('deleted');
    expect(sliceChange('ADDED', slice, 'web', 1).serverTime).toBe(Date.parse('2026-11-25T10:00:00Z'));
  });
});
