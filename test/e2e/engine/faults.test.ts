/** @lab iptables/3 */
import type { LabInfo } from '../../../harness/lab/lab.ts';
import type { Report, RunReport } from '../../../harness/report/model.ts';
import { failures, kthRun } from '../../support/kth-run.ts';
import { useSharedLab } from '../../support/shared-lab.ts';

const entries = (run: RunReport, kind: string) => run.timeline.filter((entry) => entry.kind === kind);
const variant = (report: Report, name: string) => report.runs.find((run) => run.variant === name)!;

/**
 * Issue 13's fault actions, end to end on a lab in iptables mode: each fault's effect on the
 * traffic as the report shows it, and each lasting fault undone within its run.
 */
describe('node, kube-proxy and network faults on the lab', () => {
  // One lab for the three runs (--cluster): every lasting fault is undone when its run ends, so
  // each run finds the nodes as the one before found them.
  const sharedLab = useSharedLab();
  let lab: LabInfo;
  beforeAll(() => {
    lab = sharedLab();
  });
  const onLab = () => ['--proxy-mode', 'iptables', '--cluster', lab.spec.name];

  it('GIVEN one fault per variant under short-lived load THEN each lands on the timeline with its effect, and every lasting fault is undone', async () => {
    const { code, stderr, report } = await kthRun('test/e2e/engine/fixtures/faults.ts', onLab());
    expect({ code, failed: failures(report), stderr: code === 0 ? '' : stderr.slice(-4000) }).toEqual({ code: 0, failed: [], stderr: '' });

    // readiness-flip: the pod leaves the endpoints without dying, comes back when undone, and the
    // servers' own counters still agree with the clients (the same pods served throughout).
    const flip = variant(report, 'readiness-flip');
    const flipped = /^(\S+) failing readiness$/.exec(entries(flip, 'chaos-end')[0]!.detail)?.[1];
    expect(flipped).toBeDefined();
    expect(entries(flip, 'endpoint-removed').map((entry) => entry.detail)).toEqual([`${flipped} left the EndpointSlices`]);
    expect(entries(flip, 'endpoint-ready').map((entry) => entry.detail)).toEqual([`${flipped} ready in the EndpointSlices`]);
    expect(entries(flip, 'chaos-end')[1]!.detail).toBe(`${flipped} ready again (after 6.0 s)`);
    expect(flip.totals?.serverCounted).toBe(flip.totals?.requests);

    // kube-proxy-restart: a new process on every node, rules kept across it: nothing lost.
    const restart = variant(report, 'kube-proxy-restart');
    expect(entries(restart, 'chaos-end')[0]!.detail).toMatch(/^kube-proxy on \S+-node-1 restarted \(pid \d+ → \d+\); .*-node-2 restarted .*-node-3 restarted/);
    expect(restart.errors?.total).toBe(0);

    // A partitioned pod fails its readiness probe, leaves the endpoints, and returns once restored.
    const partition = variant(report, 'pod-partition');
    const cut = /^network of pod (\S+): partitioned$/.exec(entries(partition, 'chaos-end')[0]!.detail)?.[1];
    expect(entries(partition, 'endpoint-removed').map((entry) => entry.detail)).toEqual([`${cut} left the EndpointSlices`]);
    expect(entries(partition, 'chaos-end')[1]!.detail).toBe(`network of pod ${cut} restored (after 5.0 s)`);

    // Half the packets of one node lost: connections there stall on SYN retransmits.
    const loss = variant(report, 'node-loss');
    expect(entries(loss, 'chaos-end').map((entry) => entry.detail)).toEqual([expect.stringMatching(/^network of \S+-node-3: 50% loss$/), expect.stringMatching(/^network of \S+-node-3 restored \(after 6\.0 s\)$/)]);
    expect(loss.latencyMs!.p99).toBeGreaterThan(1000);

    // A template change rolls out one pod at a time: 3 new pods in, 3 old ones out, none lost.
    const rollout = variant(report, 'rollout-env');
    expect(entries(rollout, 'chaos-end')[0]!.detail).toBe('rollout of web with APP_VERSION=2');
    expect(entries(rollout, 'endpoint-ready')).toHaveLength(3);
    expect(entries(rollout, 'endpoint-removed')).toHaveLength(3);
    expect(rollout.metrics?.newPodsReady).toBe(3);

    // Scaling down takes two pods out of the endpoints; the preStop sleep makes it lossless.
    const down = variant(report, 'scale-down');
    expect(entries(down, 'chaos-end')[0]!.detail).toBe('scaled web to 1 replicas');
    expect(entries(down, 'endpoint-removed')).toHaveLength(2);

    // The drain evicts this run's pod on node 2 (the budget allows one at a time); its replacement
    // becomes ready elsewhere; the node is uncordoned when the run ends.
    const drain = variant(report, 'drain-with-pdb');
    expect(entries(drain, 'chaos-end')[0]!.detail).toMatch(/^drained \S+-node-2: evicted web-\S+/);
    expect(drain.metrics?.newPodsReady).toBe(1);
    expect(drain.pods!.filter((pod) => pod.requests > 0 && pod.node.endsWith('-node-2'))).toHaveLength(1); // the evicted one, before it left
    expect(entries(drain, 'chaos-end').at(-1)!.detail).toMatch(/^uncordoned \S+-node-2 \(the run ended\)$/);
  }, 600_000);

  it('GIVEN proxy-stall THEN new pods get no traffic until kube-proxy resumes, the stall loses requests, a preStop sleep longer than the stall loses none, and with one node stalled only its client lags', async () => {
    const { code, stderr, report } = await kthRun('scenarios/proxy-stall.ts', ['--time-scale', '0.5', ...onLab()]);
    expect({ code, failed: failures(report), stderr: code === 0 ? '' : stderr.slice(-4000) }).toEqual({ code: 0, failed: [], stderr: '' });
    for (const run of report.runs) {
      const [paused, resumed] = entries(run, 'chaos-end').filter((entry) => entry.detail.startsWith('kube-proxy'));
      expect(paused!.detail).toMatch(/paused \(SIGSTOP pid \d+\)/);
      expect(resumed!.detail).toMatch(/resumed \(SIGCONT pid \d+\).*\(after 12\.0 s\)$/);
      if (run.variant !== 'one-node-stalls') {
        // Every new pod's first response came after the proxies resumed.
        for (const lag of run.propagation!.filter((entry) => entry.change === 'added')) expect(lag.requestAtMs!).toBeGreaterThan(resumed!.t - 100);
        continue;
      }
      // One stalled node among three, a client on each: the per-node checks passed above; here, that
      // the generators were where the checks assume, and what the table shows for each.
      expect(paused!.detail).toMatch(/^kube-proxy on \S+-1 paused/);
      expect(run.generators!.map((g) => g.node)).toEqual([1, 2, 3].map((n) => expect.stringMatching(new RegExp(`-${n}$`))));
      const [stalled, ...following] = run.generators!;
      for (const g of following) {
        expect(g.trafficAfterRemovalMs ?? -Infinity).toBeLessThan(stalled!.trafficAfterRemovalMs!);
        expect(g.propagationLagMs!).toBeLessThan(stalled!.propagationLagMs!);
      }
    }
    expect(report.runs.map((r) => r.variant)).toEqual(['no-prestop', 'prestop-outlasts-stall', 'one-node-stalls']);
  }, 600_000);

  it('GIVEN node-failure THEN requests time out until the node is declared lost, the endpoints follow only then, and a short toleration gets the pod replaced, a PDB notwithstanding', async () => {
    const { code, stderr, report } = await kthRun('scenarios/node-failure.ts', onLab());
    expect({ code, failed: failures(report), stderr: code === 0 ? '' : stderr.slice(-4000) }).toEqual({ code: 0, failed: [], stderr: '' });
    for (const run of report.runs) {
      const down = entries(run, 'chaos-start')[0]!.t;
      const removed = entries(run, 'endpoint-removed');
      expect(removed).toHaveLength(1);
      expect(removed[0]!.t - down).toBeGreaterThan(10_000);
      // The dead pod's requests time out (or find no route): no other kind of failure.
      expect(Object.keys(run.errors!.byKind).filter((kind) => kind !== 'timeout' && kind !== 'unreachable')).toEqual([]);
      expect(entries(run, 'chaos-end').at(-1)!.detail).toMatch(/^\S+-node-3 up: network restored, node agent resumed \(pid \d+\) \(after 45\.0 s\)$/);
    }
    // Replaced once the toleration ran out, whether or not a PDB forbade every disruption: the taint
    // eviction deletes the pod without asking the Eviction API.
    for (const name of ['short-toleration', 'pdb']) {
      const replaced = variant(report, name);
      expect(entries(replaced, 'endpoint-ready')[0]!.t).toBeGreaterThan(entries(replaced, 'endpoint-removed')[0]!.t);
    }
    expect(report.runs.map((run) => run.variant)).toEqual(['default-toleration', 'short-toleration', 'pdb']);
  }, 600_000);
});
