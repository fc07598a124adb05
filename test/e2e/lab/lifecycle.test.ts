import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binaryPath } from '../../../harness/setup/binaries.ts';
import { promisify } from 'node:util';
import { labLayout } from '../../../harness/lab/layout.ts';
import { labUp, labDown, listLabs } from '../../../harness/lab/lab.ts';
import { findLabProcesses } from '../../../harness/lab/processes.ts';
import { hostRuleset } from '../../support/host-rules.ts';
import { bpfLinks, labCgroupPrograms, labResidue, noResidue, testLabName } from '../../support/residue.ts';

const exec = promisify(execFile);
const kth = (...args: string[]) => exec(process.execPath, ['harness/bin/kth.mjs', ...args]);

describe('lab lifecycle: nothing is left behind', () => {
  let rulesBefore: string;
  const made: string[] = [];
  beforeAll(async () => {
    rulesBefore = await hostRuleset();
  });
  afterAll(async () => {
    for (const name of made) await labDown(name).catch(() => {});
  }, 120_000);

  it('GIVEN a 2-node lab WHEN kth lab down runs THEN no namespace, link, process, state or host rule remains', async () => {
    const name = testLabName('life');
    made.push(name);
    const { stdout } = await kth('lab', 'up', '--name', name, '--nodes', '2');
    expect(stdout.trim()).toBe(labLayout(name).kubeconfig);
    expect(await readFile(stdout.trim(), 'utf8')).toContain('certificate-authority-data');
    const residue = await labResidue(name);
    expect(residue.netns).toEqual(expect.arrayContaining([`kth-${name}-cp`, `kth-${name}-n1`, `kth-${name}-n2`, `kth-${name}-sw`]));
    expect(residue.processes.some((p) => p.includes('kube-apiserver'))).toBe(true);
    expect(residue.processes.filter((p) => p.includes('kube-proxy'))).toHaveLength(2);

    await kth('lab', 'down', '--name', name);
    expect(await labResidue(name)).toEqual(noResidue);
    expect(await hostRuleset()).toBe(rulesBefore);
  }, 180_000);

  it('GIVEN a control-plane component that cannot start WHEN lab up runs THEN it exits 3 naming the component with its log tail, keeps the logs and removes the lab', async () => {
    const name = testLabName('fail');
    made.push(name);
    // Real binaries, except an API server that dies the way a misconfigured one does.
    const bin = await mkdtemp(join(tmpdir(), 'kth-bin-'));
    for (const binary of ['etcd', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy']) await symlink(binaryPath(binary as 'etcd'), join(bin, binary));
    await writeFile(join(bin, 'kube-apiserver'), '#!/bin/sh\necho "E0101 run.go:72] error: listen tcp: bind: injected failure for the test" >&2\nexit 1\n', { mode: 0o755 });
    const result = await exec(process.execPath, ['harness/bin/kth.mjs', 'lab', 'up', '--name', name, '--nodes', '1'], { env: { ...process.env, KTH_BIN_DIR: bin } }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    await rm(bin, { recursive: true, force: true });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/kube-apiserver failed to start/);
    expect(result.stderr).toContain('injected failure for the test');
    const kept = /component logs kept in (\S+)\)/.exec(result.stderr)?.[1] as string;
    expect(await readFile(join(kept, 'kube-apiserver.log'), 'utf8')).toContain('injected failure');
    await rm(kept, { recursive: true, force: true });
    expect(await labResidue(name)).toEqual(noResidue);
  }, 120_000);

  it('GIVEN lab up in progress WHEN the user presses Ctrl-C THEN it exits 130 and removes everything it made', async () => {
    const name = testLabName('intr');
    made.push(name);
    const child = spawn(process.execPath, ['harness/bin/kth.mjs', 'lab', 'up', '--name', name, '--nodes', '1'], { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    while (!existsSync(labLayout(name).status) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(labLayout(name).status)).toBe(true);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(await labResidue(name)).toEqual(noResidue);
  }, 120_000);

  it('GIVEN a lab whose supervisor was killed -9 WHEN kth cleanup runs THEN it finds the orphans by their marker and removes everything', async () => {
    const name = testLabName('kill');
    made.push(name);
    const lab = await labUp({ name, nodes: 1 });
    const supervisor = lab.status?.supervisorPid as number;
    expect(findLabProcesses(name).map((p) => p.pid)).toContain(supervisor);
    process.kill(supervisor, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    // The components outlive their supervisor: exactly the mess cleanup exists for.
    expect(findLabProcesses(name).some((p) => p.command.includes('kube-apiserver'))).toBe(true);
    expect((await listLabs()).find((l) => l.name === name)?.state).toBe('orphaned');

    const { stderr } = await kth('cleanup');
    expect(stderr).toContain(`removed lab ${name}`);
    expect(await labResidue(name)).toEqual(noResidue);
    expect(await hostRuleset()).toBe(rulesBefore);
  }, 180_000);

  it('GIVEN a 2-node cilium lab WHEN kth lab down runs THEN its agents, sandboxes, bpffs and /run/cilium mounts, node cgroups and every BPF link they attached are gone', async () => {
    const name = testLabName('lcil');
    made.push(name);
    const linksBefore = await bpfLinks();
    await kth('lab', 'up', '--name', name, '--nodes', '2', '--proxy-mode', 'cilium');
    const residue = await labResidue(name);
    // What the check below must find gone: agents, node cgroups with socket-LB programs, sandbox mounts, new links.
    expect(residue.processes.filter((p) => /\/cilium-agent /.test(p))).toHaveLength(2);
    expect(residue.processes.filter((p) => /\/kube-proxy /.test(p))).toEqual([]);
    expect(residue.cgroups).toBe(true);
    expect(residue.mounts.length).toBeGreaterThanOrEqual(2);
    expect((await labCgroupPrograms(name)).filter((line) => line.includes('cil_sock4_connect'))).toHaveLength(2);
    expect((await bpfLinks()).length).toBeGreaterThan(linksBefore.length);

    await kth('lab', 'down', '--name', name);
    expect(await labResidue(name)).toEqual(noResidue);
    expect(await labCgroupPrograms(name)).toEqual([]);
    expect(await bpfLinks()).toEqual(linksBefore);
    expect(await hostRuleset()).toBe(rulesBefore);
  }, 240_000);

  it('GIVEN a cilium lab whose supervisor was killed -9 WHEN kth cleanup runs THEN agents, pods, sandboxes, cgroups and BPF links are all gone', async () => {
    const name = testLabName('kcil');
    made.push(name);
    const linksBefore = await bpfLinks();
    const lab = await labUp({ name, nodes: 1, proxyMode: 'cilium' });
    process.kill(lab.status?.supervisorPid as number, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    expect(findLabProcesses(name).some((p) => /\/cilium-agent /.test(p.command))).toBe(true);
    expect((await listLabs()).find((l) => l.name === name)?.state).toBe('orphaned');

    const { stderr } = await kth('cleanup');
    expect(stderr).toContain(`removed lab ${name}`);
    expect(await labResidue(name)).toEqual(noResidue);
    expect(await labCgroupPrograms(name)).toEqual([]);
    expect(await bpfLinks()).toEqual(linksBefore);
  }, 240_000);
});
