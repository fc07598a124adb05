import { jest } from '@jest/globals';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import WebSocket from 'ws';
import { type KubeletServer, startKubeletServer } from '../../../../harness/lab/agent/kubelet-server.ts';
import { procStartTime } from '../../../../harness/lab/agent/process.ts';
import { createPki, KUBELET_CLIENT_CN, type LabPki, signNodeServingCert } from '../../../../harness/lab/pki.ts';

/**
 * `pods/exec` as the API server proxies it to a node that declares ExtendWebSocketsToKubelet: a
 * WebSocket upgrade on the agent's kubelet API over real TLS, speaking the v5 channel protocol to
 * a real command in the namespaces of a real "container" process (here a sleep this test starts).
 */
jest.setTimeout(30_000);

const pod: V1Pod = { metadata: { namespace: 'ns', name: 'p', uid: '0123abcd-0000-4000-8000-000000000000' }, spec: { containers: [{ name: 'c', image: 'x' }] } };

interface Session {
  stdout: string;
  stderr: string;
  status: Record<string, unknown> | undefined;
  protocol: string;
}

describe('the agent kubelet API (exec over WebSocket)', () => {
  let root: string;
  let pki: LabPki;
  let server: KubeletServer;
  let container: ChildProcess;

  const tls = (as: 'admin' | 'apiserver') => ({
    ca: readFileSync(pki.caCert),
    cert: readFileSync(as === 'admin' ? pki.adminCert : pki.kubeletClientCert),
    key: readFileSync(as === 'admin' ? pki.adminKey : pki.kubeletClientKey),
  });
  const execPath = (command: string[], extra = 'input=1&output=1&error=1') => `/exec/ns/p/c?${command.map((c) => `command=${encodeURIComponent(c)}`).join('&')}&${extra}`;

  /** One exec session; `input` is sent on stdin, then stdin is closed (v5's close signal); `onOpen` may act on the socket. */
  const exec = (path: string, input?: string, onOpen?: (socket: WebSocket) => void) =>
    new Promise<Session>((resolve, reject) => {
      const socket = new WebSocket(`wss://127.0.0.1:${server.port}${path}`, ['v5.channel.k8s.io', 'v4.channel.k8s.io'], tls('apiserver'));
      const session: Session = { stdout: '', stderr: '', status: undefined, protocol: '' };
      socket.on('open', () => {
        session.protocol = socket.protocol;
        if (input !== undefined) {
          socket.send(Buffer.concat([Buffer.from([0]), Buffer.from(input)]));
          socket.send(Buffer.from([255, 0]));
        }
        onOpen?.(socket);
      });
      socket.on('message', (data: Buffer) => {
        const body = data.subarray(1).toString();
        if (data[0] === 1) session.stdout += body;
        if (data[0] === 2) session.stderr += body;
        if (data[0] === 3 && body) session.status = JSON.parse(body) as Record<string, unknown>;
      });
      socket.on('close', () => resolve(session));
      socket.on('error', reject);
    });

  /** The HTTP answer to an upgrade the server refuses. */
  const refusal = (path: string, as: 'admin' | 'apiserver', upgrade = 'websocket') =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, path, servername: '', ...tls(as), headers: { Connection: 'Upgrade', Upgrade: upgrade, 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' } });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('upgrade', () => reject(new Error('the upgrade was accepted')));
      req.on('error', reject);
      req.end();
    });

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'kth-kubelet-exec-'));
    pki = await createPki(join(root, 'pki'), 'test', ['127.0.0.1']);
    const serving = await signNodeServingCert(pki.dir, 'node-1', '127.0.0.1');
    container = spawn('sleep', ['60'], { stdio: 'ignore' });
    server = await startKubeletServer({
      host: '127.0.0.1', port: 0, certFile: serving.cert, keyFile: serving.key, clientCaFile: serving.caCert, authorizedUser: KUBELET_CLIENT_CN,
      stateDir: root, pod: (namespace, name) => (namespace === 'ns' && name === 'p' ? pod : undefined), log: () => {},
      execTarget: (_pod, name) => (name === 'c' ? { containerPid: container.pid as number, env: { PATH: '/usr/bin:/bin', GREETING: 'from-the-container-env' } } : `container ${name} is not valid for pod p`),
    });
  });
  afterAll(async () => {
    container?.kill('SIGKILL');
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('GIVEN a command with stdin THEN stdout, stderr and the exit code come back on their channels (v5)', async () => {
    const session = await exec(execPath(['sh', '-c', 'cat; echo "$GREETING" >&2; exit 3']), 'hello from stdin');
    expect(session.protocol).toBe('v5.channel.k8s.io');
    expect(session.stdout).toBe('hello from stdin');
    expect(session.stderr).toBe('from-the-container-env\n');
    expect(session.status).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] } });
  });

  it('GIVEN a command that succeeds THEN the status says Success', async () => {
    const session = await exec(execPath(['true'], 'output=1&error=1'));
    expect(session.status).toEqual({ metadata: {}, status: 'Success' });
  });

  it('GIVEN the client goes away mid-command THEN the command is killed', async () => {
    let marker = '';
    await exec(execPath(['sh', '-c', 'echo $$; exec sleep 30'], 'output=1'), undefined, (socket) => {
      socket.on('message', (data: Buffer) => {
        if (data[0] === 1 && data.length > 1) {
          marker = data.subarray(1).toString().trim();
          socket.terminate();
        }
      });
    });
    const pid = Number(marker);
    expect(pid).toBeGreaterThan(0);
    for (let i = 0; i < 50 && procStartTime(pid) !== undefined; i += 1) await new Promise((r) => setTimeout(r, 100));
    expect(procStartTime(pid)).toBeUndefined();
  });

  it('GIVEN what the agent does not serve THEN a clear refusal before any upgrade', async () => {
    expect((await refusal(execPath(['true']), 'admin')).status).toBe(403);
    const spdy = await refusal(execPath(['true']), 'apiserver', 'SPDY/3.1');
    expect(spdy.status).toBe(400);
    expect(spdy.body).toMatch(/WebSocket only/);
    const tty = await refusal(execPath(['sh'], 'input=1&output=1&tty=1'), 'apiserver');
    expect(tty.body).toMatch(/stdout and stderr cannot both|without a terminal/);
    expect((await refusal('/exec/ns/p/other?command=true&output=1', 'apiserver')).body).toMatch(/container other is not valid/);
    expect((await refusal('/exec/ns/missing/c?command=true&output=1', 'apiserver')).status).toBe(404);
  });
});
