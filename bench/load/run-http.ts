/**
 * Runs the built-in HTTP driver in-process with a chosen HTTP/1.1 client, for the side-by-side rows
 * of clients.ts (the lean raw-socket client vs undici's Client, same process shape as `kth load`):
 *
 *   node --import tsx bench/load/run-http.ts --target URL --model persistent --connections 50 --seconds 10 --client undici [--rate N]
 *
 * Without --rate: the closed model, `connections` requests in flight; with it: the open model.
 * Prints one JSON line: requests, attributed, errors, seconds.
 */
import { parseArgs } from 'node:util';
import { runHttpLoad } from '../../harness/load/http/driver.ts';
import { Recorder } from '../../harness/recorder/recorder.ts';

const { values } = parseArgs({ options: { target: { type: 'string' }, model: { type: 'string', default: 'persistent' }, connections: { type: 'string', default: '50' }, seconds: { type: 'string', default: '10' }, client: { type: 'string', default: 'lean' }, rate: { type: 'string' } } });
const connections = Number(values.connections);
const recorder = new Recorder({ granularity: 'pod' });
const result = await runHttpLoad({
  target: values.target!,
  model: values.model as 'persistent' | 'short-lived',
  connections,
  arrival: values.rate
    ? { executor: 'constant-arrival-rate', rate: Number(values.rate), durationMs: Number(values.seconds) * 1000 }
    : { executor: 'constant-vus', concurrency: connections, durationMs: Number(values.seconds) * 1000 },
  h1Client: values.client as 'lean' | 'undici',
  recorder,
});
recorder.close();
const { totals, schedule } = result;
process.stdout.write(`${JSON.stringify({ requests: totals.completed, attributed: totals.attributed, errors: totals.errors, dropped: schedule.dropped, seconds: (schedule.endedAt - schedule.startedAt) / 1000 })}\n`);
