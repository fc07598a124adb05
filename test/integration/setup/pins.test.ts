import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HarnessError } from '../../../harness/core/errors.ts';
import { installBinaries } from '../../../harness/setup/install-binaries.ts';

// Real Go client against the real module proxy: a pin that names no published version must stop
// setup with a message naming the module, the version and the fix.
describe('setup with a broken pin', () => {
  let cache: string;
  beforeAll(async () => {
    cache = await mkdtemp(join(tmpdir(), 'kth-pins-'));
  });
  afterAll(async () => {
    await rm(cache, { recursive: true, force: true });
  });

  it('GIVEN KTH_PIN_KIND names a tag that does not exist WHEN setup builds THEN it fails naming module, version and fix', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, KTH_CACHE_DIR: cache, KTH_PIN_KIND: 'v0.0.404' };
    delete env.KTH_BIN_DIR;
    const lines: string[] = [];
    const error = await installBinaries({ only: ['kind'], env, log: (l) => lines.push(l) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HarnessError);
    const failure = error as HarnessError;
    expect(failure.exitCode).toBe(3);
    expect(failure.message).toContain('sigs.k8s.io/kind@v0.0.404');
    expect(failure.hint).toContain('go list -m -versions sigs.k8s.io/kind');
    expect(failure.hint).toContain('harness/setup/versions.ts');
    expect(failure.hint).toContain('unset KTH_PIN_KIND');
    expect(lines.join('\n')).toContain('kind v0.0.404');
  }, 120_000);
});
