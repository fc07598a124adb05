// k6 scenario: gRPC load (kth.v1.Echo/Who, unary) with every call attributed to the pod that served it.
// k6 v1 runs this TypeScript file as it is. kube-traffic-harness starts it with `--out json=…` and
// folds the `kth_served` points into its recorder (harness/k6/fold.ts), next to http-shares.ts.
//
// k6's gRPC client is grpc-go: each VU's `connect` makes a ClientConn (a channel, pick_first on
// the target), held for the whole run. When the server ends the connection (a MaxConnectionAge
// GOAWAY, a closed socket) grpc-go reconnects the channel by itself; the script connects anew only
// if k6 says the client has no connection (invoke throws).
//
// Each call is reported as a point of the Trend `kth_served` (value: the call's duration in ms),
// tagged with the low-cardinality identity (pod, node, pod_ip) and the gRPC status as `grpc_status`
// (a name the fold tells apart from HTTP's `status`); the per-call identity (server connection id,
// sequence, peer) and the error go as VU *metadata*, which reaches the JSON output without creating
// a time series per connection.
import grpc from 'k6/net/grpc';
import exec from 'k6/execution';
import { Trend } from 'k6/metrics';
import type { Options } from 'k6/options';

const target = __ENV.KTH_TARGET || '127.0.0.1:9090';
const executor = __ENV.KTH_EXECUTOR || 'constant-arrival-rate';
const rate = Number(__ENV.KTH_RATE || '100');
const duration = __ENV.KTH_DURATION || '10s';
const vus = Number(__ENV.KTH_VUS || '10');
const timeout = __ENV.KTH_TIMEOUT || '10s';
// The directory holding echo.proto (kth/v1/echo.proto in the repo). k6 resolves relative import
// paths from this script's directory, so the default works from a checkout; the runner passes
// the absolute path anyway.
const protoDir = __ENV.KTH_PROTO_DIR || '../../harness/workloads/proto/kth/v1';

export const options: Options = {
  scenarios: {
    kth:
      executor === 'constant-vus'
        ? { executor: 'constant-vus', vus, duration }
        : { executor: 'constant-arrival-rate', rate, timeUnit: '1s', duration, preAllocatedVUs: vus, maxVUs: vus },
  },
  summaryTrendStats: ['p(50)', 'p(90)', 'p(99)', 'max'],
};

const served = new Trend('kth_served', true);

// Init context: every VU gets its own client (and so its own connection).
const client = new grpc.Client();
client.load([protoDir], 'echo.proto');
let connected = false;

interface WhoReply {
  pod?: string;
  node?: string;
  podIp?: string;
  peer?: string;
  connectionId?: string;
  sequence?: string | number;
}

interface StatusError {
  code?: number;
  message?: string;
}

function report(started: number, status: number, reply: WhoReply | undefined, error: string): void {
  const metadata = exec.vu.metrics.metadata;
  metadata.kth_connection = reply?.connectionId ?? '';
  metadata.kth_sequence = reply?.sequence === undefined ? '' : String(reply.sequence);
  metadata.kth_peer = reply?.peer ?? '';
  metadata.kth_error = error;
  served.add(Date.now() - started, {
    pod: reply?.pod ?? '',
    node: reply?.node ?? '',
    pod_ip: reply?.podIp ?? '',
    grpc_status: String(status),
  });
  delete metadata.kth_connection;
  delete metadata.kth_sequence;
  delete metadata.kth_peer;
  delete metadata.kth_error;
  delete metadata.kth_call;
}

export default function (): void {
  const started = Date.now();
  // Names this call on k6's own grpc_req_duration points (one per attempt grpc-go makes, so a
  // transparent retry shows up as a second point of the same call) and on its kth_served point.
  exec.vu.metrics.metadata.kth_call = `${exec.vu.idInTest}:${exec.vu.iterationInInstance}`;
  try {
    if (!connected) {
      // Blocks until the channel is READY (grpc-go WithBlock) or fails (timeout, refused).
      client.connect(target, { plaintext: true, timeout });
      connected = true;
    }
    const response = client.invoke('kth.v1.Echo/Who', { clientId: `vu-${exec.vu.idInTest}` }, { timeout, tags: { name: 'kth' } });
    // k6 hands the status over as a Go codes.Code: Number() is its numeric value, String() its name.
    const status = Number(response.status);
    if (status === Number(grpc.StatusOK)) {
      report(started, status, response.message as WhoReply, '');
    } else {
      const error = (response.error ?? {}) as StatusError;
      report(started, status, undefined, error.message ?? '');
    }
  } catch (thrown) {
    // connect failed, or the client lost its connection: no call was made. Status 14
    // (UNAVAILABLE) with the reason; the next iteration connects again.
    if (connected) client.close();
    connected = false;
    report(started, Number(grpc.StatusUnavailable), undefined, String(thrown));
  }
}
