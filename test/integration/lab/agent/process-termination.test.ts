import { existsSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createPodNetwork, deletePodNetwork, type NodeNetContext } from '../../../../harness/lab/agent/pod-network.ts';
import { adoptContainer, type ContainerProcess, spawnContainer, StartError } from '../../../../harness/lab/agent/process.ts';
import { terminatedFromExit } from '../../../../harness/lab/agent/status.ts';
import { stopContainer } from '../../../../harness/lab/agent/termination.ts';
import { alive, createTestNode, eventually, type TestNode } from './support/test-node.ts';

/**
 * Container processes for real: started inside the pod's network namespace with their env and
 * log, killed as a whole, and stopped the kubelet's way (preStop → SIGTERM → grace → SIGKILL),
 * timed with a wall clock.
 */
describe('container processes and termination', () => {
  let node: TestNode;
  let context: NodeNetContext;
  const podNetns = () => `${node.podNetnsPrefix}bbbb0001`;
  const spawned: ContainerProcess[] = [];

  beforeAll(async () => {
    node = await createTestNode();
    context = { nodeNetns: node.nodeNetns, netnsCommandPrefix: [] };
    await createPodNetwork(context, { podNetns: podNetns(), hostVeth: 'kpbbbb0001', podIp: '198.18.129.9', alias: 'kth-pod:default/proc' });
  });
  afterEach(() => {
    for (const p of spawned.splice(0)) p.killAll();
  });
  afterAll(async () => {
    if (node) await deletePodNetwork(context, { podNetns: podNetns(), hostVeth: 'kpbbbb0001' }).catch(() => {});
    await node?.destroy();
  });

  const start = (script: string, name = 'c') => {
    const p = spawnContainer({
      podNetns: podNetns(),
      argv: ['sh', '-c', script],
      env: { PATH: '/usr/bin:/bin', KTH_LAB: node.labName, POD_NAME: 'proc' },
      cwd: node.stateDir,
      logPath: join(node.stateDir, `${name}.log`),
    });
    spawned.push(p);
    return p;
  };
  /** Waits until the script has set its traps (it prints 'ready'): a signal before that would kill sh. */
  const ready = (name: string) => eventually(`${name} ready`, () => existsSync(join(node.stateDir, `${name}.log`)) && readFileSync(join(node.stateDir, `${name}.log`), 'utf8').includes('ready'));
  const target = () => ({ podIp: '198.18.129.9', podNetns: podNetns(), env: { PATH: '/usr/bin:/bin', KTH_LAB: node.labName }, containerPorts: [] });

  it('GIVEN a container WHEN started THEN it runs in the pod network namespace, with its env, logging to its file', async () => {
    const p = start('echo "hello $POD_NAME $KTH_LAB"; exec sleep 1000', 'hello');
    const log = join(node.stateDir, 'hello.log');
    await eventually('log line', () => existsSync(log) && readFileSync(log, 'utf8').includes('hello proc'));
    expect(readFileSync(log, 'utf8')).toContain(`hello proc ${node.labName}`);
    expect(readlinkSync(`/proc/${p.pid}/ns/net`)).toBe(`net:[${statSync(`/run/netns/${podNetns()}`).ino}]`);
    expect(readFileSync(`/proc/${p.pid}/environ`, 'latin1').split('\0')).toContain(`KTH_LAB=${node.labName}`);
  });

  it('GIVEN a running container WHEN its main process gets kill -9 THEN it exits 137 and whatever it started dies with it', async () => {
    const p = start('sleep 1000 & echo $! > child.pid; wait', 'tree');
    const pidFile = join(node.stateDir, 'child.pid');
    await eventually('child pid', () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim());
    const child = Number(readFileSync(pidFile, 'utf8'));
    expect(alive(child)).toBe(true);
    process.kill(p.pid, 'SIGKILL');
    const exit = await p.exited;
    expect(terminatedFromExit({ ...exit, finishedAt: exit.finishedAt })).toMatchObject({ exitCode: 137, reason: 'Error' });
    await eventually('child gone', () => !alive(child), 3000);
  });

  it('GIVEN a program that does not exist WHEN started THEN a StartError like a runtime gives', () => {
    expect(() => spawnContainer({ podNetns: podNetns(), argv: ['no-such-program-kth'], env: { PATH: '/usr/bin:/bin' }, cwd: '/', logPath: join(node.stateDir, 'x.log') })).toThrow(
      new StartError('exec: "no-such-program-kth": executable file not found in $PATH'),
    );
  });

  it('GIVEN preStop sleep 1 and a process that exits on SIGTERM WHEN stopped with grace 5 THEN SIGTERM comes after the hook and it exits 0 without SIGKILL', async () => {
    const p = start("trap 'echo got TERM; exit 0' TERM; echo ready; while :; do sleep 0.1; done", 'graceful');
    await ready('graceful');
    const began = Date.now();
    const result = await stopContainer({ process: p, gracePeriodMs: 5000, preStop: { sleep: { seconds: 1 } }, target: target() });
    const took = Date.now() - began;
    expect(result.killed).toBe(false);
    expect(result.exit?.exitCode).toBe(0);
    expect(result.preStopMs).toBeGreaterThanOrEqual(950);
    expect(result.timeline.sigtermAt!.getTime() - began).toBeGreaterThanOrEqual(950);
    expect(took).toBeLessThan(2500);
    expect(readFileSync(join(node.stateDir, 'graceful.log'), 'utf8')).toContain('got TERM');
  });

  it('GIVEN an exec preStop hook WHEN stopped THEN the hook ran inside the pod namespace before SIGTERM', async () => {
    const p = start("trap 'exit 0' TERM; echo ready; while :; do sleep 0.1; done", 'exec-hook');
    await ready('exec-hook');
    const marker = join(node.stateDir, 'prestop.txt');
    await stopContainer({ process: p, gracePeriodMs: 5000, preStop: { exec: { command: ['sh', '-c', `ip -o addr show eth0 > ${marker}`] } }, target: target() });
    expect(readFileSync(marker, 'utf8')).toContain('198.18.129.9/32');
  });

  it('GIVEN a process that ignores SIGTERM WHEN stopped with grace 3 THEN SIGKILL at 3 s and exit 137', async () => {
    const p = start("trap '' TERM; echo ready; while :; do sleep 0.1; done", 'stubborn');
    await ready('stubborn');
    const began = Date.now();
    const result = await stopContainer({ process: p, gracePeriodMs: 3000, target: target() });
    const killedAfter = result.timeline.sigkillAt!.getTime() - began;
    expect(result.killed).toBe(true);
    expect(killedAfter).toBeGreaterThanOrEqual(2950);
    expect(killedAfter).toBeLessThan(3800);
    expect(terminatedFromExit({ ...result.exit!, finishedAt: new Date() }).exitCode).toBe(137);
    expect(alive(p.pid)).toBe(false);
  });

  it('GIVEN a preStop hook longer than the grace period WHEN stopped THEN the hook is cut at the grace period and SIGTERM gets the kubelet minimum 2 s', async () => {
    const p = start("trap '' TERM; echo ready; while :; do sleep 0.1; done", 'long-hook');
    await ready('long-hook');
    const began = Date.now();
    const result = await stopContainer({ process: p, gracePeriodMs: 2000, preStop: { sleep: { seconds: 30 } }, target: target() });
    expect(result.timeline.sigtermAt!.getTime() - began).toBeGreaterThanOrEqual(1950);
    expect(result.timeline.sigtermAt!.getTime() - began).toBeLessThan(2600);
    expect(result.timeline.sigkillAt!.getTime() - result.timeline.sigtermAt!.getTime()).toBeGreaterThanOrEqual(1950);
  });

  it('GIVEN grace 0 (force delete) WHEN stopped THEN no hook, no SIGTERM: SIGKILL at once', async () => {
    const p = start('while :; do sleep 0.1; done', 'force');
    const marker = join(node.stateDir, 'never.txt');
    const began = Date.now();
    const result = await stopContainer({ process: p, gracePeriodMs: 0, preStop: { exec: { command: ['touch', marker] } }, target: target() });
    expect(Date.now() - began).toBeLessThan(500);
    expect(result.timeline.sigtermAt).toBeUndefined();
    expect(result.killed).toBe(true);
    expect(existsSync(marker)).toBe(false);
  });

  it('GIVEN a graceful stop under way WHEN escalated (force-deleted meanwhile) THEN SIGKILL at once', async () => {
    const p = start("trap '' TERM; echo ready; while :; do sleep 0.1; done", 'escalate');
    await ready('escalate');
    const escalate = new AbortController();
    const began = Date.now();
    setTimeout(() => escalate.abort(), 500);
    const result = await stopContainer({ process: p, gracePeriodMs: 30_000, preStop: { sleep: { seconds: 20 } }, target: target(), escalate: escalate.signal });
    expect(Date.now() - began).toBeLessThan(1500);
    expect(result.killed).toBe(true);
  });

  it('GIVEN a process an earlier agent started WHEN adopted THEN it can be killed by pid and its end is noticed', async () => {
    const p = start('exec sleep 1000', 'adopt');
    expect(adoptContainer(p.pid, 'not-its-start-time', p.startedAt)).toBeUndefined();
    const adopted = adoptContainer(p.pid, p.procStart, p.startedAt, 100);
    expect(adopted).toBeDefined();
    adopted!.signal('SIGTERM');
    const exit = await adopted!.exited;
    expect(exit.observed).toBe(false);
    expect(alive(p.pid)).toBe(false);
  });
});
