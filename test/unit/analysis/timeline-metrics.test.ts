import { crossCheck } from '../../../harness/analysis/cross-check.ts';
import { endpointTransitions, propagationLag } from '../../../harness/analysis/propagation.ts';
import { rebalanceTime } from '../../../harness/analysis/rebalance.ts';
import { chaosWindows, errorsPerWindow, servedWithin } from '../../../harness/analysis/windows.ts';
import { crossNodeRatio, sourceIpPreservedRatio } from '../../../harness/analysis/network.ts';
import type { EndpointSliceChange, ErrorSample, RequestSample, SliceEndpoint, TimelineEvent } from '../../../harness/recorder/events.ts';

function sample(t: number, pod: string, requests: number, extra: Partial<RequestSample> = {}): RequestSample {
  return { kind: 'request-sample', t, bucketMs: 1000, source: 'http', pod, node: `node-of-${pod}`, podIp: '', via: 'vip:80', requests, errors: 0, newConnections: 0, peerChecked: 0, peerPreserved: 0, firstAt: t, lastAt: t + 999, ...extra };
}

describe('rebalanceTime', () => {
  // Old pods a, b; the scale-out adds c and d → 4 pods, fair share 1/4, threshold 0.8 × 0.25 = 0.2.
  const samples = [
    sample(9000, 'a', 50), sample(9000, 'b', 50),
    sample(10000, 'a', 50), sample(10000, 'b', 50),
    sample(11000, 'a', 40), sample(11000, 'b', 40), sample(11000, 'c', 15), sample(11000, 'd', 5), // d: 5/100 = 0.05
    sample(12000, 'a', 30), sample(12000, 'b', 30), sample(12000, 'c', 20), sample(12000, 'd', 20), // c, d: 0.2 each
  ];
  it('GIVEN new pods reach 20% each in the bucket [12s,13s) WHEN scale-out was at 10.0s THEN 3.0 s (to the end of that bucket)', () => {
    const result = rebalanceTime(samples, { scaleOutAt: 10_000, newPods: ['c', 'd'], podCount: 4 });
    expect(result.threshold).toBeCloseTo(0.2, 12);
    expect(result.reachedBucket).toBe(12_000);
    expect(result.seconds).toBe(3);
  });
  it('GIVEN the scale-out at 10.4s THEN 13.0 − 10.4 = 2.6 s', () => {
    expect(rebalanceTime(samples, { scaleOutAt: 10_400, newPods: ['c', 'd'], podCount: 4 }).seconds).toBeCloseTo(2.6, 12);
  });
  it('GIVEN a threshold never reached THEN null, with each new pod\'s best bucket share', () => {
    const result = rebalanceTime(samples, { scaleOutAt: 10_000, newPods: ['c', 'd'], podCount: 4, fraction: 1 });
    expect(result.seconds).toBeNull();
    expect(result.bestShare).toEqual({ c: 0.2, d: 0.2 });
  });
  it('GIVEN sustainBuckets 2 and only one good bucket THEN null', () => {
    expect(rebalanceTime(samples, { scaleOutAt: 10_000, newPods: ['c', 'd'], podCount: 4, sustainBuckets: 2 }).seconds).toBeNull();
  });
});

function slice(t: number, name: string, endpoints: Array<Partial<SliceEndpoint> & { pod: string }>, change: EndpointSliceChange['change'] = 'modified'): EndpointSliceChange {
  return {
    kind: 'endpointslice-change', t, serverTime: t - 50, change, namespace: 'ns', service: 'echo', slice: name, resourceVersion: String(t),
    endpoints: endpoints.map((e) => ({ addresses: [], node: '', ready: true, serving: true, terminating: false, ...e })),
  };
}

describe('endpoint propagation lag', () => {
  const changes = [
    slice(1000, 's1', [{ pod: 'a' }, { pod: 'b' }], 'added'),
    slice(5000, 's1', [{ pod: 'a' }, { pod: 'b' }, { pod: 'c' }]),
    slice(9000, 's1', [{ pod: 'a', ready: false, terminating: true }, { pod: 'b' }, { pod: 'c' }]),
  ];
  const samples = [
    sample(1000, 'a', 10, { firstAt: 1010, lastAt: 1990 }),
    sample(5000, 'c', 3, { firstAt: 5230, lastAt: 5900 }), // c's first response 230 ms after it became ready
    sample(9000, 'a', 4, { firstAt: 9001, lastAt: 9120 }), // a's last response 120 ms after it was taken out
  ];
  it('GIVEN slice changes THEN each pod\'s routable transitions are derived from ready endpoints', () => {
    expect(endpointTransitions(changes)).toEqual([
      { pod: 'a', change: 'added', at: 1000 },
      { pod: 'b', change: 'added', at: 1000 },
      { pod: 'c', change: 'added', at: 5000 },
      { pod: 'a', change: 'removed', at: 9000 },
    ]);
  });
  it('GIVEN the server clock THEN serverTime is used', () => {
    expect(endpointTransitions(changes, 'server')[2]).toEqual({ pod: 'c', change: 'added', at: 4950 });
  });
  it('GIVEN responses THEN added lag = first response − add (230 ms) and removed lag = last response − removal (120 ms)', () => {
    const result = propagationLag(endpointTransitions(changes), samples, { ignoreInitial: true });
    expect(result.lags).toEqual([
      { pod: 'c', change: 'added', sliceAt: 5000, requestAt: 5230, lagMs: 230 },
      { pod: 'a', change: 'removed', sliceAt: 9000, requestAt: 9120, lagMs: 120 },
    ]);
    expect(result.maxAddedLagMs).toBe(230);
    expect(result.maxRemovedLagMs).toBe(120);
  });
  it('GIVEN a pod that never answered after being added THEN its lag is null, not 0', () => {
    const result = propagationLag([{ pod: 'z', change: 'added', at: 100 }], samples);
    expect(result.lags[0]).toEqual({ pod: 'z', change: 'added', sliceAt: 100, requestAt: null, lagMs: null });
    expect(result.maxAddedLagMs).toBeNull();
  });
  it('GIVEN traffic stopped before the removal THEN the removed lag is negative', () => {
    const result = propagationLag([{ pod: 'a', change: 'added', at: 0 }, { pod: 'a', change: 'removed', at: 3000 }], [sample(1000, 'a', 10, { firstAt: 1010, lastAt: 1990 })]);
    expect(result.lags[1]?.lagMs).toBe(1990 - 3000);
  });
});

function errorSample(errorKind: string, count: number, firstAt: number, lastAt: number): ErrorSample {
  return { kind: 'error-sample', t: Math.floor(firstAt / 1000) * 1000, bucketMs: 1000, source: 'http', errorKind: errorKind as ErrorSample['errorKind'], pod: '', connectionPod: '', via: '', count, example: '', firstAt, lastAt };
}

describe('errorsPerWindow', () => {
  it('GIVEN errors inside, straddling and outside a window THEN certain and straddling counts are kept apart', () => {
    const samples = [errorSample('reset', 3, 2100, 2900), errorSample('timeout', 2, 3800, 4200), errorSample('http-5xx', 1, 5000, 5000)];
    const [result] = errorsPerWindow(samples, [{ name: 'during:rollout', from: 2000, to: 4000 }]);
    expect(result).toEqual({ window: { name: 'during:rollout', from: 2000, to: 4000 }, errors: 3, straddling: 2, byKind: { reset: 3 } });
  });
  it('GIVEN chaos start/end events THEN during and after windows', () => {
    const events: TimelineEvent[] = [
      { kind: 'chaos-start', t: 1000, id: 'k1', action: 'pod-kill', target: 'a', detail: {} },
      { kind: 'chaos-end', t: 1500, id: 'k1', action: 'pod-kill', target: 'a', ok: true, detail: {} },
    ];
    expect(chaosWindows(events, 5000)).toEqual([
      { name: 'during:pod-kill:k1', from: 1000, to: 1500 },
      { name: 'after:pod-kill:k1', from: 1500, to: 6500 },
    ]);
  });
});

describe('servedWithin (metrics.servedDuringFaults)', () => {
  const windows = [{ name: 'node-down', from: 10_000, to: 20_000 }];
  it('GIVEN answers and failures inside, across an edge and outside the fault THEN only samples wholly inside count, an error status once, as failed', () => {
    const requests = [
      sample(11_000, 'a', 10, { errors: 2, firstAt: 11_000, lastAt: 11_900 }), // 8 answered, 2 with an error status
      sample(12_000, 'b', 5, { firstAt: 12_100, lastAt: 12_800 }),
      sample(9_000, 'a', 7, { firstAt: 9_500, lastAt: 10_400 }), // crosses the start
      sample(20_000, 'a', 9, { firstAt: 20_000, lastAt: 20_900 }), // after
    ];
    const errors = [errorSample('http-5xx', 2, 11_000, 11_900), errorSample('timeout', 6, 15_000, 15_700), errorSample('refused', 4, 19_800, 20_300)];
    expect(servedWithin(requests, errors, windows)).toEqual({ ok: 13, failed: 8, straddling: 11 });
  });
  it('GIVEN several windows THEN a sample inside any one of them counts, and none inside leaves both counts at 0', () => {
    const two = [...windows, { name: 'network', from: 30_000, to: 40_000 }];
    expect(servedWithin([sample(31_000, 'a', 4, { firstAt: 31_000, lastAt: 31_500 })], [], two)).toEqual({ ok: 4, failed: 0, straddling: 0 });
    expect(servedWithin([sample(25_000, 'a', 4)], [errorSample('reset', 1, 25_000, 25_000)], two)).toEqual({ ok: 0, failed: 0, straddling: 0 });
  });
});

describe('source IP and cross-node ratios', () => {
  it('GIVEN 30 checked responses of which 24 kept the source IP THEN 0.8', () => {
    expect(sourceIpPreservedRatio([{ peerChecked: 10, peerPreserved: 10 }, { peerChecked: 20, peerPreserved: 14 }])).toBeCloseTo(0.8, 12);
  });
  it('GIVEN nothing checked THEN null', () => expect(sourceIpPreservedRatio([{ peerChecked: 0, peerPreserved: 0 }])).toBeNull());
  it('GIVEN requests entering node-1 served on node-1 (60) and node-2 (40), and 5 via an unknown address THEN 40/100 cross-node', () => {
    const result = crossNodeRatio(
      [
        { via: '10.0.0.1:30080', node: 'node-1', requests: 60 },
        { via: '10.0.0.1:30080', node: 'node-2', requests: 40 },
        { via: '10.9.9.9:30080', node: 'node-1', requests: 5 },
      ],
      (via) => (via.startsWith('10.0.0.1:') ? 'node-1' : undefined),
    );
    expect(result).toEqual({ ratio: 0.4, crossNode: 40, known: 100, unknown: 5 });
  });
});

describe('crossCheck', () => {
  it('GIVEN clients a=10 b=5 and servers a=10 b=6 c=1 THEN both differences are listed and they do not agree', () => {
    const result = crossCheck(new Map([['a', 10], ['b', 5]]), new Map([['a', 10], ['b', 6], ['c', 1]]));
    expect(result.rows).toEqual([
      { pod: 'a', client: 10, server: 10, difference: 0 },
      { pod: 'b', client: 5, server: 6, difference: 1 },
      { pod: 'c', client: null, server: 1, difference: null },
    ]);
    expect(result.agree).toBe(false);
    expect(result.clientTotal).toBe(15);
    expect(result.serverTotal).toBe(17);
    expect(result.differences).toEqual(['b: server counted 6 requests, clients attributed 5 (difference +1)', 'c: server counted 1 requests, the clients attributed none to it']);
  });
  it('GIVEN identical counts THEN they agree', () => {
    expect(crossCheck(new Map([['a', 3]]), new Map([['a', 3]])).agree).toBe(true);
  });
  it('GIVEN a pod no client reached and whose server counted 0 THEN both sides agree on 0', () => {
    const result = crossCheck(new Map([['a', 3]]), new Map([['a', 3], ['idle', 0]]));
    expect(result.rows).toContainEqual({ pod: 'idle', client: 0, server: 0, difference: 0 });
    expect(result.agree).toBe(true);
  });
  it('GIVEN no server counts THEN they do not "agree" by default', () => {
    const result = crossCheck(new Map([['a', 3]]), null);
    expect(result.agree).toBe(false);
    expect(result.serverTotal).toBeNull();
  });
});
