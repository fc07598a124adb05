import { comparison, fairShare, goawayText, ingressText, loadBalancerText, numberedTimeline, rateSeries } from '../../../harness/report/view.ts';
import { fixtureReport } from './fixture.ts';

const pod = (name: string) => ({ name, node: '', ip: '', requests: 0, connections: 0, share: 0, errors: 0, latencyMs: { p50: null, p90: null, p99: null, max: null } });

describe('rateSeries', () => {
  it('GIVEN two loads hitting one pod and a second with no responses at all THEN loads add up and the silent second is 0, not skipped', () => {
    const series = rateSeries({
      pods: undefined,
      series: [
        { t: 0, load: 'http', pod: 'a', requests: 10, errors: 0 },
        { t: 0, load: 'grpc', pod: 'a', requests: 5, errors: 1 },
        { t: 0, load: 'http', pod: 'b', requests: 7, errors: 0 },
        // t = 1000: an outage, nothing answered.
        { t: 2000, load: 'http', pod: 'b', requests: 9, errors: 2 },
      ],
    });
    expect(series.times).toEqual([0, 1000, 2000]);
    expect(series.pods).toEqual([
      { name: 'a', rps: [15, 0, 0] },
      { name: 'b', rps: [7, 0, 9] },
    ]);
    expect(series.errors).toEqual([1, 0, 2]);
  });

  it('GIVEN pods in the run that never appear in the series THEN they still get a (flat zero) line, in the run\'s pod order', () => {
    const series = rateSeries({ pods: [pod('z'), pod('a')], series: [{ t: 0, load: 'x', pod: 'a', requests: 1, errors: 0 }] });
    expect(series.pods).toEqual([
      { name: 'z', rps: [0] },
      { name: 'a', rps: [1] },
    ]);
  });

  it('GIVEN no series THEN empty', () => {
    expect(rateSeries({ series: [], pods: [] })).toEqual({ times: [], pods: [], errors: [] });
  });
});

describe('fairShare', () => {
  it('GIVEN 4 pods THEN 0.25; GIVEN none THEN null', () => {
    expect(fairShare({ pods: ['a', 'b', 'c', 'd'].map(pod) })).toBe(0.25);
    expect(fairShare({ pods: [] })).toBeNull();
  });
});

describe('endpoint propagation in words', () => {
  it('GIVEN pods added and removed THEN the text gives the longest wait for traffic and says old pods answered after leaving', async () => {
    const { propagationText } = await import('../../../harness/report/view.ts');
    const run = {
      proxyMode: 'iptables', variant: 'v', status: 'passed', durationMs: 1, timeline: [], series: [], checks: [],
      metrics: { propagationLagMs: 250, trafficAfterRemovalMs: 980 },
      propagation: [
        { pod: 'new', change: 'added', sliceAtMs: 1000, requestAtMs: 1250, lagMs: 250 },
        { pod: 'old', change: 'removed', sliceAtMs: 1000, requestAtMs: 1980, lagMs: 980 },
      ],
    } as unknown as Parameters<typeof propagationText>[0];
    expect(propagationText(run)).toMatch(/1 pod\(s\) became ready; first traffic after at most 250.*1 pod\(s\) left the endpoints; the last answered up to 980/);
  });

  it('GIVEN removed pods that had all stopped before leaving THEN it says so; GIVEN no changes THEN nothing is said', async () => {
    const { propagationText } = await import('../../../harness/report/view.ts');
    const base = { proxyMode: 'iptables', variant: 'v', status: 'passed', durationMs: 1, timeline: [], series: [], checks: [] };
    const stopped = { ...base, metrics: { trafficAfterRemovalMs: -50 }, propagation: [{ pod: 'old', change: 'removed', sliceAtMs: 1000, requestAtMs: 950, lagMs: -50 }] } as unknown as Parameters<typeof propagationText>[0];
    expect(propagationText(stopped)).toMatch(/every one had stopped answering before it left \(by 50/);
    expect(propagationText(base as unknown as Parameters<typeof propagationText>[0])).toBeUndefined();
  });
});

describe('rebalance in words', () => {
  it('GIVEN a scale-out run THEN the time says how it was taken (the stated fraction of the fair share); GIVEN none THEN nothing', async () => {
    const { rebalanceText } = await import('../../../harness/report/view.ts');
    const base = { proxyMode: 'iptables', variant: 'v', status: 'passed', durationMs: 1, timeline: [], series: [], checks: [] };
    const run = (metrics: Record<string, unknown>) => ({ ...base, metrics }) as unknown as Parameters<typeof rebalanceText>[0];
    expect(rebalanceText(run({ rebalanceSeconds: 3.5, rebalanceFraction: 0.5 }))).toBe('3.5 s after the scale-out (every new pod at ≥ 50% of its fair share within one second)');
    expect(rebalanceText(run({ rebalanceSeconds: null }))).toBe('never rebalanced (every new pod at ≥ 80% of its fair share within one second)');
    expect(rebalanceText(run({}))).toBeUndefined();
  });
});

describe('comparison rows that only some reports have', () => {
  it('GIVEN runs without a server, scale-out or GOAWAYs (older reports) THEN the table has no such rows', () => {
    const report = fixtureReport();
    for (const run of report.runs) {
      delete run.server;
      if (run.metrics) {
        delete run.metrics.rebalanceSeconds;
        delete run.metrics.goaways;
      }
    }
    expect(comparison(report).rows.map((row) => row[0])).not.toEqual(expect.arrayContaining(['server', 'rebalance', 'GOAWAYs received']));
  });

  it('GIVEN one run with a Go server, a rebalance time and GOAWAYs (some inferred) THEN each gets a row, and runs without say —', () => {
    const report = fixtureReport();
    const [first] = report.runs;
    first!.server = { kind: 'grpc', runtime: 'go', implementation: 'grpc-go' };
    first!.metrics = { ...first!.metrics!, rebalanceSeconds: 3, goaways: 12, goawaysInferred: 4 };
    const rows = Object.fromEntries(comparison(report).rows.map((row) => [row[0], row.slice(1)]));
    expect(rows.server![0]).toBe('grpc-go');
    expect(rows.rebalance![0]).toBe('3 s');
    expect(rows['GOAWAYs received']![0]).toBe('12 (4 inferred)');
    expect(goawayText({ metrics: undefined })).toBe('—');
    for (const cells of [rows.server!, rows['GOAWAYs received']!]) expect(cells.slice(1).every((cell: string) => cell === '—')).toBe(true);
  });

  it('GIVEN timeline entries recorded out of time order THEN numberedTimeline numbers them by time, ties in recorded order', () => {
    const timeline = [
      { t: 10_236, kind: 'endpoint-removed', detail: 'old' },
      { t: 10_000, kind: 'chaos-start', detail: 'rollout-restart' },
      { t: 10_236, kind: 'endpoint-ready', detail: 'new' },
    ];
    expect(numberedTimeline({ timeline }).map(({ n, entry }) => `${n} ${entry.kind}`)).toEqual(['1 chaos-start', '2 endpoint-removed', '3 endpoint-ready']);
  });
});

describe('loadBalancerText', () => {
  it('GIVEN the load balancer\'s view of a Local Service THEN each node says whether it receives and why; without a view, nothing', () => {
    const text = loadBalancerText({ loadBalancer: { nodes: [
      { node: 'lab-node-1', receives: true, detail: 'healthCheckNodePort 31000: 200, 2 local endpoints' },
      { node: 'lab-node-3', receives: false, detail: 'healthCheckNodePort 31000: 503, 0 local endpoints' },
    ] } });
    expect(text).toBe('lab-node-1 receives (healthCheckNodePort 31000: 200, 2 local endpoints); lab-node-3 skipped (healthCheckNodePort 31000: 503, 0 local endpoints)');
    expect(loadBalancerText({})).toBeUndefined();
  });
});

describe('ingressText', () => {
  const replicas = [{ pod: 'ingress-a', node: 'lab-node-1', podIp: '198.18.128.5', requests: 30 }, { pod: 'ingress-b', node: 'lab-node-2', podIp: '198.18.129.5', requests: 10 }];
  it('GIVEN a round-robin controller THEN each replica\'s part and the top node share, nothing about the ClusterIP', () => {
    const text = ingressText({ ingress: { controller: 'traefik', version: 'v3.7.13', image: 'traefik:v3.7.13', lb: 'round-robin', replicas }, metrics: { ingressTopNodeShare: 0.75 } as never });
    expect(text).toBe('traefik v3.7.13 × 2; ingress-a on lab-node-1 carried 30 (75.0%); ingress-b on lab-node-2 carried 10 (25.0%); one node\'s replicas carried at most 75.0%');
  });
  it('GIVEN lb native THEN it says the proxy picked per controller connection; GIVEN no Ingress THEN nothing', () => {
    expect(ingressText({ ingress: { controller: 'traefik', version: 'v3.7.13', image: 'traefik:v3.7.13', lb: 'native', replicas: replicas.slice(0, 1) } })).toMatch(/^traefik v3\.7\.13 × 1, to the Service's ClusterIP \(nativeLB: the proxy picked a pod per controller connection\); ingress-a/);
    expect(ingressText({})).toBeUndefined();
  });
});
