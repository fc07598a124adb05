import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listLabs } from '../../../harness/lab/lab.ts';

const kth = (...args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ['harness/bin/kth.mjs', ...args], (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code) : 0, stdout, stderr }));
  });

// Everything below is refused before any cluster exists: no lab appears (and, but for runs refused as unsupported, no report is written).
describe('kth run: bad input is refused before anything starts', () => {
  let out: string;
  beforeEach(async () => {
    out = await mkdtemp(join(tmpdir(), 'kth-run-input-'));
  });
  afterEach(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it.each([
    [['scenarios/no-such.ts'], /cannot read scenario scenarios\/no-such\.ts: no such file/, /built-in: .*scenarios\/keepalive-imbalance\.ts/],
    [['keepalive-imbalance'], /cannot read scenario/, /did you mean scenarios\/keepalive-imbalance\.ts\?/],
    [['scenarios/keepalive-imbalance.ts', '--time-scale', '0'], /--time-scale/, /--time-scale/],
    [['scenarios/keepalive-imbalance.ts', '--proxy-mode', 'iptables,userspace'], /userspace/, /--proxy-mode/],
    [['scenarios/keepalive-imbalance.ts', '--provider', 'minikube'], /--provider: 'minikube' is not one of lab, kind, existing/, /--provider/],
    [['scenarios/keepalive-imbalance.ts', '--baseline', '/nonexistent/report.json'], /report\.json/, /baseline|report/],
  ])('GIVEN kth run %j THEN exit 2 saying what is wrong and how to fix it', async (args, what, how) => {
    const labsBefore = (await listLabs()).map((lab) => lab.name);
    const { code, stderr } = await kth('run', ...args, '--out', out);
    expect(stderr).toMatch(what);
    expect(stderr).toMatch(how);
    expect(code).toBe(2);
    expect(await readdir(out)).toEqual([]);
    expect((await listLabs()).map((lab) => lab.name)).toEqual(labsBefore);
  }, 30_000);

  it('GIVEN kind flags without --provider kind, or a --kind-config that is not a kind config THEN exit 2 with the fix, before any cluster', async () => {
    const stray = await kth('run', 'scenarios/keepalive-imbalance.ts', '--node-image', 'kindest/node:v1.36.0', '--out', out);
    expect([stray.code, stray.stderr]).toEqual([2, expect.stringContaining('--node-image only apply with --provider kind')]);
    const config = join(out, 'not-kind.yaml');
    await writeFile(config, 'kind: Pod\napiVersion: v1\n');
    const wrong = await kth('run', 'scenarios/keepalive-imbalance.ts', '--provider', 'kind', '--kind-config', config, '--out', out);
    expect([wrong.code, wrong.stderr]).toEqual([2, expect.stringContaining('is not a kind cluster config')]);
    expect(wrong.stderr).toContain('kind: Cluster');
    expect((await readdir(out)).filter((entry) => entry !== 'not-kind.yaml')).toEqual([]);
  }, 30_000);

  it('GIVEN --provider kind in a mode kind cannot run here (cilium) THEN its runs are reported unsupported with the reason, and no cluster is made', async () => {
    const { stderr } = await kth('run', 'scenarios/keepalive-imbalance.ts', '--provider', 'kind', '--proxy-mode', 'cilium', '--out', out);
    expect(stderr).toMatch(/\[cilium\] unsupported here: cilium on kind/);
    expect(stderr).not.toMatch(/creating kind cluster/);
    const [dir] = await readdir(out);
    const report = JSON.parse(await readFile(join(out, dir!, 'report.json'), 'utf8')) as { environment: { provider: string }; runs: { status: string }[] };
    expect(report.environment.provider).toBe('kind');
    expect(report.runs.map((run) => run.status)).toEqual(['unsupported', 'unsupported', 'unsupported']);
  }, 60_000);

  it('GIVEN a fault the proxy mode cannot take (kube-proxy paused in cilium mode) THEN its runs are reported unsupported with the reason, and no lab starts', async () => {
    const labsBefore = (await listLabs()).map((lab) => lab.name);
    const { stderr } = await kth('run', 'scenarios/proxy-stall.ts', '--proxy-mode', 'cilium', '--out', out);
    expect(stderr).toMatch(/\[cilium\/no-prestop\] unsupported here: chaos action kube-proxy-pause: proxy mode cilium has no kube-proxy/);
    expect(stderr).not.toMatch(/starting a \d-node lab/);
    const [dir] = await readdir(out);
    const report = JSON.parse(await readFile(join(out, dir!, 'report.json'), 'utf8')) as { runs: { variant: string; status: string; reason: string }[] };
    expect(report.runs.map((run) => `${run.variant} ${run.status}`)).toEqual(['no-prestop unsupported', 'prestop-outlasts-stall unsupported', 'one-node-stalls unsupported']);
    expect((await listLabs()).map((lab) => lab.name)).toEqual(labsBefore);
  }, 60_000);

  it('GIVEN a scenario file with mistakes THEN exit 2 listing each with its path', async () => {
    const file = join(out, 'broken.mts');
    await writeFile(file, `export default ${JSON.stringify({ name: 'Broken Name', description: 'x', workload: { server: 'http', replicas: 0 }, load: [] })};\n`);
    const { code, stderr } = await kth('run', file, '--out', join(out, 'reports'));
    expect(code).toBe(2);
    expect(stderr).toMatch(/- name: /);
    expect(stderr).toMatch(/- workload\.replicas: /);
    expect(stderr).toMatch(/- load: /);
  }, 30_000);
});
