import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { containerArgv, mountWrapperScript } from '../../../../harness/lab/agent/process.ts';
import { computePodStatus, type RuntimePod } from '../../../../harness/lab/agent/status.ts';
import {
  composeMessage,
  lastBytes,
  logTail,
  messageSpec,
  podMessageCap,
  readTerminationMessage,
  truncateUtf8,
} from '../../../../harness/lab/agent/termination-message.ts';

const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i}\n`).join('');

describe('logTail', () => {
  it('GIVEN 100 lines THEN the last 80, with the final newline', () => {
    expect(logTail(Buffer.from(lines(1, 100)), 80, 2048).toString()).toBe(lines(21, 100));
  });
  it('GIVEN fewer lines than asked THEN all of them', () => {
    expect(logTail(Buffer.from(lines(1, 3)), 80, 2048).toString()).toBe(lines(1, 3));
  });
  it('GIVEN no trailing newline THEN the unfinished line counts as the last one', () => {
    expect(logTail(Buffer.from('a\nb\nc'), 2, 2048).toString()).toBe('b\nc');
  });
  it('GIVEN long lines THEN only the last 2048 bytes of those lines', () => {
    const long = Array.from({ length: 80 }, (_, i) => `${String(i).padStart(3, '0')}${'x'.repeat(96)}\n`).join('');
    const tail = logTail(Buffer.from(long), 80, 2048);
    expect(tail.length).toBe(2048);
    expect(tail.toString().endsWith(`079${'x'.repeat(96)}\n`)).toBe(true);
  });
  it('GIVEN an empty log THEN nothing', () => expect(logTail(Buffer.alloc(0), 80, 2048).length).toBe(0));
});

describe('message caps', () => {
  it('keeps the end of an over-long message (the kubelet reads the file from its end)', () => {
    expect(lastBytes(Buffer.from('abcdef'), 4).toString()).toBe('cdef');
    expect(lastBytes(Buffer.from('ab'), 4).toString()).toBe('ab');
  });
  it('splits 12 KiB evenly across the containers of a pod', () => {
    expect(podMessageCap(1)).toBe(12288);
    expect(podMessageCap(4)).toBe(3072);
    expect(podMessageCap(5)).toBe(2457);
    expect(podMessageCap(0)).toBe(12288);
  });
  it('truncates at a character boundary', () => {
    expect(truncateUtf8('abcdef', 3)).toBe('abc');
    expect(truncateUtf8('aé', 2)).toBe('a'); // é is 2 bytes: not cut in half
    expect(truncateUtf8('aé', 3)).toBe('aé');
    expect(truncateUtf8('€€', 4)).toBe('€');
  });
  it('appends what the container wrote to a message of the runtime, as the kubelet does', () => {
    expect(composeMessage(undefined, 'bye')).toBe('bye');
    expect(composeMessage('lost', 'bye')).toBe('lost: bye');
    expect(composeMessage('lost', '')).toBe('lost');
    expect(composeMessage(undefined, '')).toBeUndefined();
  });
  it('applies the API defaults for a pod that did not pass through an API server', () => {
    expect(messageSpec({ name: 'a' })).toEqual({ path: '/dev/termination-log', fallbackToLogs: false });
    expect(messageSpec({ name: 'a', terminationMessagePath: '/x', terminationMessagePolicy: 'FallbackToLogsOnError' })).toEqual({ path: '/x', fallbackToLogs: true });
  });
});

describe('readTerminationMessage', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kth-tmsg-unit-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const source = (fallbackToLogs: boolean, logOffset = 0) => ({ file: join(dir, 'msg'), fallbackToLogs, logPath: join(dir, 'app.log'), logOffset });

  it('GIVEN a file over 4096 bytes THEN its last 4096 bytes', () => {
    writeFileSync(join(dir, 'msg'), `${'a'.repeat(1000)}${'b'.repeat(4096)}`);
    expect(readTerminationMessage(source(false), 0)).toBe('b'.repeat(4096));
  });
  it('GIVEN FallbackToLogsOnError, an empty file and exit 1 THEN the tail of this instance’s log only', () => {
    writeFileSync(join(dir, 'msg'), '');
    const before = 'earlier instance\n';
    writeFileSync(join(dir, 'app.log'), `${before}${lines(1, 90)}`);
    expect(readTerminationMessage(source(true, before.length), 1)).toBe(lines(11, 90));
    expect(readTerminationMessage(source(true, before.length + lines(1, 89).length), 1)).toBe('line 90\n');
  });
  it('GIVEN FallbackToLogsOnError and exit 0, or a written file THEN no log', () => {
    writeFileSync(join(dir, 'app.log'), 'some output\n');
    writeFileSync(join(dir, 'msg'), '');
    expect(readTerminationMessage(source(true), 0)).toBe('');
    writeFileSync(join(dir, 'msg'), 'written');
    expect(readTerminationMessage(source(true), 2)).toBe('written');
  });
  it('GIVEN File policy, no file THEN nothing; no log either THEN nothing', () => {
    expect(readTerminationMessage(source(false), 1)).toBe('');
    expect(readTerminationMessage(source(true), 1)).toBe('');
  });
});

describe('container command line with its mounts', () => {
  const tool = (name: string) => `/bin/${name}`;
  it('GIVEN a pod namespace THEN ip netns exec, then the wrapper that mounts and execs the program', () => {
    const argv = containerArgv({ podNetns: 'ns1', env: {}, mounts: [{ source: '/state/app.0', target: '/dev/termination-log' }] }, '/usr/bin/sleep', ['10'], tool);
    expect(argv.slice(0, 6)).toEqual(['ip', 'netns', 'exec', 'ns1', '/bin/sh', '-c']);
    expect(argv.slice(7)).toEqual(['/bin/mount', 'bind', '/state/app.0', '/dev/termination-log', '--', '/usr/bin/sleep', '10']);
  });
  it('GIVEN several mounts, one read-only, and a program whose own arguments include -- THEN a triple each, in order, then the program untouched', () => {
    const mounts = [{ source: '/state/vol', target: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }, { source: '/state/app.0', target: '/dev/termination-log' }];
    const argv = containerArgv({ podNetns: 'ns1', env: {}, mounts }, '/p', ['--', 'x'], tool);
    expect(argv.slice(7)).toEqual(['/bin/mount', 'bind,ro', '/state/vol', '/var/run/secrets/kubernetes.io/serviceaccount', 'bind', '/state/app.0', '/dev/termination-log', '--', '/p', '--', 'x']);
  });
  it('GIVEN a hostNetwork pod (no namespace) THEN its own mount namespace from unshare', () => {
    const argv = containerArgv({ podNetns: undefined, env: {}, mounts: [{ source: '/f', target: '/t' }] }, '/p', [], tool);
    expect(argv.slice(0, 4)).toEqual(['/bin/unshare', '--mount', '--propagation', 'slave']);
  });
  it('GIVEN no mounts THEN the program directly', () => {
    expect(containerArgv({ podNetns: 'ns1', env: {} }, '/p', ['a'], tool)).toEqual(['ip', 'netns', 'exec', 'ns1', '/p', 'a']);
  });
  it('unsets what the shell adds unless the container set it', () => {
    expect(mountWrapperScript({})).toMatch(/^unset PWD OLDPWD SHLVL; /);
    expect(mountWrapperScript({ PWD: '/x', OLDPWD: '/', SHLVL: '1' })).not.toContain('unset');
  });
});

describe('pod status caps termination messages at 12 KiB per pod', () => {
  it('GIVEN four containers with 4096-byte messages THEN 3072 bytes each, lastState too', () => {
    const names = ['a', 'b', 'c', 'd'];
    const containers: V1Container[] = names.map((name) => ({ name }));
    const pod: V1Pod = { metadata: { uid: 'u' }, spec: { containers, restartPolicy: 'Never' }, status: {} };
    const t = new Date('2026-01-01T00:00:00Z');
    const terminated = { kind: 'terminated' as const, exitCode: 0, reason: 'Completed', message: 'm'.repeat(4096), finishedAt: t };
    const runtime: RuntimePod = {
      hostIp: '10.0.0.1',
      sandboxReady: false,
      initContainers: [],
      containers: names.map((name) => ({ name, state: terminated, lastTerminated: terminated, restartCount: 1, ready: false, started: false })),
      terminal: true,
    };
    const status = computePodStatus(pod, runtime, t);
    for (const c of status.containerStatuses ?? []) {
      expect(c.state?.terminated?.message).toHaveLength(3072);
      expect(c.lastState?.terminated?.message).toHaveLength(3072);
    }
  });
});
