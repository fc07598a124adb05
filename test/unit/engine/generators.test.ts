import { describe, expect, it } from '@jest/globals';
import { followedEndpoints, generatorRow } from '../../../harness/engine/generators.ts';
import type { RequestSample } from '../../../harness/recorder/events.ts';
import { generatorTable } from '../../../harness/report/view.ts';

const summary = { totals: { requests: 10, errors: 0, dropped: 0 }, latencyMs: { p99: 1 }, load: { sent: 10 } } as never;
const row = (index: number, node: string) => generatorRow({ load: 'client', index, node, durationMs: 1000, rate: undefined, summary });

/** Requests answered by `pod` between two times (epoch ms), as one bucket. */
const served = (pod: string, firstAt: number, lastAt: number): RequestSample => ({
  kind: 'request-sample', t: firstAt, bucketMs: 1000, source: 'client' as never, pod, node: 'n', podIp: '10.0.0.1', via: 'vip', requests: 5, errors: 0,
  newConnections: 5, peerChecked: 0, peerPreserved: 0, firstAt, lastAt,
});

describe('each generator\'s view of the endpoints (its own node\'s proxy)', () => {
  // old-1 serves from the start and leaves at 10 000; new-1 joins at 10 000.
  const transitions = [
    { pod: 'old-1', change: 'added', at: 0 },
    { pod: 'old-1', change: 'removed', at: 10_000 },
    { pod: 'new-1', change: 'added', at: 10_000 },
  ] as const;

  it('GIVEN a generator on a node whose proxy stalled THEN it reaches the removed pod long after and the new one late; a generator elsewhere follows at once', () => {
    const samples: Record<number, RequestSample[]> = {
      // Node 1's proxy stalled for 20 s: still on old-1 until 30 000, new-1 first at 30 500.
      1: [served('old-1', 1000, 30_000), served('new-1', 30_500, 40_000)],
      // Node 2's followed within half a second.
      2: [served('old-1', 1000, 10_300), served('new-1', 10_500, 40_000)],
    };
    const rows = followedEndpoints([row(0, 'n1'), row(1, 'n2')], transitions, (r) => samples[r.generator] ?? []);
    expect(rows.map((r) => [r.node, r.propagationLagMs, r.trafficAfterRemovalMs])).toEqual([['n1', 20_500, 20_000], ['n2', 500, 300]]);

    const table = generatorTable({ generators: rows })!;
    const column = (name: string) => table.rows.map((cells) => cells[table.head.indexOf(name)]);
    expect(column('new pods: first request after Ready')).toEqual(['20500 ms', '500 ms']);
    expect(column('removed pods: last request after removal')).toEqual(['20000 ms', '300 ms']);
  });

  it('GIVEN a generator that never reached the new pod, or the removed one only before it left THEN it says so; GIVEN no change at all THEN no endpoint columns', () => {
    // Its last request to old-1 a second before old-1 left (as the run's metric, negative then).
    const rows = followedEndpoints([row(0, 'n1')], transitions, () => [served('old-1', 1000, 9000)]);
    expect([rows[0]!.propagationLagMs, rows[0]!.trafficAfterRemovalMs]).toEqual([null, -1000]);
    expect(generatorTable({ generators: rows })!.rows[0]!.slice(-3, -1)).toEqual(['never', '-1000 ms']);
    const none = followedEndpoints([row(0, 'n1')], transitions, () => [served('new-1', 10_500, 12_000)]);
    expect(generatorTable({ generators: none })!.rows[0]!.slice(-3, -1)).toEqual(['500 ms', 'none after removal']);

    // Only a removal (a scale-down): no new-pod figure, rather than a misleading "never".
    const onlyRemoval = followedEndpoints([row(0, 'n1')], transitions.slice(0, 2), () => []);
    expect(onlyRemoval[0]).not.toHaveProperty('propagationLagMs');
    expect(generatorTable({ generators: onlyRemoval })!.rows[0]!.slice(-3, -1)).toEqual(['—', 'none after removal']);

    const unchanged = followedEndpoints([row(0, 'n1')], transitions.slice(0, 1), () => []);
    expect(generatorTable({ generators: unchanged })!.head).not.toContain('removed pods: last request after removal');
  });
});
