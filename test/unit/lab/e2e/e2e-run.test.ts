import { parseExecQuery, execStatus } from '../../../../harness/lab/agent/exec-stream.ts';
import { readGinkgoReport } from '../../../../harness/lab/e2e/ginkgo-report.ts';
import { startedTest } from '../../../../harness/lab/e2e/run-e2e.ts';
import { DEFAULT_FOCUS } from '../../../../harness/lab/e2e/scope.ts';
import { skipList, skipOf, skipsFor } from '../../../../harness/lab/e2e/skip-list.ts';

describe('the default focus (issue scope: Services, EndpointSlice, granular Service checks)', () => {
  const focus = new RegExp(DEFAULT_FOCUS);
  it.each([
    ['[sig-network] Services should serve a basic endpoint from pods [Conformance]', true],
    ['[sig-network] EndpointSlice should support creating EndpointSlice API operations [Conformance]', true],
    ['[sig-network] Networking Granular Checks: Services should function for pod-Service: http', true],
    ['[sig-network] EndpointSliceMirroring should mirror a custom Endpoints resource through create update and delete [Conformance]', false],
    ['[sig-network] Networking Granular Checks: Pods should function for intra-pod communication: http [NodeConformance] [Conformance]', false],
    ['[sig-apps] Deployment should run the lifecycle of a Deployment [Conformance]', false],
  ])('GIVEN %s THEN selected: %s', (name, selected) => expect(focus.test(name)).toBe(selected));
});

describe('the skip list', () => {
  it('GIVEN every entry THEN it gives a reason and names a test the default focus selects', () => {
    for (const entry of skipList) {
      expect(entry.reason.length).toBeGreaterThan(20);
      expect(new RegExp(DEFAULT_FOCUS).test(`${entry.name} `)).toBe(true);
    }
  });
  it('GIVEN a test name THEN the entry covers it exactly or as a prefix ending at a word', () => {
    const skips = skipsFor('iptables');
    expect(skipOf('[sig-network] Services should work after restarting kube-proxy [Disruptive]', skips)?.reason).toMatch(/SSH/);
    expect(skipOf('[sig-network] Services should work after restarting kube-proxy [Disruptive] [Slow]', skips)).toBeDefined();
    expect(skipOf('[sig-network] Services should work after restarting kube-proxy [Disruptive]x', skips)).toBeUndefined();
  });
});

describe('startedTest (progress from Ginkgo -v output)', () => {
  const names = new Set(['[sig-network] Services should update nodePort: http [Slow]']);
  it('GIVEN the name line with or without its label list THEN the test; other lines THEN nothing', () => {
    expect(startedTest('[sig-network] Services should update nodePort: http [Slow] [sig-network, Slow]', names)).toBe('[sig-network] Services should update nodePort: http [Slow]');
    expect(startedTest('[sig-network] Services should update nodePort: http [Slow]', names)).toBe('[sig-network] Services should update nodePort: http [Slow]');
    expect(startedTest('  STEP: creating a pod', names)).toBeUndefined();
  });
});

describe('readGinkgoReport', () => {
  it('GIVEN a Ginkgo JSON report THEN each It with its full name, state, seconds and failure; suite nodes left out', () => {
    const report = [{
      SpecReports: [
        { LeafNodeType: 'SynchronizedBeforeSuite', State: 'passed' },
        { ContainerHierarchyTexts: ['[sig-network] Services'], LeafNodeText: 'should serve a basic endpoint from pods [Conformance]', LeafNodeType: 'It', State: 'passed', RunTime: 12_340_000_000 },
        { ContainerHierarchyTexts: ['[sig-network] EndpointSlice'], LeafNodeText: 'should x', LeafNodeType: 'It', State: 'failed', RunTime: 1e9, Failure: { Message: 'timed out\nmore', Location: { FileName: 'endpointslice.go', LineNumber: 9 } } },
        { ContainerHierarchyTexts: ['[sig-network] Services'], LeafNodeText: 'should y', LeafNodeType: 'It', State: 'skipped', RunTime: 0, Failure: { Message: 'Need at least 3 schedulable nodes for this test', Location: { FileName: 'service.go', LineNumber: 3845 } } },
      ],
    }];
    expect(readGinkgoReport(JSON.stringify(report))).toEqual([
      { name: '[sig-network] Services should serve a basic endpoint from pods [Conformance]', state: 'passed', seconds: 12.34 },
      { name: '[sig-network] EndpointSlice should x', state: 'failed', seconds: 1, message: 'timed out\nmore (endpointslice.go:9)' },
      { name: '[sig-network] Services should y', state: 'skipped', seconds: 0, message: 'Need at least 3 schedulable nodes for this test' },
    ]);
  });
  it('GIVEN something else THEN an error', () => expect(() => readGinkgoReport('{}')).toThrow(/not a Ginkgo JSON report/));
});

describe('exec requests and their final status (the kubelet\'s exec contract)', () => {
  it('GIVEN the API server\'s query THEN the command words in order and the streams asked for', () => {
    const query = new URLSearchParams('command=%2Fbin%2Fsh&command=-c&command=echo+hi&input=1&output=1&error=1&tty=0');
    expect(parseExecQuery(query)).toEqual({ command: ['/bin/sh', '-c', 'echo hi'], stdin: true, stdout: true, stderr: true, tty: false });
    expect(parseExecQuery(new URLSearchParams('output=1'))).toEqual({ error: 'you must specify at least one command for the container' });
    expect(parseExecQuery(new URLSearchParams('command=true'))).toEqual({ error: 'you must specify at least 1 of stdin, stdout, stderr' });
  });
  it('GIVEN how the command ended THEN Success, or NonZeroExitCode with the code as its cause (what kubectl turns into its exit code)', () => {
    expect(execStatus(0, null, ['true'])).toEqual({ metadata: {}, status: 'Success' });
    expect(execStatus(3, null, ['sh', '-c', 'exit 3'])).toMatchObject({ reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] }, message: expect.stringContaining('exit code 3') });
    expect(execStatus(null, 'SIGKILL', ['sleep'])).toMatchObject({ details: { causes: [{ message: '137' }] } });
    expect(execStatus(null, null, ['x'], 'cannot run nsenter')).toMatchObject({ status: 'Failure', reason: 'InternalError', message: 'cannot run nsenter' });
  });
});
