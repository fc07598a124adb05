import { Counter, Gauge, Registry } from 'prom-client';
import { connectionSeries } from '../connection-metrics.ts';
import type { ConnectionTable } from '../connections.ts';
import type { Readiness } from '../control.ts';

/** The HTTP server's own counts, for cross-checking what clients saw. */
export interface HttpServerMetrics {
  /** Workload requests received (control paths such as /healthz and /metrics excluded). */
  requestsTotal: number;
  /** Workload responses completed, by status code. */
  responsesByStatus: Record<string, number>;
  /** Responses turned into 500 by the configured error rate. */
  errorsInjected: number;
  /** Requests to /healthz, /readyz, /metrics and /admin/readiness. */
  controlRequestsTotal: number;
  inFlight: number;
  /** Accepted TCP connections, since start. */
  connectionsTotal: number;
  connectionsActive: number;
  /** Accepted connections by the protocol spoken on them. */
  connectionsByProtocol: { 'http/1.1': number; h2: number };
  /** Workload requests per connection id, open and closed connections. */
  perConnection: Record<string, number>;
  ready: boolean;
}

export class HttpCounters {
  requests = 0;
  errorsInjected = 0;
  control = 0;
  inFlight = 0;
  readonly responses = new Map<number, number>();
  readonly protocols = { 'http/1.1': 0, h2: 0 };

  responded(status: number): void {
    this.responses.set(status, (this.responses.get(status) ?? 0) + 1);
  }

  snapshot(table: ConnectionTable, readiness: Readiness): HttpServerMetrics {
    return {
      requestsTotal: this.requests,
      responsesByStatus: Object.fromEntries([...this.responses].map(([code, n]) => [String(code), n])),
      errorsInjected: this.errorsInjected,
      controlRequestsTotal: this.control,
      inFlight: this.inFlight,
      connectionsTotal: table.total,
      connectionsActive: table.active,
      connectionsByProtocol: { ...this.protocols },
      perConnection: table.perConnection(),
      ready: readiness.get(),
    };
  }
}

/**
 * A registry of its own per server (not prom-client's global one), so several servers in one
 * process — as in tests — never mix their numbers. Values are read from {@link HttpCounters} at
 * scrape time, so `metrics()` and `/metrics` can never disagree.
 */
export function createHttpRegistry(counters: HttpCounters, table: ConnectionTable, readiness: Readiness) {
  const registry = new Registry();
  const registers = [registry];
  new Counter({
    name: 'kth_http_requests_total',
    help: 'Workload requests received (control paths excluded).',
    registers,
    collect() {
      this.reset();
      this.inc(counters.requests);
    },
  });
  new Counter({
    name: 'kth_http_responses_total',
    help: 'Workload responses completed, by status code.',
    labelNames: ['code'],
    registers,
    collect() {
      this.reset();
      for (const [code, n] of counters.responses) this.inc({ code: String(code) }, n);
    },
  });
  new Counter({
    name: 'kth_http_errors_injected_total',
    help: 'Responses turned into 500 by the configured error rate.',
    registers,
    collect() {
      this.reset();
      this.inc(counters.errorsInjected);
    },
  });
  new Counter({
    name: 'kth_http_control_requests_total',
    help: 'Requests to /healthz, /readyz, /metrics and /admin/readiness.',
    registers,
    collect() {
      this.reset();
      this.inc(counters.control);
    },
  });
  new Gauge({
    name: 'kth_http_requests_in_flight',
    help: 'Workload requests being served now.',
    registers,
    collect() {
      this.set(counters.inFlight);
    },
  });
  new Counter({
    name: 'kth_http_connections_total',
    help: 'TCP connections accepted, by protocol spoken on them (pending = no request yet).',
    labelNames: ['protocol'],
    registers,
    collect() {
      this.reset();
      const known = counters.protocols['http/1.1'] + counters.protocols.h2;
      this.inc({ protocol: 'http/1.1' }, counters.protocols['http/1.1']);
      this.inc({ protocol: 'h2' }, counters.protocols.h2);
      this.inc({ protocol: 'pending' }, Math.max(0, table.total - known));
    },
  });
  new Gauge({
    name: 'kth_http_connections_active',
    help: 'TCP connections open now.',
    registers,
    collect() {
      this.set(table.active);
    },
  });
  const { observeClosed } = connectionSeries({ prefix: 'kth_http', unit: 'requests', noun: 'Workload requests', readyHelp: '1 when /readyz answers 200.', registers, table, readiness });
  return { registry, observeClosed };
}
