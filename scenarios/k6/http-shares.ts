// k6 scenario: HTTP load with every response attributed to the pod that served it.
// k6 v1 runs this TypeScript file as it is. kube-traffic-harness starts it with `--out json=…` and
// folds the `kth_served` points into its recorder (harness/k6/fold.ts).
//
// k6 does not tag samples with response headers on its own, so each response is reported again as
// a point of the Trend `kth_served` (value: the request's duration in ms), tagged with the low-
// cardinality identity (pod, node, status) and carrying the per-request identity (server
// connection id, sequence, peer) as VU *metadata*: metadata goes to the JSON output without
// creating a time series per connection.
import http from 'k6/http';
import exec from 'k6/execution';
import { Trend } from 'k6/metrics';
import type { Options } from 'k6/options';

const target = __ENV.KTH_TARGET || 'http://127.0.0.1:8080/';
const executor = __ENV.KTH_EXECUTOR || 'constant-arrival-rate';
const rate = Number(__ENV.KTH_RATE || '100');
const duration = __ENV.KTH_DURATION || '10s';
const vus = Number(__ENV.KTH_VUS || '10');
const timeout = __ENV.KTH_TIMEOUT || '10s';

export const options: Options = {
  discardResponseBodies: true,
  // 'true' opens a new TCP connection for every request (the short-lived model).
  noConnectionReuse: __ENV.KTH_NO_REUSE === 'true',
  scenarios: {
    kth:
      executor === 'constant-vus'
        ? { executor: 'constant-vus', vus, duration }
        : { executor: 'constant-arrival-rate', rate, timeUnit: '1s', duration, preAllocatedVUs: vus, maxVUs: vus },
  },
  summaryTrendStats: ['p(50)', 'p(90)', 'p(99)', 'max'],
};

const served = new Trend('kth_served', true);

function header(headers: Record<string, string>, name: string): string {
  return headers[name] ?? '';
}

export default function (): void {
  const response = http.get(target, { timeout, tags: { name: 'kth' } });
  const metadata = exec.vu.metrics.metadata;
  metadata.kth_connection = header(response.headers, 'X-Kth-Connection-Id');
  metadata.kth_sequence = header(response.headers, 'X-Kth-Sequence');
  metadata.kth_peer = header(response.headers, 'X-Kth-Peer');
  metadata.kth_error = response.error_code ? `${response.error_code} ${response.error}` : '';
  metadata.kth_via = response.remote_ip ? `${response.remote_ip}:${response.remote_port}` : '';
  served.add(response.timings.duration, {
    pod: header(response.headers, 'X-Kth-Pod'),
    node: header(response.headers, 'X-Kth-Node'),
    pod_ip: header(response.headers, 'X-Kth-Pod-Ip'),
    status: String(response.status),
  });
  delete metadata.kth_connection;
  delete metadata.kth_sequence;
  delete metadata.kth_peer;
  delete metadata.kth_error;
  delete metadata.kth_via;
}
