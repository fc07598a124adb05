import { Counter, Gauge, Registry } from 'prom-client';
import { connectionSeries } from '../connection-metrics.ts';
import type { ConnectionTable } from '../connections.ts';
import type { Readiness } from '../control.ts';
import type { GoawayReason } from './goaway.ts';

/** The gRPC server's own counts, for cross-checking what clients saw. */
export interface GrpcServerMetrics {
  /** RPCs started, all methods. */
  rpcsTotal: number;
  /** RPCs started, by method name (`Who`, `WhoStream`, `WhoChat`). */
  rpcsByMethod: Record<string, number>;
  /** Reply messages sent, all methods (a stream counts each reply). */
  repliesTotal: number;
  inFlight: number;
  /** Accepted TCP connections, since start. */
  connectionsTotal: number;
  connectionsActive: number;
  /** RPCs per connection id, open and closed connections. */
  perConnection: Record<string, number>;
  /**
   * Connections the server told to go away, by reason: counted once per connection at the first
   * GOAWAY the server initiated on it (see goaway.ts). Undefined when counting is unavailable.
   */
  goawaysSent: Record<GoawayReason, number> | undefined;
  ready: boolean;
}

export class GrpcCounters {
  readonly rpcs = new Map<string, number>();
  replies = 0;
  inFlight = 0;
  goawayCounting = true;
  readonly goaways: Record<GoawayReason, number> = { max_age: 0, shutdown: 0, other: 0 };

  started(method: string): void {
    this.rpcs.set(method, (this.rpcs.get(method) ?? 0) + 1);
  }

  snapshot(table: ConnectionTable, readiness: Readiness): GrpcServerMetrics {
    return {
      rpcsTotal: [...this.rpcs.values()].reduce((a, b) => a + b, 0),
      rpcsByMethod: Object.fromEntries(this.rpcs),
      repliesTotal: this.replies,
      inFlight: this.inFlight,
      connectionsTotal: table.total,
      connectionsActive: table.active,
      perConnection: table.perConnection(),
      goawaysSent: this.goawayCounting ? { ...this.goaways } : undefined,
      ready: readiness.get(),
    };
  }
}

/** A registry per server, read from {@link GrpcCounters} at scrape time (see http/metrics.ts). */
export function createGrpcRegistry(counters: GrpcCounters, table: ConnectionTable, readiness: Readiness) {
  const registry = new Registry();
  const registers = [registry];
  new Counter({
    name: 'kth_grpc_rpcs_total',
    help: 'RPCs started, by method.',
    labelNames: ['method'],
    registers,
    collect() {
      this.reset();
      for (const [method, n] of counters.rpcs) this.inc({ method }, n);
    },
  });
  new Counter({
    name: 'kth_grpc_replies_total',
    help: 'Reply messages sent (each message of a stream counts).',
    registers,
    collect() {
      this.reset();
      this.inc(counters.replies);
    },
  });
  new Gauge({
    name: 'kth_grpc_rpcs_in_flight',
    help: 'RPCs running now.',
    registers,
    collect() {
      this.set(counters.inFlight);
    },
  });
  new Counter({
    name: 'kth_grpc_connections_total',
    help: 'TCP connections accepted.',
    registers,
    collect() {
      this.reset();
      this.inc(table.total);
    },
  });
  new Gauge({
    name: 'kth_grpc_connections_active',
    help: 'TCP connections open now.',
    registers,
    collect() {
      this.set(table.active);
    },
  });
  new Counter({
    name: 'kth_grpc_goaways_sent_total',
    help: 'Connections the server sent GOAWAY to, by reason (once per connection, at its first server-initiated GOAWAY). Absent when grpc-js internals do not allow counting.',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      if (!counters.goawayCounting) return;
      for (const [reason, n] of Object.entries(counters.goaways)) this.inc({ reason }, n);
    },
  });
  const { observeClosed } = connectionSeries({ prefix: 'kth_grpc', unit: 'rpcs', noun: 'RPCs', readyHelp: '1 while the health service reports SERVING.', registers, table, readiness });
  return { registry, observeClosed };
}
