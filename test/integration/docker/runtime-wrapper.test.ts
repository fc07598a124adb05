import { describe, expect, it } from '@jest/globals';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../harness/core/exec.ts';
import { runtimeWrapperScript } from '../../../harness/docker/runtime-wrapper.ts';

/** The wrapper as dockerd's shim calls it, in front of a stand-in runc that records what it got. */
function setUp(config: unknown) {
  const dir = mkdtempSync(join(tmpdir(), 'kth-wrapper-'));
  const bundle = join(dir, 'bundle');
  mkdirSync(bundle);
  writeFileSync(join(dir, 'runc'), `#!/bin/sh\necho "$@" > ${dir}/runc.args\n`);
  chmodSync(join(dir, 'runc'), 0o755);
  writeFileSync(join(dir, 'wrapper'), runtimeWrapperScript(join(dir, 'runc'), ['CAP_SYS_RESOURCE']));
  chmodSync(join(dir, 'wrapper'), 0o755);
  return { dir, bundle, writeConfig: () => writeFileSync(join(bundle, 'config.json'), JSON.stringify(config)) };
}

describe('the OCI runtime wrapper for hosts with a short capability bounding set', () => {
  const all = ['CAP_CHOWN', 'CAP_SYS_RESOURCE', 'CAP_NET_ADMIN'];
  const config = { ociVersion: '1.0.2', process: { args: ['sh'], capabilities: { bounding: all, effective: all, permitted: all, inheritable: all } } };

  it('GIVEN create --bundle THEN the missing capability leaves every set, the rest stays, and runc gets the arguments unchanged', async () => {
    const { dir, bundle, writeConfig } = setUp(config);
    writeConfig();
    const result = await run([join(dir, 'wrapper'), '--root', '/run/x', 'create', '--bundle', bundle, '--pid-file', 'p', 'abc']);
    expect(result.exitCode).toBe(0);
    const written = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
    for (const set of ['bounding', 'effective', 'permitted', 'inheritable']) expect(written.process.capabilities[set]).toEqual(['CAP_CHOWN', 'CAP_NET_ADMIN']);
    expect(written.process.args).toEqual(['sh']);
    expect(readFileSync(join(dir, 'runc.args'), 'utf8').trim()).toBe(`--root /run/x create --bundle ${bundle} --pid-file p abc`);
  });

  it('GIVEN exec --process (kind runs docker exec --privileged at every step) THEN the missing capability leaves the process spec', async () => {
    const { dir } = setUp(config);
    const spec = join(dir, 'process.json');
    writeFileSync(spec, JSON.stringify({ args: ['cat', '/kind/version'], capabilities: { bounding: all, effective: all, permitted: all } }));
    for (const args of [['exec', '--process', spec, 'abc'], ['exec', `--process=${spec}`, 'abc'], ['exec', '-p', spec, 'abc']]) {
      writeFileSync(spec, JSON.stringify({ args: ['cat', '/kind/version'], capabilities: { bounding: all, effective: all, permitted: all } }));
      expect((await run([join(dir, 'wrapper'), ...args])).exitCode).toBe(0);
      const written = JSON.parse(readFileSync(spec, 'utf8'));
      expect(written.capabilities).toEqual({ bounding: ['CAP_CHOWN', 'CAP_NET_ADMIN'], effective: ['CAP_CHOWN', 'CAP_NET_ADMIN'], permitted: ['CAP_CHOWN', 'CAP_NET_ADMIN'] });
      expect(written.args).toEqual(['cat', '/kind/version']);
    }
  });

  it('GIVEN a command without a bundle (state, kill, delete) THEN runc runs as asked and nothing is rewritten', async () => {
    const { dir } = setUp(config);
    const result = await run([join(dir, 'wrapper'), 'kill', 'abc', 'TERM']);
    expect(result.exitCode).toBe(0);
    expect(readFileSync(join(dir, 'runc.args'), 'utf8').trim()).toBe('kill abc TERM');
  });
});
