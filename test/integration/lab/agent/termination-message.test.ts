import { jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Container, V1Pod, V1PodStatus } from '@kubernetes/client-node';
import { ensureMountTarget, listHostPlaceholders, placeholdersDir, removeHostPlaceholders } from '../../../../harness/lab/agent/host-placeholders.ts';
import type { PersistedPod } from '../../../../harness/lab/agent/pod-state.ts';
import { makePod, PodDriver } from './support/pod-driver-client.ts';
import { createTestNode, eventually, type TestNode } from './support/test-node.ts';

/**
 * terminationMessagePath / terminationMessagePolicy with real pods: each container instance
 * writes into a file of its own, bind-mounted at the path in its private mount namespace; the
 * host's path (a placeholder the lab creates when missing) is never written.
 */
jest.setTimeout(90_000);

const DEFAULT_PATH = '/dev/termination-log';
const uid8 = (pod: V1Pod) => pod.metadata!.uid!.replaceAll('-', '').slice(0, 8);
const podDir = (node: TestNode, pod: V1Pod) => join(node.stateDir, 'pods', `default_${pod.metadata!.name}_${uid8(pod)}`);
const terminated = (status: V1PodStatus | undefined, name: string) => status?.containerStatuses?.find((c) => c.name === name)?.state?.terminated;
const done = (s: V1PodStatus) => s.phase === 'Succeeded' || s.phase === 'Failed';
const sh = (name: string, script: string, extra: Partial<V1Container> = {}): V1Container => ({ name, image: 'busybox', command: ['/bin/sh', '-c', script], ...extra });

/** What a host path holds now: undefined when absent. */
const hostContent = (path: string): string | undefined => (existsSync(path) ? readFileSync(path, 'utf8') : undefined);

describe('termination messages', () => {
  let node: TestNode;
  let driver: PodDriver;
  const customRoot = `/tmp/kth-tmsg-${randomBytes(3).toString('hex')}`;
  let defaultBefore: string | undefined;

  beforeAll(async () => {
    defaultBefore = hostContent(DEFAULT_PATH);
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

  /** The host's default path is as it was, or an empty placeholder the lab recorded. */
  const expectHostDefaultUntouched = async () => {
    if (defaultBefore !== undefined) {
      expect(hostContent(DEFAULT_PATH)).toBe(defaultBefore);
      return;
    }
    expect(lstatSync(DEFAULT_PATH).isFile()).toBe(true);
    expect(lstatSync(DEFAULT_PATH).size).toBe(0);
    expect((await listHostPlaceholders()).map((p) => p.path)).toContain(DEFAULT_PATH);
  };

  it('GIVEN a container writing /dev/termination-log THEN state.terminated.message has it, and the host file is not written', async () => {
    const pod = makePod('bye', [sh('app', `echo -n bye > ${DEFAULT_PATH}; exit 0`)], { restartPolicy: 'Never' });
    driver.apply(pod);
    const { status } = await driver.status(pod.metadata!.uid!, 'done', done);
    expect(status.phase).toBe('Succeeded');
    expect(terminated(status, 'app')).toMatchObject({ exitCode: 0, reason: 'Completed', message: 'bye' });
    await expectHostDefaultUntouched();
    driver.delete(pod, 30);
    await driver.finalDeleted(pod.metadata!.uid!, 10_000);
  });

  it('GIVEN a running container that writes its message on SIGTERM WHEN the pod is deleted THEN the status before the final delete carries it', async () => {
    const pod = makePod('onterm', [sh('app', `trap 'echo -n bye-on-term > ${DEFAULT_PATH}; exit 0' TERM; echo ready; while :; do sleep 0.1; done`)], {
      terminationGracePeriodSeconds: 10,
    });
    const uid = pod.metadata!.uid!;
    driver.apply(pod);
    await driver.status(uid, 'Running', (s) => s.containerStatuses?.[0]?.state?.running !== undefined);
    const log = join(podDir(node, pod), 'app.log');
    await eventually('trap set', () => existsSync(log) && readFileSync(log, 'utf8').includes('ready'));
    driver.delete(pod, 10);
    await driver.finalDeleted(uid, 10_000);
    const index = driver.records.findIndex((r) => r.type === 'finalDelete' && r.uid === uid);
    const before = driver.records.slice(0, index).filter((r): r is Extract<typeof r, { type: 'status' }> => r.type === 'status' && r.uid === uid);
    // What a watcher sees last before DELETED: the terminated state with the message.
    expect(terminated(before.at(-1)?.status, 'app')).toMatchObject({ exitCode: 0, message: 'bye-on-term' });
    await expectHostDefaultUntouched();
    // The instance files go with the pod (right after its final delete).
    await eventually('message files removed', () => !existsSync(join(podDir(node, pod), 'termination-messages')), 3000);
  });

  it('GIVEN messages over 4096 bytes THEN the last 4096 bytes; four such containers THEN 12 KiB split evenly (3072 each)', async () => {
    const write = (letter: string) => `{ head -c 1000 /dev/zero | tr '\\0' a; head -c 4096 /dev/zero | tr '\\0' ${letter}; } > ${DEFAULT_PATH}`;
    const one = makePod('big', [sh('app', write('b'))], { restartPolicy: 'Never' });
    const four = makePod('four', ['c', 'd', 'e', 'f'].map((l) => sh(`w${l}`, write(l))), { restartPolicy: 'Never' });
    driver.apply(one);
    driver.apply(four);
    const single = await driver.status(one.metadata!.uid!, 'done', done);
    expect(terminated(single.status, 'app')?.message).toBe('b'.repeat(4096));
    const many = await driver.status(four.metadata!.uid!, 'done', done);
    for (const l of ['c', 'd', 'e', 'f']) expect(terminated(many.status, `w${l}`)?.message).toBe(l.repeat(3072));
    driver.delete(one, 0);
    driver.delete(four, 0);
  });

  it('GIVEN FallbackToLogsOnError THEN the log tail only for a non-zero exit with nothing written; File policy never uses logs; the program’s env is its own', async () => {
    const fallback = { terminationMessagePolicy: 'FallbackToLogsOnError' };
    const pod = makePod(
      'fallback',
      [
        sh('logs', 'for i in $(seq 1 100); do echo line $i; done; exit 2', fallback),
        sh('ok', 'echo some output; exit 0', fallback),
        sh('written', `echo some output; echo -n custom > ${DEFAULT_PATH}; exit 3`, fallback),
        sh('file', 'echo some output; exit 4'),
        { name: 'env', image: 'busybox', command: ['env'], env: [{ name: 'X', value: '1' }] },
      ],
      { restartPolicy: 'Never' },
    );
    driver.apply(pod);
    const { status } = await driver.status(pod.metadata!.uid!, 'done', done);
    const lines = Array.from({ length: 80 }, (_, i) => `line ${i + 21}\n`).join('');
    expect(terminated(status, 'logs')).toMatchObject({ exitCode: 2, message: lines });
    expect(terminated(status, 'ok')?.message).toBeUndefined();
    expect(terminated(status, 'written')?.message).toBe('custom');
    expect(terminated(status, 'file')).toMatchObject({ exitCode: 4 });
    expect(terminated(status, 'file')?.message).toBeUndefined();
    // The mount wrapper (a shell) leaves no PWD/SHLVL of its own behind.
    const env = readFileSync(join(podDir(node, pod), 'env.log'), 'utf8');
    expect(env).toContain('X=1');
    expect(env).not.toMatch(/^(PWD|SHLVL|OLDPWD)=/m);
    driver.delete(pod, 0);
  });

  it('GIVEN a custom terminationMessagePath whose directories do not exist THEN they are made (and recorded), the message is read, the host file stays empty', async () => {
    const path = join(customRoot, 'nested', 'msg');
    const pod = makePod('custom', [sh('app', `echo -n custom-path > ${path}; test -s ${DEFAULT_PATH} && echo default-not-empty; exit 0`, { terminationMessagePath: path })], {
      restartPolicy: 'Never',
    });
    driver.apply(pod);
    const { status } = await driver.status(pod.metadata!.uid!, 'done', done);
    expect(terminated(status, 'app')?.message).toBe('custom-path');
    expect(lstatSync(path).isFile()).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe('');
    const recorded = await listHostPlaceholders();
    expect(recorded).toEqual(expect.arrayContaining([
      expect.objectContaining({ path: customRoot, kind: 'dir', lab: node.labName }),
      expect.objectContaining({ path: join(customRoot, 'nested'), kind: 'dir', lab: node.labName }),
      expect.objectContaining({ path, kind: 'file', lab: node.labName }),
    ]));
    driver.delete(pod, 0);
  });

  it('GIVEN two pods on the node writing the same path THEN neither sees the other’s file', async () => {
    const path = join(customRoot, 'shared');
    const twin = (name: string) =>
      makePod(name, [sh('app', `printf %s "$POD_NAME" >> ${path}; sleep 1; echo "saw [$(cat ${path})]"; exit 0`, { terminationMessagePath: path })], { restartPolicy: 'Never' });
    const a = twin('twin-a');
    const b = twin('twin-b');
    driver.apply(a);
    driver.apply(b);
    const sa = await driver.status(a.metadata!.uid!, 'done', done);
    const sb = await driver.status(b.metadata!.uid!, 'done', done);
    expect(terminated(sa.status, 'app')?.message).toBe('twin-a');
    expect(terminated(sb.status, 'app')?.message).toBe('twin-b');
    expect(readFileSync(join(podDir(node, a), 'app.log'), 'utf8')).toContain('saw [twin-a]');
    expect(readFileSync(join(podDir(node, b), 'app.log'), 'utf8')).toContain('saw [twin-b]');
    expect(readFileSync(path, 'utf8')).toBe('');
    driver.delete(a, 0);
    driver.delete(b, 0);
  });

  it('GIVEN a container that restarts THEN each instance starts with an empty file, the previous message shows in lastState, and the log fallback reads only that instance’s output', async () => {
    const script = [
      'n=$(( $(cat runs 2>/dev/null || echo 0) + 1 )); echo $n > runs',
      `echo "start $n saw [$(cat ${DEFAULT_PATH})]"`,
      `if [ $n -eq 1 ]; then echo -n first > ${DEFAULT_PATH}; exit 1; fi`,
      'if [ $n -eq 2 ]; then echo second run output; sleep 1; exit 1; fi',
      `trap 'echo -n third > ${DEFAULT_PATH}; exit 0' TERM`,
      'while :; do sleep 0.1; done',
    ].join('\n');
    const pod = makePod('restarts', [sh('app', script, { terminationMessagePolicy: 'FallbackToLogsOnError' })], { restartPolicy: 'OnFailure', terminationGracePeriodSeconds: 10 });
    const uid = pod.metadata!.uid!;
    driver.apply(pod);
    const second = await driver.status(uid, 'restart 1 running', (s) => s.containerStatuses?.[0]?.restartCount === 1 && s.containerStatuses[0].state?.running !== undefined);
    expect(second.status.containerStatuses?.[0]?.lastState?.terminated).toMatchObject({ exitCode: 1, message: 'first' });
    const third = await driver.status(uid, 'restart 2 running', (s) => s.containerStatuses?.[0]?.restartCount === 2 && s.containerStatuses[0].state?.running !== undefined, 20_000);
    expect(third.status.containerStatuses?.[0]?.lastState?.terminated).toMatchObject({ exitCode: 1, message: 'start 2 saw []\nsecond run output\n' });
    const log = join(podDir(node, pod), 'app.log');
    await eventually('third instance up', () => readFileSync(log, 'utf8').includes('start 3'));
    expect(readFileSync(log, 'utf8')).toContain('start 3 saw []');
    // Only the running instance's file is kept.
    expect(readdirSync(join(podDir(node, pod), 'termination-messages'))).toEqual(['app.2']);
    driver.delete(pod, 10);
    await driver.finalDeleted(uid, 10_000);
    const last = driver.latestStatus(uid)!.containerStatuses?.[0];
    expect(last?.state?.terminated).toMatchObject({ exitCode: 0, message: 'third' });
    expect(last?.lastState?.terminated?.message).toBe('start 2 saw []\nsecond run output\n');
  });

  it('GIVEN a preStop exec hook writing the message THEN it lands in the container’s file (the hook runs in its mount namespace), not on the host', async () => {
    const pod = makePod(
      'prestop',
      [{ name: 'app', image: 'busybox', command: ['sleep', '1000'], lifecycle: { preStop: { exec: { command: ['/bin/sh', '-c', `echo -n from-prestop > ${DEFAULT_PATH}`] } } } }],
      { terminationGracePeriodSeconds: 5 },
    );
    const uid = pod.metadata!.uid!;
    driver.apply(pod);
    await driver.status(uid, 'Running', (s) => s.containerStatuses?.[0]?.state?.running !== undefined);
    driver.delete(pod, 5);
    await driver.finalDeleted(uid, 10_000);
    expect(terminated(driver.latestStatus(uid), 'app')).toMatchObject({ exitCode: 143, message: 'from-prestop' });
    await expectHostDefaultUntouched();
  });

  it('GIVEN a postStart exec hook writing the message at once THEN it too lands in the container’s file', async () => {
    const pod = makePod(
      'poststart',
      [sh('app', `while [ ! -s ${DEFAULT_PATH} ]; do sleep 0.05; done; exit 0`, { lifecycle: { postStart: { exec: { command: ['/bin/sh', '-c', `echo -n from-poststart > ${DEFAULT_PATH}`] } } } })],
      { restartPolicy: 'Never' },
    );
    driver.apply(pod);
    const { status } = await driver.status(pod.metadata!.uid!, 'done', done);
    expect(terminated(status, 'app')).toMatchObject({ exitCode: 0, message: 'from-poststart' });
    await expectHostDefaultUntouched();
    driver.delete(pod, 0);
  });

  it('GIVEN a terminationMessagePath that is a directory on the host THEN the start fails (StartError, 128) with the reason', async () => {
    const pod = makePod('dirpath', [sh('app', 'exit 0', { terminationMessagePath: tmpdir() })], { restartPolicy: 'Never' });
    driver.apply(pod);
    const { status } = await driver.status(pod.metadata!.uid!, 'done', done);
    expect(status.phase).toBe('Failed');
    expect(terminated(status, 'app')).toMatchObject({ exitCode: 128, reason: 'StartError' });
    expect(terminated(status, 'app')?.message).toMatch(/is a directory/);
    driver.delete(pod, 0);
  });

  it('GIVEN a hostNetwork pod (no pod namespace) THEN its message works the same (own mount namespace from unshare)', async () => {
    const pod = makePod('hostnet-msg', [sh('app', `echo -n host-net-bye > ${DEFAULT_PATH}`)], { restartPolicy: 'Never', hostNetwork: true });
    driver.apply(pod);
    const { status } = await driver.status(pod.metadata!.uid!, 'done', done);
    expect(terminated(status, 'app')?.message).toBe('host-net-bye');
    await expectHostDefaultUntouched();
    driver.delete(pod, 0);
  });
});

describe('termination messages across an agent restart', () => {
  let node: TestNode;
  const drivers: PodDriver[] = [];

  beforeAll(async () => {
    node = await createTestNode();
  });
  afterAll(async () => {
    for (const d of drivers) d.kill();
    await node?.destroy();
  });

  it('GIVEN a container adopted by a restarted agent WHEN it ends THEN its message is read; a finished container’s message is reported again', async () => {
    const first = await PodDriver.start(node);
    drivers.push(first);
    const pod = makePod(
      'adopt',
      [sh('done', `echo -n finished-msg > ${DEFAULT_PATH}`), sh('app', `while [ ! -f go ]; do sleep 0.1; done; echo -n adopted-bye > ${DEFAULT_PATH}; exit 0`)],
      { restartPolicy: 'Never' },
    );
    const uid = pod.metadata!.uid!;
    first.apply(pod);
    const before = await first.status(uid, 'app running, done finished', (s) => terminated(s, 'done') !== undefined && s.containerStatuses?.[1]?.state?.running !== undefined);
    expect(terminated(before.status, 'done')?.message).toBe('finished-msg');
    await first.detach();

    // What the agent left for its successor: the running instance's file and log offset.
    const saved = JSON.parse(readFileSync(join(podDir(node, pod), 'state.json'), 'utf8')) as PersistedPod;
    expect(saved.containers.find((c) => c.name === 'app')).toMatchObject({ messageFile: join(podDir(node, pod), 'termination-messages', 'app.0'), logOffset: 0 });
    expect(saved.containers.find((c) => c.name === 'done')?.terminated?.message).toBe('finished-msg');

    const second = await PodDriver.start(node);
    drivers.push(second);
    second.apply({ ...pod, status: before.status });
    await second.waitFor('adopted', (r) => r.type === 'log' && r.line.includes('adopted container app'));
    writeFileSync(join(podDir(node, pod), 'cwd', 'go'), '');
    const { status } = await second.status(uid, 'app ended', (s) => terminated(s, 'app') !== undefined, 10_000);
    expect(terminated(status, 'done')?.message).toBe('finished-msg');
    // The exit status of an adopted process is unknown, but what it wrote is not.
    expect(terminated(status, 'app')).toMatchObject({ reason: 'ContainerStatusUnknown' });
    expect(terminated(status, 'app')?.message).toMatch(/: adopted-bye$/);
    second.delete(pod, 0);
  });
});

describe('host placeholders (mount targets the lab creates)', () => {
  const saved = process.env.KTH_STATE_DIR;
  let state: string;
  let root: string;

  beforeEach(() => {
    state = mkdtempSync(join(tmpdir(), 'kth-ph-state-'));
    root = mkdtempSync(join(tmpdir(), 'kth-ph-root-'));
    process.env.KTH_STATE_DIR = state;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.KTH_STATE_DIR;
    else process.env.KTH_STATE_DIR = saved;
    rmSync(state, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  });

  it('GIVEN missing paths THEN file and parents are made and recorded once; removal takes only what is still empty and this kernel’s', async () => {
    const file = join(root, 'a', 'b', 'msg');
    const kept = join(root, 'a', 'kept');
    await ensureMountTarget(file, 'lab1');
    await ensureMountTarget(file, 'lab2'); // exists now: nothing more recorded
    await ensureMountTarget(kept, 'lab1');
    expect((await listHostPlaceholders()).map((p) => `${p.kind} ${p.path}`).sort()).toEqual([`dir ${join(root, 'a')}`, `dir ${join(root, 'a', 'b')}`, `file ${file}`, `file ${kept}`].sort());
    writeFileSync(kept, 'someone wrote here');
    // A record from another kernel (a qemu guest's) names a path that must not be touched here.
    const foreign = join(root, 'foreign');
    writeFileSync(foreign, '');
    writeFileSync(join(placeholdersDir(), 'x-foreign.json'), JSON.stringify({ path: foreign, kind: 'file', bootId: 'another-kernel', lab: 'g', createdAt: '' }));

    const removed = await removeHostPlaceholders();
    expect(removed.sort()).toEqual([file, join(root, 'a', 'b')].sort());
    expect(existsSync(kept)).toBe(true);
    expect(existsSync(join(root, 'a'))).toBe(true); // not empty: stays
    expect(existsSync(foreign)).toBe(true);
    expect(readdirSync(placeholdersDir())).toEqual([]);
  });

  it('GIVEN an existing file, a directory or a relative path THEN nothing is created; the last two are errors', async () => {
    const existing = join(root, 'there');
    writeFileSync(existing, 'x');
    await ensureMountTarget(existing, 'lab1');
    await expect(ensureMountTarget(root, 'lab1')).rejects.toThrow(/is a directory/);
    await expect(ensureMountTarget('relative/path', 'lab1')).rejects.toThrow(/not an absolute path/);
    mkdirSync(placeholdersDir(), { recursive: true });
    expect(readdirSync(placeholdersDir())).toEqual([]);
  });
});
