import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventsTail, loadEventsFile, type RunProgress, startProgress } from '../../../harness/engine/progress.ts';
import type { TimelineEntry } from '../../../harness/report/model.ts';

const sample = (pod: string, requests: number) => `${JSON.stringify({ kind: 'request-sample', t: 1, bucketMs: 1000, source: 'grpc', pod, node: 'n1', podIp: '198.18.128.2', via: 'x', requests, errors: 0, newConnections: 0, peerChecked: 0, peerPreserved: 0, firstAt: 1, lastAt: 2 })}\n`;
const errorSample = (count: number) => `${JSON.stringify({ kind: 'error-sample', t: 1, bucketMs: 1000, source: 'grpc', errorKind: 'reset', pod: '', connectionPod: '', via: 'x', count, example: 'reset', firstAt: 1, lastAt: 2 })}\n`;

describe('live progress from the loads’ events files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kth-progress-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('GIVEN files that grow, with a line cut in half between reads, and one that does not exist yet THEN every sample is summed once', async () => {
    const a = join(dir, 'a.ndjson');
    const tail = new EventsTail([a, join(dir, 'missing.ndjson')]);
    await tail.poll();
    expect([...tail.requests]).toEqual([]);
    const line = sample('web-b', 5);
    await appendFile(a, sample('web-a', 3) + line.slice(0, 20));
    await tail.poll();
    expect([...tail.requests]).toEqual([['web-a', 3]]);
    await appendFile(a, line.slice(20) + errorSample(2) + sample('web-a', 4) + '{"kind":"goaway"}\nnot json\n');
    await tail.poll();
    await tail.poll();
    expect([...tail.requests]).toEqual([
      ['web-a', 7],
      ['web-b', 5],
    ]);
    expect(tail.errors).toBe(2);
  });

  it('GIVEN a run with two loads THEN progress is emitted periodically with shares, phase and the latest timeline entry, and stop() says done', async () => {
    const events: RunProgress[] = [];
    const timeline: TimelineEntry[] = [{ t: 10, kind: 'load-start', detail: 'steady' }];
    await appendFile(loadEventsFile(dir, 'iptables', 'age-2s', 'steady'), sample('web-a', 10));
    await appendFile(loadEventsFile(dir, 'iptables', 'age-2s', 'burst'), sample('web-b', 30));
    let now = 1_000;
    const live = startProgress({ emit: (event) => events.push(event), dir, proxyMode: 'iptables', variant: 'age-2s', loads: ['steady', 'burst'], t0: 0, totalMs: 2_000, timeline, everyMs: 20, now: () => now });
    await new Promise((resolve) => setTimeout(resolve, 120));
    timeline.push({ t: 900, kind: 'chaos-start', detail: 'scale' });
    now = 2_500;
    await new Promise((resolve) => setTimeout(resolve, 120));
    live.stop();
    live.stop();
    const running = events.find((event) => event.phase === 'running')!;
    expect(running).toEqual({ run: 'iptables/age-2s', phase: 'running', elapsedMs: 1_000, totalMs: 2_000, shares: [{ pod: 'web-a', requests: 10 }, { pod: 'web-b', requests: 30 }], errors: 0, last: 'load-start steady' });
    expect(events.some((event) => event.phase === 'finishing' && event.last === 'chaos-start scale')).toBe(true);
    expect(events.filter((event) => event.phase === 'done')).toHaveLength(1);
    expect(events.at(-1)!.phase).toBe('done');
  });

  it('GIVEN an emitter that throws THEN the run is not disturbed', async () => {
    const live = startProgress({ emit: () => { throw new Error('broken terminal'); }, dir, proxyMode: 'iptables', variant: 'v', loads: ['l'], t0: Date.now(), totalMs: 1_000, timeline: [], everyMs: 10 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(() => live.stop()).not.toThrow();
  });
});
