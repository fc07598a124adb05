import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { followLines, LineFollower } from '../../../harness/k6/line-follower.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kth-follow-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function follower(chunkBytes?: number): { file: string; lines: string[]; follower: LineFollower } {
  const file = join(dir, 'out.json');
  const lines: string[] = [];
  return { file, lines, follower: new LineFollower(file, (line) => lines.push(line), chunkBytes) };
}

describe('LineFollower (a file still being written)', () => {
  it('GIVEN a line cut at a read boundary THEN it is held back until its newline arrives, and handed over whole', async () => {
    const { file, lines, follower: f } = follower();
    writeFileSync(file, '{"a":1}\n{"b"');
    await f.readAvailable();
    expect(lines).toEqual(['{"a":1}']);
    appendFileSync(file, ':2');
    await f.readAvailable();
    expect(lines).toEqual(['{"a":1}']);
    appendFileSync(file, '}\n');
    await f.readAvailable();
    expect(lines).toEqual(['{"a":1}', '{"b":2}']);
    await f.finish();
    expect(lines).toEqual(['{"a":1}', '{"b":2}']);
  });

  it('GIVEN several lines appended between two reads THEN one read hands over all of them in order', async () => {
    const { file, lines, follower: f } = follower();
    writeFileSync(file, 'one\n');
    expect(await f.readAvailable()).toBe(4);
    appendFileSync(file, 'two\nthree\n\nfour\n');
    expect(await f.readAvailable()).toBe(16);
    expect(lines).toEqual(['one', 'two', 'three', '', 'four']);
    expect(await f.readAvailable()).toBe(0);
    await f.close();
  });

  it('GIVEN a last line without a newline WHEN the writer exits THEN finish hands it over (and only then)', async () => {
    const { file, lines, follower: f } = follower();
    writeFileSync(file, 'x\ny');
    await f.readAvailable();
    expect(lines).toEqual(['x']);
    await f.finish();
    expect(lines).toEqual(['x', 'y']);
    await expect(f.readAvailable()).rejects.toThrow(/already finished/);
  });

  it('GIVEN a read buffer smaller than a line and a UTF-8 character split between reads THEN the lines come out intact', async () => {
    const { file, lines, follower: f } = follower(4);
    writeFileSync(file, 'pod-ä→b\nsecond line\r\nlast');
    await f.finish();
    expect(lines).toEqual(['pod-ä→b', 'second line', 'last']);
  });

  it('GIVEN the file does not exist yet THEN reads find nothing until it appears; finish on a file that never appeared fails', async () => {
    const { file, lines, follower: f } = follower();
    expect(await f.readAvailable()).toBe(0);
    writeFileSync(file, 'late\n');
    await f.readAvailable();
    expect(lines).toEqual(['late']);
    await f.close();
    const never = new LineFollower(join(dir, 'never.json'), () => undefined);
    await expect(never.finish()).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('GIVEN a writer appending over time WHEN followed until it exits THEN lines arrive while it writes, and all of them by the end', async () => {
    const file = join(dir, 'out.json');
    const seen: Array<{ line: string; writerDone: boolean }> = [];
    let writerDone = false;
    const writer = (async () => {
      for (let i = 0; i < 10; i++) {
        // Each write ends mid-line, so lines always straddle two appends.
        appendFileSync(file, i === 0 ? 'line-0' : `\nline-${i}`);
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
      writerDone = true;
    })();
    await followLines(file, (line) => seen.push({ line, writerDone }), { until: writer, intervalMs: 5 });
    expect(seen.map((s) => s.line)).toEqual(Array.from({ length: 10 }, (_, i) => `line-${i}`));
    expect(seen.filter((s) => !s.writerDone).length).toBeGreaterThan(0);
    expect(seen.at(-1)!.writerDone).toBe(true);
  });
});
