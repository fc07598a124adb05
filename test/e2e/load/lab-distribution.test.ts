/** @lab iptables/3 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { V1Pod } from '@kubernetes/client-node';
import { chiSquareSurvival } from '../../../harness/analysis/fairness.ts';
import type { RunSummary } from '../../../harness/analysis/run-summary.ts';
import { apply, type Cluster, connect, ensureNamespace, podsOf, waitForDeployment, waitForReadyEndpoints } from '../../../harness/kube/cluster.ts';
import type { LabInfo } from '../../../harness/lab/lab.ts';
import type { ConnectionClose, ConnectionOpen, RequestSample, TimelineEvent } from '../../../harness/recorder/events.ts';
import { sampleServiceObjects } from '../../../manifests/sample-service.ts';
import { loadFrom, podNetns, startClientPod } from '../../support/lab-workloads.ts';
import { useSharedLab } from '../../support/shared-lab.ts';
import type { K6InNetnsInput } from './support/k6-in-netns.ts';

const exec = promisify(execFile);

/** What `kth load http --json` prints: the report's run shape plus the driver's schedule. */
type LoadJson = RunSummary & { schedule: { reason: string; sent: number; dropped: number; abandoned: number; durationMs: number } };

/** Runs a test/e2e/load/support script with tsx inside a network namespace; returns its JSON line. */
async function supportScriptIn<T>(netns: string, script: string, input: unknown, timeoutMs: number): Promise<T> {
  const { stdout } = await exec('ip', ['netns', 'exec', netns, process.execPath, '--import', 'tsx', join('test/e2e/load/support', script), JSON.stringify(input)], { timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 });
  return JSON.parse(stdout) as T;
}

async function readEvents(file: string): Promise<TimelineEvent[]> {
  return (await readFile(file, 'utf8')).split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as TimelineEvent);
}

/** Pearson's χ² test of homogeneity over a rows × columns table of counts (columns with no count dropped). */
function homogeneity(table: readonly (readonly number[])[]): { statistic: number; degreesOfFreedom: number; p: number } {
  const columns = (table[0] ?? []).map((_, j) => table.reduce((sum, row) => sum + (row[j] as number), 0));
  const used = columns.map((total, j) => [total, j] as const).filter(([total]) => total > 0).map(([, j]) => j);
  const rows = table.map((row) => row.reduce((sum, n) => sum + n, 0));
  const total = rows.reduce((sum, n) => sum + n, 0);
  let statistic = 0;
  table.forEach((row, i) => {
    for (const j of used) {
      const expected = ((rows[i] as number) * (columns[j] as number)) / total;
      statistic += ((row[j] as number) - expected) ** 2 / expected;
    }
  });
  const degreesOfFreedom = (table.length - 1) * (used.length - 1);
  return { statistic, degreesOfFreedom, p: chiSquareSurvival(statistic, degreesOfFreedom) };
}

// Issue 5's lab acceptance, on one real 3-node lab in iptables mode: kube-proxy's own rules pick a
// backend per TCP connection, the sample servers count for themselves, and every client (the
// built-in driver, k6) runs inside a client pod's network namespace.
describe('load distribution over a ClusterIP Service on a 3-node iptables lab', () => {
  const ns = 'dist';
  const sharedLab = useSharedLab();
  let lab: LabInfo | undefined;
  let cluster: Cluster;
  let work: string;
  let netns: string;
  let target: string;
  let servers: V1Pod[];
  let names: string[];
  /** pod=http://ip:8080/metrics,… for --server-metrics. */
  let serverMetrics: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'kth-e2e-dist-'));
    lab = sharedLab();
    cluster = connect(lab.kubeconfig);
    await ensureNamespace(cluster, ns);
    await apply(cluster, sampleServiceObjects({ name: 'web', namespace: ns, runId: 'e2e-dist', server: 'http', replicas: 3, topologySpread: {} }));
    await waitForDeployment(cluster, ns, 'web', 90_000);
    expect(await waitForReadyEndpoints(cluster, ns, 'web', 3)).toHaveLength(3);
    const service = await cluster.core.readNamespacedService({ name: 'web', namespace: ns });
    target = `http://${service.spec?.clusterIP}:80/`;
    servers = await podsOf(cluster, ns, 'app.kubernetes.io/name=web');
    names = servers.map((pod) => pod.metadata?.name as string).sort();
    expect(names).toHaveLength(3);
    serverMetrics = servers.map((pod) => `${pod.metadata?.name}=http://${pod.status?.podIP}:8080/metrics`).join(',');
    netns = podNetns(lab.spec.name, await startClientPod(cluster, ns, 'client'));
  }, 240_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  }, 90_000);

  it('GIVEN 2 persistent connections WHEN they carry 60 req/s for 6 s THEN each pod served exactly the requests of the connections that landed on it (by its own counters) and a pod no connection reached served none', async () => {
    const eventsFile = join(work, 'persistent.ndjson');
    // The servers' own per-connection counts exist only while a connection is open (the driver
    // closes its connections at the end): read them during the run, from the same namespace, by a
    // bounded poller started alongside the load.
    const watcher = supportScriptIn<{ complete: boolean; snapshot: Record<string, Record<string, number>> }>(netns, 'watch-connections.ts', {
      servers: Object.fromEntries(servers.map((pod) => [pod.metadata?.name, `http://${pod.status?.podIP}:8080/metrics`])),
      want: 2,
      polls: 300,
      intervalMs: 200,
    }, 90_000);
    const run = await loadFrom<LoadJson>(netns, ['http', '--target', target, '--model', 'persistent', '--connections', '2', '--rate', '60', '--duration', '6s',
      '--expect-pods', names.join(','), '--server-metrics', serverMetrics, '--events', eventsFile, '--settle', '30s'], 120_000);
    const watched = await watcher;

    expect(run.errors.total).toBe(0);
    expect(run.totals.unattributed).toBe(0);
    expect(run.totals.attributed).toBe(run.schedule.sent);
    expect(run.totals.attributed).toBeGreaterThanOrEqual(300); // 6 s × 60/s, less any drop on a busy host
    expect(run.pods.map((p) => p.name)).toEqual(names);

    // Where each connection landed, from the server-assigned connection id on its responses.
    const events = await readEvents(eventsFile);
    const opened = events.filter((e): e is ConnectionOpen => e.kind === 'connection-open');
    const closed = events.filter((e): e is ConnectionClose => e.kind === 'connection-close');
    expect(opened).toHaveLength(2); // no reconnects: the run held its two connections
    expect(closed.map((c) => c.clientConnection).sort()).toEqual(opened.map((o) => o.clientConnection).sort());
    for (const connection of closed) {
      expect(connection.closedBy).toBe('client');
      expect(names).toContain(connection.pod);
      expect(connection.serverConnection.startsWith(`${connection.pod}/`)).toBe(true);
      expect(connection.requests).toBeGreaterThan(0);
    }
    expect(new Set(closed.map((c) => c.serverConnection)).size).toBe(2);
    expect(closed.reduce((sum, c) => sum + c.requests, 0)).toBe(run.totals.attributed);

    // The servers' own per-connection view, late in the run: the same two connection ids, on the
    // same pods, each with requests served and no more than the client finally counted on it.
    expect(watched.complete).toBe(true);
    const serverSide = Object.entries(watched.snapshot).flatMap(([pod, connections]) => Object.entries(connections).map(([id, requests]) => ({ pod, id, requests })));
    expect(serverSide.map((s) => s.id).sort()).toEqual(closed.map((c) => c.serverConnection).sort());
    for (const s of serverSide) {
      const client = closed.find((c) => c.serverConnection === s.id) as ConnectionClose;
      expect(s.pod).toBe(client.pod);
      expect(s.requests).toBeGreaterThan(0);
      expect(s.requests).toBeLessThanOrEqual(client.requests);
    }

    // Each pod's own request counter over the run = the sum over the connections that landed on it;
    // the per-pod timeline samples say the same; pods no connection reached counted 0.
    const samples = events.filter((e): e is RequestSample => e.kind === 'request-sample');
    const server = new Map((run.crossCheck?.rows ?? []).map((row) => [row.pod, row.server]));
    for (const pod of names) {
      const landed = closed.filter((c) => c.pod === pod);
      const expected = landed.reduce((sum, c) => sum + c.requests, 0);
      expect({ pod, server: server.get(pod) }).toEqual({ pod, server: expected });
      expect({ pod, samples: samples.filter((s) => s.pod === pod).reduce((sum, s) => sum + s.requests, 0) }).toEqual({ pod, samples: expected });
      const row = run.pods.find((p) => p.name === pod);
      expect({ pod, requests: row?.requests, connections: row?.connections }).toEqual({ pod, requests: expected, connections: landed.length });
    }
    // Two connections can reach at most two of three pods: the spread follows connections, not requests.
    const reached = run.pods.filter((p) => p.requests > 0);
    expect(reached.length).toBeLessThanOrEqual(2);
    expect(run.metrics.starvedPods.length).toBeGreaterThanOrEqual(1);
    expect(run.crossCheck?.agree).toBe(true);
  }, 150_000);

  it('GIVEN 600 short-lived connections WHEN each carries one request THEN chi-square over connections does not reject uniform, and client-attributed counts equal every server\'s own counter exactly', async () => {
    const run = await loadFrom<LoadJson>(netns, ['http', '--target', target, '--model', 'short-lived', '--connections', '4', '--concurrency', '4', '--max-requests', '600', '--duration', '90s',
      '--expect-pods', names.join(','), '--server-metrics', serverMetrics, '--unit', 'connections'], 150_000);

    expect(run.schedule.reason).toBe('max-requests');
    expect(run.totals).toMatchObject({ requests: 600, attributed: 600, unattributed: 0, errors: 0, serverCounted: 600 });
    expect(run.errors.total).toBe(0);
    expect(run.pods.map((p) => p.name)).toEqual(names);
    for (const pod of run.pods) {
      expect(pod.requests).toBeGreaterThan(0);
      expect(pod.connections).toBe(pod.requests); // one request per connection: the sequence was 1 every time
    }
    expect(run.metrics.chiSquare).toMatchObject({ unit: 'connections', n: 600, degreesOfFreedom: 2, valid: true });
    expect(run.metrics.chiSquareP).toBeGreaterThanOrEqual(0.001);

    // The two views: per pod, client-attributed == the server's own counter over the run.
    const check = run.crossCheck;
    expect(check?.differences).toEqual([]);
    expect(check?.agree).toBe(true);
    expect(check?.clientTotal).toBe(600);
    expect(check?.serverTotal).toBe(600);
    expect(check?.rows.map((row) => row.pod)).toEqual(names);
    for (const row of check?.rows ?? []) {
      expect(row.difference).toBe(0);
      expect(row.client).toBe(run.pods.find((p) => p.name === row.pod)?.requests);
    }
  }, 180_000);

  it('GIVEN k6 and the built-in driver, both a new connection per request, WHEN each sends the same number of requests to the ClusterIP THEN their per-pod counts are homogeneous (χ², 2×3, p ≥ 0.001) and k6 attributed everything it sent', async () => {
    const input: K6InNetnsInput = { target, rate: 100, durationMs: 6000, vus: 10, serverMetrics, expectPods: names };
    const k6 = await supportScriptIn<{ exitCode: number; counts: { served: number; httpReqs: number; dropped: number; skipped: number }; sent: number; run: RunSummary }>(netns, 'k6-in-netns.ts', input, 120_000);
    expect(k6.exitCode).toBe(0);
    const n = k6.counts.httpReqs;
    expect(n + k6.counts.dropped).toBeGreaterThanOrEqual(590);
    expect(n).toBeGreaterThanOrEqual(300);
    expect(k6.counts).toMatchObject({ served: n, skipped: 0 });
    expect(k6.sent).toBe(n);
    expect(k6.run.totals).toMatchObject({ requests: n, attributed: n, unattributed: 0, errors: 0, serverCounted: n });
    expect(k6.run.crossCheck?.agree).toBe(true);
    expect(k6.run.pods.map((p) => p.name)).toEqual(names);
    // noConnectionReuse really opened a connection per request: every response was sequence 1.
    for (const pod of k6.run.pods) expect(pod.connections).toBe(pod.requests);

    const builtIn = await loadFrom<LoadJson>(netns, ['http', '--target', target, '--model', 'short-lived', '--connections', '4', '--concurrency', '4', '--max-requests', String(n), '--duration', '90s',
      '--expect-pods', names.join(','), '--server-metrics', serverMetrics, '--unit', 'connections'], 150_000);
    expect(builtIn.totals).toMatchObject({ requests: n, attributed: n, errors: 0, serverCounted: n });
    expect(builtIn.crossCheck?.agree).toBe(true);
    expect(builtIn.pods.map((p) => p.name)).toEqual(names);

    const table = [k6.run.pods.map((p) => p.requests), builtIn.pods.map((p) => p.requests)];
    const test = homogeneity(table);
    expect(test.degreesOfFreedom).toBe(2);
    if (test.p < 0.001) throw new Error(`k6 and the built-in driver spread differently: ${JSON.stringify({ pods: names, k6: table[0], builtIn: table[1] })}, χ²=${test.statistic.toFixed(2)}, p=${test.p.toPrecision(3)}`);
    expect(test.p).toBeGreaterThanOrEqual(0.001);
  }, 240_000);
});
