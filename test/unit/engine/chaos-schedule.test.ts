import type { ChaosTarget, NodeFaults } from '../../../harness/engine/chaos.ts';
import { scheduleChaos } from '../../../harness/engine/chaos-schedule.ts';
import type { ChaosSpec } from '../../../harness/engine/types.ts';
import type { TimelineEntry } from '../../../harness/report/model.ts';

/** A provider whose faults only record when they were applied and lifted (epoch ms). */
function recordingTarget(): { target: ChaosTarget; calls: { what: string; at: number }[] } {
  const calls: { what: string; at: number }[] = [];
  const faults: NodeFaults = {
    unsupported: () => undefined,
    async pauseKubeProxy(node, paused) {
      calls.push({ what: `pause ${node} ${paused}`, at: Date.now() });
      return 'ok';
    },
    restartKubeProxy: async () => 'ok',
    async nodeDown(node, down) {
      calls.push({ what: `down ${node} ${down}`, at: Date.now() });
      return 'ok';
    },
    network: async () => 'ok',
  };
  const target = { cluster: undefined as never, namespace: 'ns', deployment: 'web', selector: 'app=web', nodes: ['n1', 'n2'], killProcess: async () => 'ok', setReadiness: async () => {}, faults, deadline: Date.now() + 60_000 } satisfies ChaosTarget;
  return { target, calls };
}

describe('scheduleChaos: when each lasting fault was in force (metrics.servedDuringFaults)', () => {
  const clock = (t0: number) => ({ t0, timeline: [] as TimelineEntry[], log: () => {} });

  it('GIVEN a node-down with a duration, one ended by node-up and one still open at the end THEN each span runs from the fault taking effect to its undo', async () => {
    const { target, calls } = recordingTarget();
    const chaos: { spec: ChaosSpec; atMs: number }[] = [
      { spec: { at: 0, action: 'node-down', node: 1, duration: 60 }, atMs: 0 },
      { spec: { at: 20, action: 'node-down', node: 2 }, atMs: 20 },
      { spec: { at: 100, action: 'node-up', node: 2 }, atMs: 100 },
      { spec: { at: 120, action: 'kube-proxy-pause', node: 1, duration: 10_000 }, atMs: 120 }, // outlasts the run
    ];
    const t0 = Date.now();
    const schedule = scheduleChaos(chaos, target, clock(t0));
    await schedule.done;
    await schedule.undoAll();
    const spans = schedule.faultSpans();
    expect(spans.map((span) => span.action)).toEqual(['node-down', 'node-down', 'kube-proxy-pause']);
    const at = (what: string) => calls.find((call) => call.what === what)!.at;
    // In force once applied; over when the undo began (node 1's duration, node 2's node-up, the run's end).
    expect(spans[0]!.fromEpochMs).toBeGreaterThanOrEqual(at('down 1 true'));
    expect(spans[0]!.toEpochMs).toBeLessThanOrEqual(at('down 1 false'));
    // Timers run on the monotonic clock; Date.now() may read a millisecond short of the deadline.
    const slackMs = 2;
    expect(spans[0]!.toEpochMs).toBeGreaterThanOrEqual(t0 + 60 - slackMs); // its duration, counted from its start
    expect(spans[1]!.fromEpochMs).toBeGreaterThanOrEqual(at('down 2 true'));
    expect(spans[1]!.toEpochMs).toBeLessThanOrEqual(at('down 2 false'));
    expect(spans[1]!.toEpochMs).toBeGreaterThanOrEqual(t0 + 100 - slackMs);
    expect(spans[1]!.toEpochMs).toBeLessThan(spans[2]!.fromEpochMs); // ended by node-up, not by the run's end
    expect(spans[2]!.toEpochMs).toBeLessThanOrEqual(at('pause 1 false'));
    // node-up is the undo: node 2 was restored once, by it, not again at the end.
    expect(calls.filter((call) => call.what === 'down 2 false')).toHaveLength(1);
  });

  it('GIVEN actions with no lasting effect THEN no span', async () => {
    const { target } = recordingTarget();
    const schedule = scheduleChaos([{ spec: { at: 0, action: 'kube-proxy-restart', node: 1 }, atMs: 0 }], target, clock(Date.now()));
    await schedule.done;
    await schedule.undoAll();
    expect(schedule.faultSpans()).toEqual([]);
  });
});
