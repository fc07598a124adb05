import { jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startHttpServer, type RunningHttpServer } from '../../../harness/workloads/http/server.ts';

jest.setTimeout(60_000);
const exec = promisify(execFile);
const kth = (args: string[]) => exec('node', ['harness/bin/kth.mjs', ...args], { cwd: process.cwd() }).then(
  (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
  (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
);

let pod: RunningHttpServer;
beforeAll(async () => {
  pod = await startHttpServer({ host: '127.0.0.1', port: 0, pod: 'cli-pod', node: 'node-1' } as Parameters<typeof startHttpServer>[0]);
});
afterAll(async () => {
  await pod.close();
});

describe('kth load', () => {
  it('GIVEN --json THEN it prints one run\'s shape with the servers\' counts cross-checked', async () => {
    const { code, stdout } = await kth(['load', 'http', '--target', `${pod.url}/`, '--rate', '100', '--duration', '1s', '--server-metrics', `${pod.url}/metrics`, '--json']);
    expect(code).toBe(0);
    const run = JSON.parse(stdout);
    expect(Object.keys(run)).toEqual(expect.arrayContaining(['pods', 'totals', 'errors', 'latencyMs', 'metrics']));
    expect(run.pods).toEqual([{ name: 'cli-pod', node: 'node-1', ip: '', requests: 100, connections: 4, share: 1, errors: 0, latencyMs: { p50: expect.any(Number), p90: expect.any(Number), p99: expect.any(Number), max: expect.any(Number) } }]);
    expect(run.pods[0].latencyMs.p99).toBeLessThanOrEqual(run.latencyMs.max);
    expect(run.totals).toEqual({ requests: 100, attributed: 100, unattributed: 0, errors: 0, dropped: 0, serverCounted: 100 });
    expect(run.crossCheck.agree).toBe(true);
    expect(Object.keys(run.latencyMs)).toEqual(['p50', 'p90', 'p99', 'max']);
    expect(run.metrics).toHaveProperty('jainIndex', 1);
    expect(run.metrics.chiSquare.unit).toBe('connections');
  });

  it('GIVEN --settle THEN the probes come first and are left out of the run: the cross-check still agrees exactly', async () => {
    const { code, stdout } = await kth(['load', 'http', '--target', `${pod.url}/`, '--rate', '50', '--duration', '1s', '--expect-pods', 'cli-pod', '--settle', '5s', '--server-metrics', `${pod.url}/metrics`, '--json']);
    expect(code).toBe(0);
    const run = JSON.parse(stdout);
    expect(run.settle).toMatchObject({ failures: 0, answeredBy: { 'cli-pod': 3 }, probes: 3 });
    expect(run.totals).toMatchObject({ requests: 50, attributed: 50, serverCounted: 50 });
    expect(run.crossCheck.agree).toBe(true);
  });

  it('GIVEN --clock-ref THEN the offset to the server\'s clock is printed, brackets 0 (one host, one clock), and its exchanges are not counted as load; an unreachable reference is reported and the load still runs', async () => {
    const { code, stdout } = await kth(['load', 'http', '--target', `${pod.url}/`, '--rate', '50', '--duration', '1s', '--clock-ref', `${pod.url}/clock`, '--server-metrics', `${pod.url}/metrics`, '--json']);
    expect(code).toBe(0);
    const run = JSON.parse(stdout);
    expect(run.clock).toEqual({ reference: `${pod.url}/clock`, offsetMs: expect.any(Number), rttMs: expect.any(Number), uncertaintyMs: expect.any(Number), samples: 8 });
    expect(Math.abs(run.clock.offsetMs)).toBeLessThanOrEqual(run.clock.uncertaintyMs);
    expect(run.totals).toMatchObject({ requests: 50, serverCounted: 50 });
    const text = await kth(['load', 'http', '--target', `${pod.url}/`, '--rate', '20', '--duration', '1s', '--clock-ref', 'http://127.0.0.1:9/clock']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^clock: not compared with http:\/\/127\.0\.0\.1:9\/clock: .*ECONNREFUSED/m);
  });

  it('GIVEN kth load counters with one server unreachable THEN it fails naming it; with --allow-unreachable THEN it lists that server with its error beside the other\'s counts', async () => {
    const endpoints = `cli-pod=${pod.url}/metrics,gone=http://127.0.0.1:1/metrics`;
    const strict = await kth(['load', 'counters', '--server-metrics', endpoints]);
    expect(strict.code).toBe(3);
    expect(strict.stderr).toContain('http://127.0.0.1:1/metrics');
    const tolerant = await kth(['load', 'counters', '--server-metrics', endpoints, '--allow-unreachable']);
    expect(tolerant.code).toBe(0);
    const [reached, gone] = JSON.parse(tolerant.stdout) as [{ pod: string; requests: number }, { pod: string; error: string }];
    expect(reached).toMatchObject({ pod: 'cli-pod', requests: expect.any(Number) });
    expect(gone).toEqual({ pod: 'gone', url: 'http://127.0.0.1:1/metrics', error: expect.stringContaining('ECONNREFUSED') });
  });

  it('GIVEN the table form THEN per-pod rows, errors and latency are printed', async () => {
    const { code, stdout } = await kth(['load', 'http', '--target', `${pod.url}/`, '--model', 'short-lived', '--rate', '50', '--duration', '1s']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/cli-pod .*│ 50 /);
    expect(stdout).toMatch(/│ p99 ms │/);
    expect(stdout).toMatch(/cli-pod .*│ \d+\.\d{3} +│\n/);
    expect(stdout).toMatch(/latency ms \(from the intended send time\)/);
    expect(stdout).toMatch(/server counters: not read \(pass --server-metrics/);
  });

  it.each([
    [['--model', 'bogus'], '--model'],
    [['--rate', '0'], '--rate'],
    [['--connections', 'x'], '--connections'],
    [['--duration', 'soon'], '--duration'],
    [['--rate', '5', '--concurrency', '2'], '--concurrency'],
    [['--server-metrics', 'not a url'], '--server-metrics'],
    [['--settle', 'later'], '--settle'],
  ])('GIVEN bad flags %j THEN exit 2 naming %s', async (flags, flag) => {
    const { code, stderr } = await kth(['load', 'http', '--target', `${pod.url}/`, ...flags]);
    expect(code).toBe(2);
    expect(stderr).toContain(flag);
  });

  it('GIVEN grpc with a URL target THEN exit 2 naming --target', async () => {
    const { code, stderr } = await kth(['load', 'grpc', '--target', 'http://127.0.0.1:1']);
    expect(code).toBe(2);
    expect(stderr).toContain('--target');
  });
});
