import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { LabE2eSummary } from '../../../harness/lab/e2e/run-e2e.ts';
import { labResidue, noResidue } from '../../support/residue.ts';

const exec = promisify(execFile);

/**
 * Kubernetes' own sig-network e2e tests against the lab (`kth lab e2e`), with a bounded focus that
 * fits the suite's time: one test of each thing the lab's node agent and network must do as a
 * kubelet and a real node would — exec into pods, cluster DNS, ClusterIP and NodePort through
 * kube-proxy's rules, session affinity, UDP, source-IP preservation, EndpointSlices for pods. The
 * whole selection (`kth lab e2e` without --focus) runs by hand; README: "Kubernetes' own tests".
 */
const focus = String.raw`^\[sig-network\] (` +
  [
    String.raw`Services should serve a basic endpoint from pods \[Conformance\]`,
    String.raw`Services should be able to create a functioning NodePort service \[Conformance\]`,
    String.raw`Services should have session affinity work for service with type clusterIP \[LinuxOnly\] \[Conformance\]`,
    String.raw`Services should preserve source pod IP for traffic thru service cluster IP \[LinuxOnly\]`,
    String.raw`EndpointSlice should create Endpoints and EndpointSlices for Pods matching a Service \[Conformance\]`,
    String.raw`Networking Granular Checks: Services should function for pod-Service: udp`,
  ].join('|') +
  ')$';

describe.each(['iptables', 'nftables'] as const)('kth lab e2e (%s)', (mode) => {
  let out: string;
  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), `kth-upstream-e2e-${mode}-`));
  });
  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('GIVEN a fresh lab with cluster DNS WHEN the upstream tests run THEN every chosen test passes, JUnit is kept, and the lab is gone', async () => {
    const { stdout } = await exec(process.execPath, ['harness/bin/kth.mjs', 'lab', 'e2e', '--proxy-mode', mode, '--focus', focus, '--out', out, '--timeout', '12'], {
      timeout: 14 * 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const summary = JSON.parse(await readFile(join(out, 'e2e-summary.json'), 'utf8')) as LabE2eSummary;
    expect(summary.failed).toEqual([]);
    expect(summary.notRun).toEqual([]);
    expect(summary.selected).toBe(6);
    expect(summary.passed).toHaveLength(6);
    expect(stdout).toMatch(/: 6 passed, 0 skipped with reason, 0 failed of 6 selected/);
    // The JUnit report lists every spec of the binary; the chosen ones are those it did not skip.
    const junit = await readFile(join(out, 'junit_01.xml'), 'utf8');
    expect(junit).toMatch(/<testsuite name="Kubernetes e2e suite"[^>]* failures="0"/);
    const ran = [...junit.matchAll(/<testcase name="([^"]*)"[^>]*>([\s\S]*?)<\/testcase>/g)].filter((m) => !m[2]?.includes('<skipped')).map((m) => m[1] ?? '');
    for (const name of summary.passed) expect(ran.some((text) => text.startsWith('[It] ' + name.replaceAll('&', '&amp;').replaceAll('"', '&#34;')))).toBe(true);
    expect(await labResidue(`e2e-${mode}`)).toEqual(noResidue);
  }, 15 * 60_000);
});
