import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNdjsonWriter, readEvents } from '../../../harness/recorder/ndjson.ts';
import { Recorder } from '../../../harness/recorder/recorder.ts';
import type { TimelineEvent } from '../../../harness/recorder/events.ts';

describe('events.ndjson', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'kth-ndjson-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('GIVEN a recorder writing to events.ndjson WHEN read back THEN every event comes back, one per line, in order', async () => {
    const path = join(dir, 'run', 'events.ndjson');
    const writer = createNdjsonWriter(path);
    const recorder = new Recorder({ sink: writer.sink });
    recorder.emit({ kind: 'chaos-start', t: 500, id: 'r1', action: 'rollout-restart', target: 'deploy/echo', detail: {} });
    const http = recorder.source('http');
    for (let i = 0; i < 30; i++) http.response(1000 + i * 100, 1, { pod: i % 2 ? 'a' : 'b', node: 'n', podIp: '', connectionId: `${i % 2 ? 'a' : 'b'}/1`, sequence: i + 1, peerAddress: '' }, 'vip:80', undefined);
    recorder.emit({ kind: 'chaos-end', t: 4500, id: 'r1', action: 'rollout-restart', target: 'deploy/echo', ok: true, detail: {} });
    recorder.close();
    await writer.close();

    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(writer.lines);
    const events: TimelineEvent[] = [];
    for await (const event of readEvents(path)) events.push(event);
    expect(events).toHaveLength(writer.lines);
    expect(events[0]?.kind).toBe('chaos-start');
    const samples = events.filter((e) => e.kind === 'request-sample');
    // 30 responses over buckets [1000,2000), [2000,3000), [3000,4000): 10 per bucket, 2 pods each.
    expect(samples).toHaveLength(6);
    expect(samples.reduce((sum, e) => sum + (e.kind === 'request-sample' ? e.requests : 0), 0)).toBe(30);
  });
});
