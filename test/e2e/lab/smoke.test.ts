import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { listLabs } from '../../../harness/lab/lab.ts';

const exec = promisify(execFile);

// The README's main job (npm run main → kth lab smoke), as a user runs it.
describe('kth lab smoke', () => {
  let out: string;
  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'kth-smoke-'));
  });
  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('GIVEN a fresh host WHEN the main job runs THEN persistent load follows connections, short-lived load is uniform, both sides agree, and the lab is gone', async () => {
    const labsBefore = (await listLabs()).map((l) => l.name);
    const { stdout } = await exec(process.execPath, ['harness/bin/kth.mjs', 'lab', 'smoke', '--out', out], { timeout: 240_000, maxBuffer: 16 * 1024 * 1024 });
    expect(stdout).toMatch(/PASSED/);
    const [dir] = await readdir(out);
    const result = JSON.parse(await readFile(join(out, dir as string, 'result.json'), 'utf8')) as {
      passed: boolean;
      phases: { name: string; run: { pods: { requests: number; connections: number }[]; totals: { attributed: number; serverCounted: number }; crossCheck: { agree: boolean } } }[];
    };
    expect(result.passed).toBe(true);
    const persistent = result.phases.find((p) => p.name === 'persistent')?.run;
    // Two connections can reach at most two pods: shares follow connections.
    expect(persistent?.pods.filter((p) => p.requests > 0).length).toBeLessThanOrEqual(2);
    for (const phase of result.phases) {
      expect(phase.run.crossCheck.agree).toBe(true);
      expect(phase.run.totals.serverCounted).toBe(phase.run.totals.attributed);
    }
    expect((await listLabs()).map((l) => l.name)).toEqual(labsBefore);
  }, 300_000);
});
