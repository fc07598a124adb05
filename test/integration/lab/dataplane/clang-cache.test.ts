import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CILIUM_CLANG_DIR } from '../../../../harness/setup/binaries.ts';

const exec = promisify(execFile);
const script = join(process.cwd(), 'harness/lab/dataplane/clang-cache.sh');

// The compile cache the lab's Cilium agents call as `clang`, with the real clang-19 behind it.
describe('clang-cache.sh in front of clang-19', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const compile = async () =>
    (await exec('bash', [script, `-I${dir}`, '--target=bpf', '-O2', '-g', '-c', join(dir, 'prog.c'), '-o', '-'], { env, cwd: dir, encoding: 'buffer', maxBuffer: 16 << 20 })).stdout;
  const log = async () => (await readFile(join(dir, 'cache.log'), 'utf8')).trim().split('\n').map((line) => line.split(' ')[1]);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kth-clang-cache-'));
    env = { ...process.env, KTH_CLANG_REAL: join(CILIUM_CLANG_DIR, 'clang'), KTH_CLANG_CACHE: join(dir, 'cache'), KTH_CLANG_CACHE_LOG: join(dir, 'cache.log') };
    await writeFile(join(dir, 'config.h'), '#define NODE_VALUE 1\n');
    await writeFile(join(dir, 'prog.c'), '#include "config.h"\nint value(void) { return NODE_VALUE + 41; }\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('GIVEN the same source and headers WHEN compiled twice THEN the second is a hit with the same BPF object as the compiler made', async () => {
    const first = await compile();
    const second = await compile();
    expect(first.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(second.equals(first)).toBe(true);
    expect(await log()).toEqual(['miss', 'hit']);
  });

  it('GIVEN a changed header (a node\'s configuration) WHEN compiled THEN it misses and compiles anew', async () => {
    await writeFile(join(dir, 'config.h'), '#define NODE_VALUE 2\n');
    const changed = await compile();
    expect(await log()).toEqual(['miss', 'hit', 'miss']);
    expect(changed.length).toBeGreaterThan(0);
  });

  it('GIVEN any other use (version, preprocess only) THEN it passes straight to clang', async () => {
    const { stdout } = await exec('bash', [script, '--version'], { env });
    await exec('bash', [script, `-I${dir}`, '--target=bpf', '-E', join(dir, 'prog.c'), '-o', join(dir, 'prog.i')], { env });
    expect(await readFile(join(dir, 'prog.i'), 'utf8')).toContain('return 2 + 41');
    expect(stdout).toMatch(/clang version 19\./);
    expect(await log()).toHaveLength(3);
  });
});
