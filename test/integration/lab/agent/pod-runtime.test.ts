import { jest } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { run } from '../../../../harness/core/exec.ts';
import { inCidr } from '../../../../harness/lab/addressing.ts';
import { condition, makePod, PodDriver, pidOf } from './support/pod-driver-client.ts';
import { alive, createTestNode, eventually, netnsList, type TestNode } from './support/test-node.ts';

/**
 * The agent's pod runtime running for real inside a node namespace (where the agent runs), with
 * a recording stand-in for the API server: real pods, probes from the node, restarts, and
 * kubelet-style termination — asserted on processes, namespaces, veths and addresses.
 */
jest.setTimeout(90_000);

describe('pod runtime in a node namespace', () => {
  let node: TestNode;
  let driver: PodDriver;

  beforeAll(async () => {
    node = await createTestNode();
    driver = await PodDriver.start(node, { backoffBaseMs: 1000 });
  });
  afterAll(async () => {
    driver?.kill();
    await node?.destroy();
  });
  afterEach(() => {
    if (expect.getState().assertionCalls === 0) process.stderr.write(driver.tail(60));
  });

  const uid8 = (pod: V1Pod) => pod.metadata!.uid!.replaceAll('-', '').slice(0, 8);
  const podNetns = (pod: V1Pod) => `${node.podNetnsPrefix}${uid8(pod)}`;
  const ipamHas = (ip: string) => Object.keys((JSON.parse(readFileSync(join(node.stateDir, 'ipam.json'), 'utf8')) as { allocations: object }).allocations).includes(ip);
  const curl = (url: string, extra: string[] = []) => run(['ip', 'netns', 'exec', node.nodeNetns, 'curl', '-sS', '-m', '3', ...extra, url], { nothrow: true });

  it('GIVEN the sample HTTP server image with a readiness probe and preStop sleep WHEN run and deleted THEN it serves from the pod network, becomes Ready, keeps serving during preStop, and is removed without a trace', async () => {
    const pod = makePod(
      'web',
      [
        {
          name: 'web',
          image: 'kube-traffic-harness/http-server:test',
          args: ['--port', '8080'],
          ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 1 },
          lifecycle: { preStop: { sleep: { seconds: 2 } } },
        },
      ],
      { terminationGracePeriodSeconds: 10 },
    );
    const uid = pod.metadata!.uid!;
    driver.apply(pod);
    const { status } = await driver.status(uid, 'Ready', (s) => condition(s, 'Ready') === 'True', 30_000);
    expect(status.phase).toBe('Running');
    expect(inCidr(status.podIP!, node.podCidr)).toBe(true);
    expect(status.hostIP).toBe(node.nodeIp);
    expect(status.containerStatuses?.[0]).toMatchObject({ ready: true, started: true, restartCount: 0, imageID: 'kth-lab://kube-traffic-harness/http-server@test' });
    const pid = pidOf(status.containerStatuses?.[0]?.containerID);
    expect(alive(pid)).toBe(true);
    // Created from inside the node namespace (a private mount namespace), yet visible on the host.
    expect(await netnsList()).toContain(podNetns(pod));
    expect(readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0')).toEqual(expect.arrayContaining([`KTH_LAB=${node.labName}`, 'POD_NAME=web', `POD_IP=${status.podIP}`]));

    const answer = await curl(`http://${status.podIP}:8080/`, ['-D', '-']);
    expect(answer.stdout).toMatch(/x-kth-pod: web/i);
    expect(answer.stdout).toMatch(new RegExp(`x-kth-pod-ip: ${status.podIP!.replaceAll('.', '\\.')}`, 'i'));
    expect(answer.stdout).toMatch(/x-kth-node: test-node-1/i);

    const deletedAt = Date.now();
    driver.delete(pod, 10);
    await new Promise((r) => setTimeout(r, 1200));
    // Still inside preStop: alive and serving.
    expect(alive(pid)).toBe(true);
    expect((await curl(`http://${status.podIP}:8080/`)).exitCode).toBe(0);
    const done = await driver.finalDeleted(uid, 20_000);
    expect(done - deletedAt).toBeGreaterThanOrEqual(2000);
    expect(done - deletedAt).toBeLessThan(10_000);
    expect(alive(pid)).toBe(false);
    const last = driver.latestStatus(uid)!;
    expect(last.phase).toBe('Succeeded'); // the server drained and exited 0 on SIGTERM
    expect(last.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(driver.events(uid).map((e) => e.reason)).toEqual(expect.arrayContaining(['Started', 'Killing']));
    expect(await netnsList()).not.toContain(podNetns(pod));
    expect((await run(['ip', '-n', node.nodeNetns, 'link', 'show', `kp${uid8(pod)}`], { nothrow: true })).exitCode).not.toBe(0);
    expect(ipamHas(status.podIP!)).toBe(false);
  });

  it('GIVEN a running container WHEN its process is killed -9 twice THEN it restarts at once (exit 137 in lastState), then after the CrashLoopBackOff delay', async () => {
    const pod = makePod('crashy', [{ name: 'app', image: 'busybox', command: ['sleep', '1000'], readinessProbe: { exec: { command: ['true'] }, periodSeconds: 1 } }]);
    const uid = pod.metadata!.uid!;
    driver.apply(pod);
    const first = await driver.status(uid, 'Ready', (s) => condition(s, 'Ready') === 'True');
    const pid1 = pidOf(first.status.containerStatuses?.[0]?.containerID);
    process.kill(pid1, 'SIGKILL');
    const second = await driver.status(uid, 'restart 1 running', (s) => s.containerStatuses?.[0]?.restartCount === 1 && s.containerStatuses[0].state?.running !== undefined);
    expect(second.status.containerStatuses?.[0]?.lastState?.terminated).toMatchObject({ exitCode: 137, reason: 'Error', containerID: `kth-lab://${pid1}` });
    const pid2 = pidOf(second.status.containerStatuses?.[0]?.containerID);
    expect(pid2).not.toBe(pid1);
    expect(alive(pid2)).toBe(true);

    const killedAt = Date.now();
    process.kill(pid2, 'SIGKILL');
    await driver.status(uid, 'CrashLoopBackOff', (s) => s.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff');
    const third = await driver.status(uid, 'restart 2 running', (s) => s.containerStatuses?.[0]?.restartCount === 2 && s.containerStatuses[0].state?.running !== undefined);
    expect(third.at - killedAt).toBeGreaterThanOrEqual(900);
    expect(driver.events(uid).some((e) => e.reason === 'BackOff' && e.message.includes('Back-off restarting failed container app'))).toBe(true);
    expect(third.status.phase).toBe('Running');
    driver.delete(pod, 0);
    await driver.waitFor('force delete', (r) => r.type === 'forceDeleted' && r.uid === uid);
    await eventually('process gone', () => !alive(pidOf(third.status.containerStatuses?.[0]?.containerID)), 3000);
    await eventually('netns gone', async () => !(await netnsList()).includes(podNetns(pod)), 5000);
  });

  it('GIVEN a liveness probe that fails WHEN the failure threshold is reached THEN Unhealthy events, Killing, and the container restarts', async () => {
    const pod = makePod(
      'sick',
      [{ name: 'app', image: 'busybox', command: ['sleep', '1000'], livenessProbe: { tcpSocket: { port: 9999 }, periodSeconds: 1, failureThreshold: 2 } }],
      { terminationGracePeriodSeconds: 1 },
    );
    const uid = pod.metadata!.uid!;
    driver.apply(pod);
    await driver.status(uid, 'restarted after liveness failure', (s) => (s.containerStatuses?.[0]?.restartCount ?? 0) >= 1, 20_000);
    const events = driver.events(uid);
    expect(events.some((e) => e.reason === 'Unhealthy' && e.message.startsWith('Liveness probe failed: dial tcp'))).toBe(true);
    expect(events.some((e) => e.reason === 'Killing' && e.message === 'Container app failed liveness probe, will be restarted')).toBe(true);
    driver.delete(pod, 0);
    await driver.waitFor('force delete', (r) => r.type === 'forceDeleted' && r.uid === uid);
  });

  it('GIVEN an init container and restartPolicy Never WHEN both succeed THEN init runs first, the pod Succeeds, and its network is released before it is deleted', async () => {
    const pod = makePod(
      'job',
      [{ name: 'main', image: 'busybox', command: ['sh', '-c', 'test -f init-done && echo "main saw $(cat init-done) at $POD_IP"'] }],
      { restartPolicy: 'Never', initContainers: [{ name: 'init', image: 'busybox', command: ['sh', '-c', 'echo $POD_NAME > init-done'] }] },
    );
    const uid = pod.metadata!.uid!;
    driver.apply(pod);
    const { status } = await driver.status(uid, 'Succeeded', (s) => s.phase === 'Succeeded');
    expect(status.initContainerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(status.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    const log = readFileSync(join(node.stateDir, 'pods', `default_job_${uid8(pod)}`, 'main.log'), 'utf8');
    expect(log).toContain(`main saw job at ${status.podIP}`);
    await eventually('network released', async () => !(await netnsList()).includes(podNetns(pod)) && !ipamHas(status.podIP!), 5000);
    const after = await driver.status(uid, 'sandbox gone', (s) => condition(s, 'PodReadyToStartContainers') === 'False', 5000);
    expect(after.status.phase).toBe('Succeeded');
    driver.delete(pod, 30);
    await driver.finalDeleted(uid, 5000);
  });

  it('GIVEN restartPolicy Never and a failing container THEN Failed with the exit code', async () => {
    const pod = makePod('fails', [{ name: 'main', image: 'busybox', command: ['sh', '-c', 'exit 3'] }], { restartPolicy: 'Never' });
    driver.apply(pod);
    const { status } = await driver.status(pod.metadata!.uid!, 'Failed', (s) => s.phase === 'Failed');
    expect(status.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
  });

  it('GIVEN an image the lab cannot map and no command WHEN run THEN the pod fails with a clear reason and a Failed event, and nothing is created', async () => {
    const pod = makePod('nginx', [{ name: 'web', image: 'nginx:1.27' }], { restartPolicy: 'Never' });
    const uid = pod.metadata!.uid!;
    driver.apply(pod);
    const { status } = await driver.status(uid, 'Failed', (s) => s.phase === 'Failed');
    expect(status.reason).toBe('UnsupportedContainer');
    expect(status.containerStatuses?.[0]?.state?.waiting).toMatchObject({ reason: 'CreateContainerError' });
    expect(status.containerStatuses?.[0]?.state?.waiting?.message).toMatch(/set the container's command/);
    expect(driver.events(uid)).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Warning', reason: 'Failed', fieldPath: 'spec.containers{web}' })]));
    expect(await netnsList()).not.toContain(podNetns(pod));
  });

  it('GIVEN a program missing on the host WHEN run with restartPolicy Always THEN StartError (exit 128) and CrashLoopBackOff', async () => {
    const pod = makePod('missing', [{ name: 'app', image: 'busybox', command: ['no-such-binary-kth'] }]);
    const uid = pod.metadata!.uid!;
    driver.apply(pod);
    const { status } = await driver.status(uid, 'CrashLoopBackOff', (s) => s.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff');
    expect(status.containerStatuses?.[0]?.lastState?.terminated).toMatchObject({ exitCode: 128, reason: 'StartError' });
    driver.delete(pod, 30);
    await driver.finalDeleted(uid, 5000);
  });

  it('GIVEN the sample gRPC server with a grpc readiness probe THEN Ready once its health service says SERVING', async () => {
    const pod = makePod('grpc', [
      {
        name: 'grpc',
        image: 'ghcr.io/example/kube-traffic-harness/grpc-server:test',
        ports: [{ containerPort: 9090 }],
        readinessProbe: { grpc: { port: 9090 }, periodSeconds: 1 },
      },
    ]);
    const uid = pod.metadata!.uid!;
    driver.apply(pod);
    await driver.status(uid, 'Ready', (s) => condition(s, 'Ready') === 'True', 30_000);
    driver.delete(pod, 5);
    await driver.finalDeleted(uid, 15_000);
  });

  it('GIVEN a container that ignores SIGTERM WHEN deleted with grace 3 THEN killed at ~3 s, the pod Failed (137) before the final delete', async () => {
    const pod = makePod('stubborn', [{ name: 'app', image: 'busybox', command: ['sh', '-c', "trap '' TERM; echo ready; while :; do sleep 0.2; done"] }]);
    const uid = pod.metadata!.uid!;
    driver.apply(pod);
    const { status } = await driver.status(uid, 'Running', (s) => s.containerStatuses?.[0]?.state?.running !== undefined);
    const pid = pidOf(status.containerStatuses?.[0]?.containerID);
    const log = join(node.stateDir, 'pods', `default_stubborn_${uid8(pod)}`, 'app.log');
    await eventually('trap set', () => existsSync(log) && readFileSync(log, 'utf8').includes('ready'));
    const deletedAt = Date.now();
    driver.delete(pod, 3);
    const done = await driver.finalDeleted(uid, 10_000);
    expect(done - deletedAt).toBeGreaterThanOrEqual(2900);
    expect(done - deletedAt).toBeLessThan(5000);
    expect(alive(pid)).toBe(false);
    const last = driver.latestStatus(uid)!;
    expect(last.phase).toBe('Failed');
    expect(last.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(137);
  });
  it('GIVEN a native sidecar (init container with restartPolicy Always) THEN it starts first, runs beside the app, and restarts on its own', async () => {
    const pod = makePod('sidecar', [{ name: 'app', image: 'busybox', command: ['sleep', '1000'] }], {
      initContainers: [{ name: 'proxy', image: 'busybox', command: ['sleep', '1000'], restartPolicy: 'Always' }],
    });
    const uid = pod.metadata!.uid!;
    driver.apply(pod);
    const { status } = await driver.status(uid, 'Ready', (s) => condition(s, 'Ready') === 'True');
    expect(status.initContainerStatuses?.[0]).toMatchObject({ name: 'proxy', ready: true, started: true });
    expect(new Date(status.initContainerStatuses![0]!.state!.running!.startedAt!).getTime()).toBeLessThanOrEqual(new Date(status.containerStatuses![0]!.state!.running!.startedAt!).getTime());
    process.kill(pidOf(status.initContainerStatuses?.[0]?.containerID), 'SIGKILL');
    const after = await driver.status(uid, 'sidecar restarted', (s) => s.initContainerStatuses?.[0]?.restartCount === 1 && s.initContainerStatuses[0].state?.running !== undefined);
    expect(after.status.containerStatuses?.[0]).toMatchObject({ restartCount: 0, containerID: status.containerStatuses?.[0]?.containerID });
    expect(after.status.phase).toBe('Running');
    driver.delete(pod, 0);
    await driver.waitFor('force delete', (r) => r.type === 'forceDeleted' && r.uid === uid);
  });

  it('GIVEN a hostNetwork pod THEN it runs in the node namespace with the node address as pod IP, and no pod namespace is made', async () => {
    const pod = makePod('hostnet', [{ name: 'app', image: 'busybox', command: ['sh', '-c', 'ip -o -4 addr show eth0; exec sleep 1000'] }], { hostNetwork: true });
    const uid = pod.metadata!.uid!;
    driver.apply(pod);
    const { status } = await driver.status(uid, 'Running', (s) => s.phase === 'Running');
    expect(status.podIP).toBe(node.nodeIp);
    const log = join(node.stateDir, 'pods', `default_hostnet_${uid8(pod)}`, 'app.log');
    await eventually('address printed', () => existsSync(log) && readFileSync(log, 'utf8').includes(node.nodeIp));
    expect(await netnsList()).not.toContain(podNetns(pod));
    driver.delete(pod, 0);
    await driver.waitFor('force delete', (r) => r.type === 'forceDeleted' && r.uid === uid);
  });

  it('GIVEN a termination under way with grace 30 WHEN deleted again with grace 1 THEN it is cut short (SIGKILL within ~1 s)', async () => {
    const pod = makePod('shorter', [{ name: 'app', image: 'busybox', command: ['sh', '-c', "trap '' TERM; echo ready; while :; do sleep 0.2; done"] }]);
    const uid = pod.metadata!.uid!;
    driver.apply(pod);
    await driver.status(uid, 'Running', (s) => s.containerStatuses?.[0]?.state?.running !== undefined);
    const log = join(node.stateDir, 'pods', `default_shorter_${uid8(pod)}`, 'app.log');
    await eventually('trap set', () => existsSync(log) && readFileSync(log, 'utf8').includes('ready'));
    driver.delete(pod, 30);
    await new Promise((r) => setTimeout(r, 500));
    const second = Date.now();
    driver.delete(pod, 1);
    const done = await driver.finalDeleted(uid, 10_000);
    expect(done - second).toBeLessThan(3000);
  });
});

describe('agent restart: pods keep running and are adopted', () => {
  let node: TestNode;
  let drivers: PodDriver[] = [];

  beforeAll(async () => {
    node = await createTestNode();
  });
  afterAll(async () => {
    for (const d of drivers) d.kill();
    await node?.destroy();
  });

  it('GIVEN a running pod WHEN the agent stops and a new one starts THEN the same process keeps running, is adopted (no restart), and a deletion still works', async () => {
    const first = await PodDriver.start(node);
    drivers.push(first);
    const pod = makePod('keep', [{ name: 'app', image: 'busybox', command: ['sleep', '1000'], readinessProbe: { exec: { command: ['true'] }, periodSeconds: 1 } }], {
      terminationGracePeriodSeconds: 2,
    });
    const uid = pod.metadata!.uid!;
    first.apply(pod);
    const { status } = await first.status(uid, 'Ready', (s) => condition(s, 'Ready') === 'True');
    const pid = pidOf(status.containerStatuses?.[0]?.containerID);

    await first.detach();
    expect(alive(pid)).toBe(true);
    expect(await netnsList()).toContain(`${node.podNetnsPrefix}${uid.replaceAll('-', '').slice(0, 8)}`);

    const second = await PodDriver.start(node);
    drivers.push(second);
    // A second pod the new agent allocates must not get the first one's address.
    const other = makePod('other', [{ name: 'app', image: 'busybox', command: ['sleep', '1000'] }]);
    second.apply({ ...pod, status });
    second.apply(other);
    const otherStatus = await second.status(other.metadata!.uid!, 'Running', (s) => s.phase === 'Running');
    expect(otherStatus.status.podIP).not.toBe(status.podIP);
    await second.waitFor('adopted', (r) => r.type === 'log' && r.line.includes(`adopted container app (pid ${pid})`));
    expect(second.events(uid).filter((e) => e.reason === 'Started')).toEqual([]);
    await new Promise((r) => setTimeout(r, 1500));
    const now = second.latestStatus(uid) ?? status;
    expect(now.containerStatuses?.[0]).toMatchObject({ containerID: `kth-lab://${pid}`, restartCount: 0, ready: true });

    second.delete(pod, 2);
    await second.finalDeleted(uid, 10_000);
    expect(alive(pid)).toBe(false);
    second.delete(other, 0);
  });

  it('GIVEN pod state left by an agent WHEN the pod no longer exists at restart THEN its processes, namespace and address are removed', async () => {
    const first = await PodDriver.start(node);
    drivers.push(first);
    const pod = makePod('orphan', [{ name: 'app', image: 'busybox', command: ['sleep', '1000'] }]);
    const uid = pod.metadata!.uid!;
    first.apply(pod);
    const { status } = await first.status(uid, 'Running', (s) => s.phase === 'Running');
    const pid = pidOf(status.containerStatuses?.[0]?.containerID);
    await first.detach();

    const second = await PodDriver.start(node);
    drivers.push(second);
    // The first list the new agent sees holds some other pod only.
    second.apply(makePod('unrelated', [{ name: 'app', image: 'busybox', command: ['sleep', '1000'] }]));
    await eventually('orphan process gone', () => !alive(pid), 8000);
    await eventually('orphan netns gone', async () => !(await netnsList()).includes(`${node.podNetnsPrefix}${uid.replaceAll('-', '').slice(0, 8)}`), 5000);
    // The namespace goes first, the address right after it (pod-attach.ts detach): wait for both.
    const allocatedUids = (): string[] =>
      Object.values((JSON.parse(readFileSync(join(node.stateDir, 'ipam.json'), 'utf8')) as { allocations: Record<string, { uid: string }> }).allocations).map((a) => a.uid);
    await eventually('orphan address freed', () => !allocatedUids().includes(uid), 5000);
    expect(allocatedUids()).not.toContain(uid);
  });
});
