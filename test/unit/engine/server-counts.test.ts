import { describe, expect, it } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';
import { crossCheck, explainedByErrors } from '../../../harness/analysis/cross-check.ts';
import { emptyHistory, observePod, type PodHistory, serverCountsOverRun } from '../../../harness/engine/server-counts.ts';
import { crossCheckVerdict } from '../../../harness/report/view.ts';
import { finalCountersMessage } from '../../../harness/workloads/final-counters.ts';

const final = (pod: string, requests: number) => finalCountersMessage({ pod, requests, connections: 1, goaways: null });

function pod(name: string, status: { id: string; running?: boolean; terminated?: { exitCode: number; message?: string }; last?: { id: string; exitCode: number; message?: string } }, deleting = false): V1Pod {
  return {
    metadata: { name, ...(deleting ? { deletionTimestamp: new Date() } : {}) },
    status: {
      containerStatuses: [{
        name: 'http-server', image: 'x', imageID: 'x', ready: true, restartCount: status.last ? 1 : 0, containerID: status.id,
        state: status.terminated ? { terminated: { exitCode: status.terminated.exitCode, ...(status.terminated.message ? { message: status.terminated.message } : {}) } } : { running: {} },
        ...(status.last ? { lastState: { terminated: { containerID: status.last.id, exitCode: status.last.exitCode, ...(status.last.message ? { message: status.last.message } : {}) } } } : {}),
      }],
    },
  };
}

function history(...statuses: [V1Pod, { initial?: boolean; deleted?: boolean }?][]): PodHistory {
  const h = emptyHistory();
  for (const [p, o] of statuses) observePod(h, p, o?.initial ?? false, o?.deleted ?? false);
  return h;
}

describe('server counts over a run whose pods change', () => {
  it('GIVEN a pod replaced in a rollout WHEN its server left final counters THEN its count is the final count minus the count at the start', () => {
    const old = history([pod('old', { id: 'c1' }), { initial: true }], [pod('old', { id: 'c1' }, true)], [pod('old', { id: 'c1', terminated: { exitCode: 0, message: final('old', 130) } }, true)], [pod('old', { id: 'c1', terminated: { exitCode: 0, message: final('old', 130) } }, true), { deleted: true }]);
    const fresh = history([pod('new', { id: 'c2' })]);
    const { counts, missing } = serverCountsOverRun(new Map([['old', old], ['new', fresh]]), new Map([['old', 30]]), [{ pod: 'new', requests: 55 }]);
    expect(Object.fromEntries(counts)).toEqual({ old: 100, new: 55 });
    expect(missing.size).toBe(0);
  });

  it('GIVEN a restart WHEN the old instance left counters THEN both instances count; WHEN it was SIGKILLed THEN the pod is missing with the reason', () => {
    const restarted = history([pod('p', { id: 'c1' }), { initial: true }], [pod('p', { id: 'c2', last: { id: 'c1', exitCode: 0, message: final('p', 40) } })]);
    const killed = history([pod('k', { id: 'c1' }), { initial: true }], [pod('k', { id: 'c2', last: { id: 'c1', exitCode: 137 } })]);
    const { counts, missing } = serverCountsOverRun(new Map([['p', restarted], ['k', killed]]), new Map([['p', 10], ['k', 10]]), [{ pod: 'p', requests: 7 }, { pod: 'k', requests: 7 }]);
    expect(counts.get('p')).toBe(37);
    expect(missing.get('k')).toMatch(/exit 137.*SIGKILLed/);
  });

  it('GIVEN an instance that had ended before the run WHEN the run is counted THEN it is not the run\'s', () => {
    const h = history([pod('p', { id: 'c2', last: { id: 'c1', exitCode: 1 } }), { initial: true }]);
    expect(serverCountsOverRun(new Map([['p', h]]), new Map([['p', 5]]), [{ pod: 'p', requests: 9 }]).counts.get('p')).toBe(4);
  });

  it('GIVEN a pod that vanished while running, or whose scrape failed THEN it is missing, with the reason', () => {
    const vanished = history([pod('v', { id: 'c1' }), { initial: true }], [pod('v', { id: 'c1' }), { deleted: true }]);
    const unreachable = history([pod('u', { id: 'c1' }), { initial: true }]);
    const { missing } = serverCountsOverRun(new Map([['v', vanished], ['u', unreachable]]), new Map(), [{ pod: 'u', error: 'connect EHOSTUNREACH' }]);
    expect(missing.get('v')).toMatch(/gone before its final status/);
    expect(missing.get('u')).toBe('unreachable at the end: connect EHOSTUNREACH');
  });

  it('GIVEN missing pods WHEN cross-checked THEN they are out of both totals and named in the verdict', () => {
    const check = crossCheck(new Map([['a', 10], ['k', 5]]), new Map([['a', 10]]), 'requests', new Map([['k', 'SIGKILLed']]));
    expect([check.agree, check.clientTotal, check.serverTotal]).toEqual([true, 10, 10]);
    expect(check.missing).toEqual([{ pod: 'k', client: 5, reason: 'SIGKILLed' }]);
    const verdict = crossCheckVerdict({ crossCheck: check, totals: undefined as never });
    expect(verdict.text).toBe('agree over the 1 pod with a count: servers counted 10, clients attributed 10');
    expect(verdict.differences).toEqual(['k: not cross-checked (5 attributed by the clients): SIGKILLed']);
  });

  it('GIVEN a pod without a count and not in missing THEN it is still a difference', () => {
    expect(crossCheck(new Map([['a', 10], ['b', 3]]), new Map([['a', 10]])).agree).toBe(false);
  });
});

describe('a disagreement the run\'s errors explain', () => {
  it('GIVEN servers that counted answers the clients lost THEN it is explained up to the run\'s errors, never the other way round', () => {
    const lost = crossCheck(new Map([['a', 10], ['b', 8]]), new Map([['a', 12], ['b', 8]]));
    expect(lost.agree).toBe(false);
    expect(explainedByErrors(lost, 2)).toBe(true);
    expect(explainedByErrors(lost, 1)).toBe(false);
    const phantom = crossCheck(new Map([['a', 12]]), new Map([['a', 10]]));
    expect(explainedByErrors(phantom, 100)).toBe(false);
    expect(explainedByErrors(crossCheck(new Map([['a', 1]]), new Map()), 100)).toBe(false);
  });
});
