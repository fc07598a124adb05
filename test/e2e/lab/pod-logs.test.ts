/** @lab iptables/2 */
import { jest } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { ApiException, Log, type V1Pod } from '@kubernetes/client-node';
import { apply, type Cluster, connect, ensureNamespace, waitForPodReady } from '../../../harness/kube/cluster.ts';
import { nodeIp } from '../../../harness/lab/addressing.ts';
import type { LabInfo } from '../../../harness/lab/lab.ts';
import { labLayout } from '../../../harness/lab/layout.ts';
import { labNames } from '../../../harness/lab/names.ts';
import { inNetns } from '../../support/lab-workloads.ts';
import { useSharedLab } from '../../support/shared-lab.ts';

/**
 * `GET pods/<name>/log` in a real lab, on a pod bound to node 1: the real API server proxies to that
 * node agent's kubelet port (10250, TLS both ways), which serves the container's log file.
 */
jest.setTimeout(180_000);

const ns = 'logs';
const name = 'printer';
const lineNumbers = (text: string) => text.split('\n').filter(Boolean).map((line) => Number(/^line (\d+)$/.exec(line)?.[1] ?? Number.NaN));
const consecutive = (numbers: number[]) => numbers.every((n, i) => i === 0 || n === (numbers[i - 1] as number) + 1);

/** inotify watches a process holds (Node's fs.watch): a follow the agent serves holds one. */
function inotifyWatches(pid: number): number {
  let count = 0;
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    try {
      count += (readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8').match(/^inotify wd:/gm) ?? []).length;
    } catch {
      // closed meanwhile
    }
  }
  return count;
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !check(); await new Promise((r) => setTimeout(r, 100))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

/** Follows the printer's log into a string; `ended` resolves when the response ends. */
async function follow(cluster: Cluster): Promise<{ text: () => string; ended: Promise<void>; abort: () => void }> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  const ended = new Promise<void>((resolve) => out.once('end', resolve));
  const request = await new Log(cluster.kubeconfig).log(ns, name, 'printer', out, { follow: true });
  return { text: () => text, ended, abort: () => request.abort() };
}

/** The Status message the API server answered a failed log request with. */
async function logError(request: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await request;
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    const body = typeof error.body === 'string' ? (JSON.parse(error.body) as { message?: string }) : (error.body as { message?: string });
    return { code: error.code, message: body?.message ?? '' };
  }
  throw new Error('the log request succeeded');
}

describe('pod logs through the Kubernetes API in a lab', () => {
  const sharedLab = useSharedLab();
  let lab: LabInfo;
  let cluster: Cluster;
  const readLog = (options: { tailLines?: number; limitBytes?: number; container?: string; previous?: boolean; timestamps?: boolean } = {}) =>
    cluster.core.readNamespacedPodLog({ name, namespace: ns, container: 'printer', ...options });

  beforeAll(async () => {
    lab = sharedLab();
    cluster = connect(lab.kubeconfig);
    await ensureNamespace(cluster, ns);
    const pod: V1Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: ns },
      spec: {
        nodeName: labNames(lab.spec.name).nodeName(1),
        terminationGracePeriodSeconds: 1,
        containers: [
          { name: 'printer', image: 'debian:bookworm-slim', command: ['sh', '-c', 'i=0; while :; do i=$((i+1)); echo "line $i"; sleep 0.2; done'] },
          { name: 'idle', image: 'debian:bookworm-slim', command: ['sleep', '86400'] },
        ],
      },
    };
    await apply(cluster, [pod]);
    await waitForPodReady(cluster, ns, name);
  }, 150_000);

  it('GIVEN the node is registered THEN it reports the kubelet port 10250', async () => {
    const node = await cluster.core.readNode({ name: labNames(lab.spec.name).nodeName(1) });
    expect(node.status?.daemonEndpoints?.kubeletEndpoint?.Port).toBe(10250);
  });

  it('GIVEN a pod printing a line every 200 ms THEN its whole log, its last 3 lines and its first 10 bytes come through the API', async () => {
    let whole = '';
    for (const deadline = Date.now() + 20_000; lineNumbers(whole).length < 10 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 300));
      whole = await readLog();
    }
    const numbers = lineNumbers(whole);
    expect(numbers.length).toBeGreaterThanOrEqual(10);
    expect(numbers[0]).toBe(1);
    expect(consecutive(numbers)).toBe(true);

    const tail = lineNumbers(await readLog({ tailLines: 3 }));
    expect(tail).toHaveLength(3);
    expect(consecutive(tail)).toBe(true);
    expect(tail[0]).toBeGreaterThanOrEqual(numbers.at(-1) as number - 2);

    expect(await readLog({ limitBytes: 10 })).toBe('line 1\nlin');
    expect(await readLog({ tailLines: 2, limitBytes: 3 })).toMatch(/^lin$/);
  });

  it('GIVEN options the lab cannot honour or a wrong container THEN the API answers 400 saying why', async () => {
    expect(await logError(readLog({ previous: true }))).toEqual({ code: 400, message: 'previous terminated container "printer" in pod "printer" not found' });
    expect(await logError(readLog({ timestamps: true }))).toMatchObject({ code: 400, message: expect.stringMatching(/^timestamps is not supported by the lab node agent/) });
    // The API server itself checks container names before asking the node.
    expect(await logError(readLog({ container: 'nope' }))).toEqual({ code: 400, message: 'container nope is not valid for pod printer' });
    expect(await logError(cluster.core.readNamespacedPodLog({ name, namespace: ns }))).toEqual({
      code: 400,
      message: 'a container name must be specified for pod printer, choose one of: [printer idle]',
    });
  });

  it('GIVEN the agent port WHEN called without the API server certificate THEN 401 anonymous, 403 for another lab identity, and a 404 naming the containers for an unknown one', async () => {
    const pki = labLayout(lab.spec.name).pki;
    const cp = labNames(lab.spec.name).netns('cp');
    const url = (container: string) => `https://${nodeIp(1)}:10250/containerLogs/${ns}/${name}/${container}?limitBytes=6`;
    const curl = (container: string, ...cert: string[]) =>
      inNetns(cp, ['curl', '-sS', '-m', '5', '--cacert', `${pki}/ca.crt`, ...cert, '-w', '\n%{http_code}', url(container)]);
    expect(await curl('printer')).toBe('Unauthorized\n\n401');
    expect(await curl('printer', '--cert', `${pki}/admin.crt`, '--key', `${pki}/admin.key`)).toMatch(/^Forbidden \(user=kubernetes-admin, .*\n\n403$/);
    const kubeletClient = ['--cert', `${pki}/apiserver-kubelet-client.crt`, '--key', `${pki}/apiserver-kubelet-client.key`];
    expect(await curl('printer', ...kubeletClient)).toBe('line 1\n200');
    expect(await curl('nope', ...kubeletClient)).toBe('container "nope" not found in pod "printer" (its containers: printer, idle)\n404');
  });

  it('GIVEN the node agent restarts THEN the pod log is whole and served by the new agent (the process wrote it, not the agent)', async () => {
    const pidFile = labLayout(lab.spec.name).pid(`agent-${labNames(lab.spec.name).nodeName(1)}`);
    const oldAgent = Number(readFileSync(pidFile, 'utf8'));
    const before = lineNumbers(await readLog()).at(-1) as number;
    process.kill(oldAgent, 'SIGTERM');
    await until('a new agent', () => {
      const pid = Number(readFileSync(pidFile, 'utf8'));
      return pid !== oldAgent && Number.isInteger(pid);
    }, 30_000);
    let after: number[] = [];
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
      after = lineNumbers(await readLog().catch(() => ''));
      if ((after.at(-1) ?? 0) > before) break;
    }
    expect(after[0]).toBe(1);
    expect(consecutive(after)).toBe(true);
    expect(after.at(-1)).toBeGreaterThan(before);
  });

  it('GIVEN a follow WHEN its client goes away THEN the agent stops following (its file watch is released)', async () => {
    const agentPid = Number(readFileSync(labLayout(lab.spec.name).pid(`agent-${labNames(lab.spec.name).nodeName(1)}`), 'utf8'));
    const baseline = inotifyWatches(agentPid);
    const stream = await follow(cluster);
    try {
      await until('the follow to deliver lines', () => lineNumbers(stream.text()).length > 0);
      await until('the agent to watch the log file', () => inotifyWatches(agentPid) === baseline + 1);
    } finally {
      stream.abort();
    }
    await until('the agent to release the watch', () => inotifyWatches(agentPid) === baseline);
  });

  it('GIVEN a follow WHEN the pod prints on THEN new lines arrive, and the stream ends when the pod is deleted', async () => {
    const before = lineNumbers(await readLog()).at(-1) as number;
    const stream = await follow(cluster);
    try {
      await until('a line printed after the follow began', () => lineNumbers(stream.text()).some((n) => n > before + 2));
      const seen = lineNumbers(stream.text());
      expect(seen[0]).toBe(1);
      expect(consecutive(seen)).toBe(true);

      const deletedAt = Date.now();
      await cluster.core.deleteNamespacedPod({ name, namespace: ns });
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('the follow did not end after the pod was deleted')), 20_000);
      });
      await Promise.race([stream.ended, late]).finally(() => clearTimeout(timer));
      process.stderr.write(`pod-logs e2e: follow ended ${Date.now() - deletedAt} ms after the delete\n`);
      expect(consecutive(lineNumbers(stream.text()))).toBe(true);
    } finally {
      stream.abort();
    }
  });
});
