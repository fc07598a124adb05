import { jest } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { runHttpLoad } from '../../../harness/load/http/driver.ts';
import { percentilesMs } from '../../../harness/recorder/histogram.ts';
import { Recorder } from '../../../harness/recorder/recorder.ts';

jest.setTimeout(60_000);

/**
 * A server that stalls EVERY request for one second mid-run. The sample server can only delay
 * each request by a fixed amount, not freeze for a window of wall time, so this minimal in-test
 * server exists for that one fault.
 */
async function stallingServer(stallFromMs: number, stallMs: number) {
  let origin = 0;
  const server = http.createServer((req, res) => {
    const elapsed = performance.now() - origin;
    const wait = elapsed >= stallFromMs && elapsed < stallFromMs + stallMs ? stallFromMs + stallMs - elapsed : 0;
    setTimeout(() => res.writeHead(200, { 'x-kth-pod': 'stall', 'x-kth-connection-id': `stall/${req.socket.remotePort}`, 'content-length': '2' }).end('ok'), wait);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    start: () => (origin = performance.now()),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())).then(() => server.closeAllConnections()),
  };
}

describe('coordinated omission', () => {
  it('GIVEN a 1 s stall in a 3 s run THEN the open model p99 shows it, while the closed model hides it', async () => {
    const open = await stallingServer(1000, 1000);
    const closed = await stallingServer(1000, 1000);
    try {
      const openRecorder = new Recorder();
      open.start();
      const openRun = await runHttpLoad({ target: open.url, model: 'persistent', connections: 4, arrival: { executor: 'constant-arrival-rate', rate: 200, durationMs: 3000 }, recorder: openRecorder });
      openRecorder.close();
      const closedRecorder = new Recorder();
      closed.start();
      const closedRun = await runHttpLoad({ target: closed.url, model: 'persistent', connections: 4, arrival: { executor: 'constant-vus', concurrency: 4, durationMs: 3000 }, recorder: closedRecorder });
      closedRecorder.close();

      const openP = percentilesMs(openRun.totals.latency);
      const closedP = percentilesMs(closedRun.totals.latency);
      // Requests intended during the stall waited for it: about a third of all requests, up to 1 s each.
      expect(openRun.totals.errors).toBe(0);
      expect(openP.p99!).toBeGreaterThan(500);
      expect(openP.p90!).toBeGreaterThan(100);
      // The closed model had only its 4 in-flight requests stuck: the stall is a rounding error in its p99.
      expect(closedP.max!).toBeGreaterThan(500);
      expect(closedP.p99!).toBeLessThan(openP.p99!);
      expect(closedRun.totals.measuredFrom).toBe('actual');
      expect(openRun.totals.measuredFrom).toBe('intended');
    } finally {
      await open.close();
      await closed.close();
    }
  });
});
