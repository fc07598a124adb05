import { request } from 'node:http';

/**
 * Health of (Service, node) pairs for `externalTrafficPolicy: Local`, as a cloud load balancer
 * tracks its targets: kube-proxy answers `GET /healthz` on the Service's healthCheckNodePort with
 * 200 while the node has a ready local endpoint and 503 otherwise; a node receives new
 * connections after `healthyThreshold` consecutive 200s and stops after `unhealthyThreshold`
 * consecutive failures. A target never probed yet is unhealthy (no traffic before the first 200).
 */
export interface Thresholds {
  healthyThreshold: number;
  unhealthyThreshold: number;
}

export interface ProbeResult {
  ok: boolean;
  /** `HTTP 200`, `HTTP 503`, or the connection error. */
  detail: string;
  /** kube-proxy's own count of ready local endpoints, when it said. */
  localEndpoints?: number;
}

export interface TargetHealth {
  healthy: boolean;
  successes: number;
  failures: number;
  last?: ProbeResult;
  /** When `healthy` last flipped (ISO). */
  since: string;
}

export const healthTargetKey = (service: string, nodeIp: string, port: number): string => `${service}@${nodeIp}:${port}`;

export class HealthTracker {
  private readonly targets = new Map<string, TargetHealth>();

  constructor(private readonly thresholds: Thresholds, private readonly now: () => Date = () => new Date()) {}

  /** Records one probe; returns true when the target's healthy state flipped. */
  record(key: string, result: ProbeResult): boolean {
    const state = this.targets.get(key) ?? { healthy: false, successes: 0, failures: 0, since: this.now().toISOString() };
    state.last = result;
    if (result.ok) {
      state.successes += 1;
      state.failures = 0;
    } else {
      state.failures += 1;
      state.successes = 0;
    }
    let flipped = false;
    if (!state.healthy && state.successes >= this.thresholds.healthyThreshold) flipped = true;
    if (state.healthy && state.failures >= this.thresholds.unhealthyThreshold) flipped = true;
    if (flipped) {
      state.healthy = !state.healthy;
      state.since = this.now().toISOString();
    }
    this.targets.set(key, state);
    return flipped;
  }

  healthy(key: string): boolean {
    return this.targets.get(key)?.healthy ?? false;
  }

  get(key: string): TargetHealth | undefined {
    return this.targets.get(key);
  }

  /** Forgets targets no longer probed (Service deleted, node gone, port changed). */
  retain(keys: ReadonlySet<string>): void {
    for (const key of this.targets.keys()) if (!keys.has(key)) this.targets.delete(key);
  }
}

/** One health probe of kube-proxy's healthCheckNodePort, bounded by `timeoutMs`. */
export function probeHealthCheckNodePort(nodeIp: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const req = request({ host: nodeIp, port, path: '/healthz', method: 'GET', agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body = (body + chunk).slice(0, 4096);
      });
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        done({ ok: status === 200, detail: `HTTP ${status}`, ...localEndpointsOf(body) });
      });
      res.on('error', (error) => done({ ok: false, detail: error.message }));
    });
    const timer = setTimeout(() => {
      req.destroy();
      done({ ok: false, detail: `no answer within ${timeoutMs}ms` });
    }, timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) => done({ ok: false, detail: error.code ?? error.message }));
    req.end();
  });
}

/** kube-proxy's body: `{"service":{…},"localEndpoints":1,"serviceProxyHealthy":true}`. */
function localEndpointsOf(body: string): { localEndpoints?: number } {
  try {
    const parsed = JSON.parse(body) as { localEndpoints?: unknown };
    return typeof parsed.localEndpoints === 'number' ? { localEndpoints: parsed.localEndpoints } : {};
  } catch {
    return {};
  }
}
