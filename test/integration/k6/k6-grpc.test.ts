import { jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../../harness/core/paths.ts';
import type { K6Point } from '../../../harness/k6/fold.ts';
import { runK6, type K6RunResult } from '../../../harness/k6/runner.ts';
import { metricByLabel, metricSum } from '../../../harness/load/server-metrics.ts';
import { eventsOfKind } from '../../../harness/recorder/events.ts';
import { memorySink, Recorder } from '../../../harness/recorder/recorder.ts';
import { spawnKth, type KthProcess } from '../workloads/helpers.ts';

jest.setTimeout(120_000);

interface GrpcServer {
  target: string;
  metricsUrl: string;
  scrape(): Promise<string>;
}

const running: KthProcess[] = [];
async function grpcServer(pod: string, extra: string[] = []): Promise<GrpcServer> {
  const child = spawnKth(['serve', 'grpc', '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0', '--pod-name', pod, '--node-name', `node-${pod}`, '--pod-ip', '10.9.0.1', ...extra]);
  running.push(child);
  const { port, metricsPort } = await child.listening;
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  return { target: `127.0.0.1:${port}`, metricsUrl, scrape: async () => (await fetch(metricsUrl)).text() };
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((child) => child[Symbol.asyncDispose]()));
});

/** The kth_served points k6 wrote, in order: what each call's reply said. */
function servedPoints(outFile: string): K6Point[] {
  return readFileSync(outFile, 'utf8')
    .split('\n')
    .filter((line) => line.includes('"kth_served"'))
    .map((line) => JSON.parse(line) as K6Point | { type: string })
    .filter((p): p is K6Point => p.type === 'Point');
}

/** Each server connection's sequences in the order k6 saw the replies. */
function sequencesByConnection(points: readonly K6Point[]): Map<string, number[]> {
  const byConnection = new Map<string, number[]>();
  for (const p of points) {
    const id = p.data.metadata?.kth_connection ?? '';
    byConnection.set(id, [...(byConnection.get(id) ?? []), Number(p.data.metadata?.kth_sequence)]);
  }
  return byConnection;
}

async function runGrpc(server: GrpcServer, outFile: string): Promise<{ result: K6RunResult; recorder: Recorder; events: ReturnType<typeof memorySink>['events'] }> {
  const { sink, events } = memorySink();
  // Connection granularity: the totals keep every server connection id and its calls.
  const recorder = new Recorder({ sink, latenessMs: 5000, granularity: 'connection' });
  const result = await runK6({ protocol: 'grpc', target: server.target, rate: 50, durationMs: 2000, vus: 2, recorder, outFile });
  recorder.close();
  return { result, recorder, events };
}

describe('k6 gRPC (the real binary, grpc-go) folded into the recorder', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kth-k6-grpc-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('GIVEN k6 at 50/s for 2 s on 2 VUs against one gRPC server THEN every call is attributed to its pod on the server\'s connections, each VU holds one connection, and the totals equal the server\'s own counter', async () => {
    const server = await grpcServer('k6-g');
    const before = metricSum(await server.scrape(), 'kth_grpc_replies_total') ?? 0;
    const outFile = join(dir, 'k6.json');
    const { result, events } = await runGrpc(server, outFile);
    const metrics = await server.scrape();
    expect(result.exitCode).toBe(0);

    const sent = result.totals.sent;
    expect(sent + result.counts.dropped).toBeGreaterThanOrEqual(90);
    expect(sent + result.counts.dropped).toBeLessThanOrEqual(101);
    // One grpc_req_duration point per call: no GOAWAY, so grpc-go never retried.
    expect(result.counts).toMatchObject({ served: sent, grpcReqs: sent, grpcRetries: 0, httpReqs: 0, skipped: 0 });
    expect(result.totals).toMatchObject({ completed: sent, attributed: sent, unattributed: 0, errors: 0, dropped: result.counts.dropped });
    expect((metricSum(metrics, 'kth_grpc_replies_total') ?? 0) - before).toBe(sent);

    const samples = eventsOfKind(events, 'request-sample').filter((s) => s.source === 'k6');
    expect(samples.reduce((sum, s) => sum + s.requests, 0)).toBe(sent);
    expect(samples.every((s) => s.pod === 'k6-g' && s.node === 'node-k6-g' && s.podIp === '10.9.0.1' && s.via === server.target)).toBe(true);

    // The server's connection ids: one per VU, held for the whole run, calls in sequence on each.
    const connections = [...result.totals.connections.keys()];
    expect(connections.every((id) => /^k6-g\/\d+$/.test(id))).toBe(true);
    expect(connections.length).toBeGreaterThanOrEqual(1);
    expect(connections.length).toBeLessThanOrEqual(2);
    expect(connections.length).toBe(metricSum(metrics, 'kth_grpc_connections_total'));
    expect(result.totals.pods.get('k6-g')?.newConnections).toBe(connections.length);
    for (const [id, sequences] of sequencesByConnection(servedPoints(outFile))) {
      expect(sequences).toEqual(sequences.map((_, i) => i + 1));
      expect(result.totals.connections.get(id)?.requests).toBe(sequences.length);
    }
  });

  it('GIVEN a server with MaxConnectionAge 500 ms THEN grpc-go reconnects on each GOAWAY by itself: more connections than VUs, every call answered, none failed, and the totals still equal the server\'s counter', async () => {
    const server = await grpcServer('k6-age', ['--max-connection-age', '500ms']);
    const outFile = join(dir, 'k6.json');
    const { result } = await runGrpc(server, outFile);
    const metrics = await server.scrape();
    expect(result.exitCode).toBe(0);

    const sent = result.totals.sent;
    expect(sent + result.counts.dropped).toBeGreaterThanOrEqual(90);
    // Measured: no call fails. A call whose stream the GOAWAY refused comes back as a second
    // grpc_req_duration point of the same call (grpc-go's transparent retry), never as an error.
    expect(result.totals).toMatchObject({ completed: sent, attributed: sent, errors: 0 });
    expect(result.counts).toMatchObject({ served: sent, grpcReqs: sent + result.counts.grpcRetries });
    expect(metricSum(metrics, 'kth_grpc_replies_total')).toBe(sent);
    const goaways = metricByLabel(metrics, 'kth_grpc_goaways_sent_total', 'reason') ?? {};
    expect(goaways.max_age ?? 0).toBeGreaterThanOrEqual(2);

    // Two VUs, each connection retired at ~500 ms (±10%) over 2 s: several connections each.
    const connections = [...result.totals.connections.keys()];
    expect(connections.length).toBeGreaterThan(2);
    expect(connections.length).toBe(metricSum(metrics, 'kth_grpc_connections_total'));
    expect(result.totals.pods.get('k6-age')?.newConnections).toBe(connections.length);
    for (const sequences of sequencesByConnection(servedPoints(outFile)).values()) expect(sequences).toEqual(sequences.map((_, i) => i + 1));
  });

  it('GIVEN kth load k6 --protocol grpc --json with --server-metrics THEN the run shape of the other drivers, and clients and server agree', async () => {
    const server = await grpcServer('k6-cli');
    const child = spawn(process.execPath, [join(repoRoot, 'harness/bin/kth.mjs'), 'load', 'k6', '--protocol', 'grpc', '--target', server.target, '--rate', '40', '--duration', '1s', '--vus', '2', '--server-metrics', `k6-cli=${server.metricsUrl}`, '--json'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (out += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (err += text));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect({ code, err }).toEqual({ code: 0, err: '' });
    const run = JSON.parse(out) as { pods: Array<{ name: string; requests: number }>; totals: { requests: number; attributed: number; errors: number; serverCounted: number | null }; crossCheck?: { agree: boolean }; schedule: { sent: number; dropped: number } };
    expect(run.pods.map((p) => p.name)).toEqual(['k6-cli']);
    expect(run.totals.attributed).toBe(run.schedule.sent);
    expect(run.totals).toMatchObject({ requests: run.schedule.sent, errors: 0, serverCounted: run.schedule.sent });
    expect(run.crossCheck?.agree).toBe(true);
    expect(run.schedule.sent + run.schedule.dropped).toBeGreaterThanOrEqual(36);
  });
});
