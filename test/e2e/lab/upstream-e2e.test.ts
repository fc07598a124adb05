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
 * fits the suite's time (~3 min on 2 nodes): the fast tests (a few seconds each on this machine) of
 * each thing the lab's node agent and network must do as a kubelet and a real node would — exec
 * into pods, cluster DNS, pod hostnames, ClusterIP, NodePort and ExternalIP through kube-proxy's
 * rules, session affinity, REJECT for a Service without endpoints, hostNetwork endpoints over TCP and UDP (pod and node to Service),
 * externalTrafficPolicy Local and its health check, source-IP preservation, unready and sidecar
 * endpoints, EndpointSlices. The whole selection (`kth lab e2e` without --focus) runs by hand;
 * README: "Kubernetes' own network tests". nftables here: the mode the lab's other tests exercise
 * least; the whole selection passed in both modes (README).
 */
const chosen = [
  'EndpointSlice should create Endpoints and EndpointSlices for Pods matching a Service [Conformance]',
  'EndpointSlice should create and delete EndpointSlices for a Service with a selector that matches no pods [Conformance]',
  'EndpointSlice should support a Service with multiple endpoint IPs specified in multiple EndpointSlices [Conformance]',
  'EndpointSlice should support creating EndpointSlice API operations [Conformance]',
  'Services should serve a basic endpoint from pods [Conformance]',
  'Services should be able to create a functioning NodePort service [Conformance]',
  'Services should have session affinity work for service with type clusterIP [LinuxOnly] [Conformance]',
  'Services should have session affinity work for NodePort service [LinuxOnly] [Conformance]',
  'Services should preserve source pod IP for traffic thru service cluster IP [LinuxOnly]',
  'Services should allow pods to hairpin back to themselves through services',
  'Services should be able to change the type from ClusterIP to ExternalName [Conformance]',
  'Services should be able to change the type from ExternalName to NodePort [Conformance]',
  'Services should be possible to connect to a service via ExternalIP when the external IP is not assigned to a node',
  'Services should support externalTrafficPolicy=Local for type=NodePort',
  'Services should fail health check node port if there are only terminating endpoints',
  'Services should create endpoints for unready pods',
  'Services should connect to the ports exposed by restartable init containers',
  'Services should be rejected when no endpoints exist',
  'Networking Granular Checks: Services should function for service endpoints using hostNetwork',
].map((name) => `[sig-network] ${name}`);
const focus = `^(${chosen.map((name) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`;

const mode = 'nftables';

describe(`kth lab e2e (${mode})`, () => {
  let out: string;
  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), `kth-upstream-e2e-${mode}-`));
  });
  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('GIVEN a fresh lab with cluster DNS WHEN the upstream tests run THEN every chosen test passes, JUnit is kept, and the lab is gone', async () => {
    const { stdout } = await exec(process.execPath, ['harness/bin/kth.mjs', 'lab', 'e2e', '--proxy-mode', mode, '--nodes', '2', '--focus', focus, '--out', out, '--timeout', '10'], {
      timeout: 12 * 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const summary = JSON.parse(await readFile(join(out, 'e2e-summary.json'), 'utf8')) as LabE2eSummary;
    expect(summary.failed).toEqual([]);
    expect(summary.notRun).toEqual([]);
    expect(summary.skippedByTest).toEqual([]);
    expect(summary.selected).toBe(chosen.length);
    expect(summary.passed.sort()).toEqual([...chosen].sort());
    expect(stdout).toMatch(new RegExp(`: ${chosen.length} passed, 0 skipped with reason, 0 failed of ${chosen.length} selected`));
    // The JUnit report lists every spec of the binary; the chosen ones are those it did not skip.
    const junit = await readFile(join(out, 'junit_01.xml'), 'utf8');
    expect(junit).toMatch(/<testsuite name="Kubernetes e2e suite"[^>]* failures="0"/);
    const ran = [...junit.matchAll(/<testcase name="([^"]*)"[^>]*>([\s\S]*?)<\/testcase>/g)].filter((m) => !m[2]?.includes('<skipped')).map((m) => m[1] ?? '');
    for (const name of summary.passed) expect(ran.some((text) => text.startsWith('[It] ' + name.replaceAll('&', '&amp;').replaceAll('"', '&#34;')))).toBe(true);
    expect(await labResidue(`e2e-${mode}`)).toEqual(noResidue);
  }, 13 * 60_000);
});
