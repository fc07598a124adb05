import { jest } from '@jest/globals';
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { type KubeletServer, startKubeletServer } from '../../../../harness/lab/agent/kubelet-server.ts';
import { podDirName } from '../../../../harness/lab/agent/names.ts';
import type { PersistedPod } from '../../../../harness/lab/agent/pod-state.ts';
import { procStartTime } from '../../../../harness/lab/agent/process.ts';
import { createPki, KUBELET_CLIENT_CN, type LabPki, signNodeServingCert } from '../../../../harness/lab/pki.ts';

/**
 * The agent's kubelet API over real TLS on loopback, with lab certificates made by openssl, a pod
 * directory as the agent leaves it, and a real process appending to its container's log.
 */
jest.setTimeout(30_000);

const uid = '0123abcd-0000-4000-8000-000000000000';
const pod: V1Pod = {
  metadata: { namespace: 'ns', name: 'p', uid },
  spec: { containers: [{ name: 'c', image: 'x' }, { name: 'side', image: 'x' }] },
};

describe('the agent kubelet API (containerLogs)', () => {
  let root: string;
  let pki: LabPki;
  let server: KubeletServer;
  let podDir: string;
  const children: ChildProcess[] = [];

  const writeState = (container: Partial<PersistedPod['containers'][number]> & { logOffset?: number; lastLogOffset?: number }) => {
    const state: PersistedPod = {
      uid, namespace: 'ns', name: 'p', podNetns: null, hostVeth: null, podIp: '10.0.0.1', startTime: new Date().toISOString(), completed: false,
      containers: [{ name: 'c', init: false, restartCount: 0, ...container }],
    };
    writeFileSync(join(podDir, 'state.json'), JSON.stringify(state));
  };

  /** GET on the server; `as` picks the client certificate (none, the lab admin, or the API server's kubelet client). */
  const get = (path: string, as: 'anonymous' | 'admin' | 'apiserver' = 'apiserver', onResponse?: (abort: () => void) => void) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const cert = as === 'admin' ? { cert: readFileSync(pki.adminCert), key: readFileSync(pki.adminKey) } : as === 'apiserver' ? { cert: readFileSync(pki.kubeletClientCert), key: readFileSync(pki.kubeletClientKey) } : {};
      const req = request({ host: '127.0.0.1', port: server.port, path, ca: readFileSync(pki.caCert), servername: '', ...cert }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', () => resolve({ status: res.statusCode ?? 0, body }));
        onResponse?.(() => req.destroy());
      });
      req.on('error', reject);
      req.end();
    });

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'kth-kubelet-logs-'));
    pki = await createPki(join(root, 'pki'), 'test', ['127.0.0.1']);
    const serving = await signNodeServingCert(pki.dir, 'node-1', '127.0.0.1');
    const stateDir = join(root, 'node');
    podDir = join(stateDir, 'pods', podDirName('ns', 'p', uid));
    mkdirSync(podDir, { recursive: true });
    server = await startKubeletServer({
      host: '127.0.0.1', port: 0, certFile: serving.cert, keyFile: serving.key, clientCaFile: serving.caCert, authorizedUser: KUBELET_CLIENT_CN,
      stateDir, pod: (namespace, name) => (namespace === 'ns' && name === 'p' ? pod : undefined), log: () => {}, followCheckIntervalMs: 100,
    });
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('GIVEN callers other than the API server THEN 401 without a certificate, 403 for another lab identity', async () => {
    writeFileSync(join(podDir, 'c.log'), 'a\n');
    writeState({});
    expect(await get('/containerLogs/ns/p/c', 'anonymous')).toEqual({ status: 401, body: 'Unauthorized\n' });
    expect(await get('/containerLogs/ns/p/c', 'admin')).toEqual({ status: 403, body: 'Forbidden (user=kubernetes-admin, verb=get, resource=nodes, subresource(s)=[log])\n' });
    expect(await get('/containerLogs/ns/p/c')).toEqual({ status: 200, body: 'a\n' });
    expect(await get('/pods')).toEqual({ status: 404, body: '404 page not found\n' });
  });

  it('GIVEN unknown pods or containers, or options the lab cannot honour THEN kubelet-like errors', async () => {
    expect(await get('/containerLogs/ns/q/c')).toEqual({ status: 404, body: 'pod "q" does not exist' });
    expect(await get('/containerLogs/ns/%E0%A4%A/c')).toMatchObject({ status: 400, body: expect.stringMatching(/^malformed path/) });
    expect(await get('/containerLogs/ns/p/nope')).toEqual({ status: 404, body: 'container "nope" not found in pod "p" (its containers: c, side)' });
    expect(await get('/containerLogs/ns/p/side')).toEqual({ status: 400, body: 'container "side" in pod "p" is waiting to start: ContainerCreating' });
    expect(await get('/containerLogs/ns/p/c?sinceSeconds=10')).toMatchObject({ status: 400, body: expect.stringMatching(/^sinceSeconds is not supported/) });
    expect(await get('/containerLogs/ns/p/c?tailLines=-1')).toMatchObject({ status: 422 });
  });

  it('GIVEN previous=true THEN not found before a restart, refused while instances are not told apart, served once their offsets are recorded', async () => {
    writeFileSync(join(podDir, 'c.log'), 'first 1\nfirst 2\nsecond 1\nsecond 2\n');
    writeState({ restartCount: 0 });
    expect(await get('/containerLogs/ns/p/c?previous=true')).toEqual({ status: 400, body: 'previous terminated container "c" in pod "p" not found' });
    writeState({ restartCount: 1 });
    expect(await get('/containerLogs/ns/p/c?previous=true')).toMatchObject({ status: 400, body: expect.stringMatching(/^previous=true is not supported by the lab node agent/) });
    expect((await get('/containerLogs/ns/p/c')).body).toBe('first 1\nfirst 2\nsecond 1\nsecond 2\n');
    writeState({ restartCount: 1, lastLogOffset: 0, logOffset: 'first 1\nfirst 2\n'.length });
    expect(await get('/containerLogs/ns/p/c?previous=true&follow=true')).toEqual({ status: 200, body: 'first 1\nfirst 2\n' });
    expect((await get('/containerLogs/ns/p/c?previous=true&tailLines=1')).body).toBe('first 2\n');
    expect((await get('/containerLogs/ns/p/c')).body).toBe('second 1\nsecond 2\n');
    expect((await get('/containerLogs/ns/p/c?tailLines=5')).body).toBe('second 1\nsecond 2\n');
  });

  it('GIVEN a log THEN tailLines and limitBytes apply as the kubelet applies them (tail first, then the byte limit)', async () => {
    writeFileSync(join(podDir, 'c.log'), 'one\ntwo\nthree\nfour\n');
    writeState({});
    expect((await get('/containerLogs/ns/p/c?tailLines=2')).body).toBe('three\nfour\n');
    expect((await get('/containerLogs/ns/p/c?tail=all')).body).toBe('one\ntwo\nthree\nfour\n');
    expect((await get('/containerLogs/ns/p/c?limitBytes=6')).body).toBe('one\ntw');
    expect((await get('/containerLogs/ns/p/c?tailLines=2&limitBytes=4')).body).toBe('thre');
    // A container that is not running: follow returns what there is and ends.
    expect((await get('/containerLogs/ns/p/c?follow=true&tailLines=1')).body).toBe('four\n');
  });

  it('GIVEN a running container WHEN followed THEN appended lines stream until the process exits, and nothing is left open', async () => {
    const log = join(podDir, 'c.log');
    writeFileSync(log, 'start\n');
    const child = spawn('sh', ['-c', `sleep 0.3; for i in 1 2 3; do echo "line $i" >> '${log}'; sleep 0.1; done`], { stdio: 'ignore' });
    children.push(child);
    writeState({ pid: child.pid, procStart: procStartTime(child.pid as number) });
    const started = Date.now();
    const { status, body } = await get('/containerLogs/ns/p/c?follow=true');
    expect(status).toBe(200);
    expect(body).toBe('start\nline 1\nline 2\nline 3\n');
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(server.activeStreams()).toBe(0);
  });

  it('GIVEN a follow WHEN the client goes away, or the server closes THEN the stream is released', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(child);
    writeState({ pid: child.pid, procStart: procStartTime(child.pid as number) });
    let abort!: () => void;
    const answered = new Promise<void>((resolve) => {
      void get('/containerLogs/ns/p/c?follow=true', 'apiserver', (a) => {
        abort = a;
        resolve();
      });
    });
    await answered;
    expect(server.activeStreams()).toBe(1);
    appendFileSync(join(podDir, 'c.log'), 'more\n');
    abort();
    for (let i = 0; i < 50 && server.activeStreams() > 0; i += 1) await new Promise((r) => setTimeout(r, 20));
    expect(server.activeStreams()).toBe(0);

    const open = get('/containerLogs/ns/p/c?follow=true');
    for (let i = 0; i < 50 && server.activeStreams() === 0; i += 1) await new Promise((r) => setTimeout(r, 20));
    expect(server.activeStreams()).toBe(1);
    await server.close();
    await open.catch(() => undefined);
    expect(server.activeStreams()).toBe(0);
  });
});
