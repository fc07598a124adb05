import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { labLayout } from '../../../harness/lab/layout.ts';
import { labUp, labDown, listLabs } from '../../../harness/lab/lab.ts';
import { findLabProcesses } from '../../../harness/lab/processes.ts';
import { hostRuleset } from '../../support/host-rules.ts';
import { labResidue, noResidue, testLabName } from '../../support/residue.ts';

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
  });

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
});
