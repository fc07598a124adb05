import { Gauge, Histogram, type Registry } from 'prom-client';
import type { ConnectionTable, TrackedConnection } from './connections.ts';
import type { Readiness } from './control.ts';

/**
 * The per-connection and readiness series both sample servers export, under their own prefix and
 * noun (`kth_http_connection_requests`, `kth_grpc_connection_rpcs`, …). Per-connection counts are
 * exported for open connections only: closed ones would grow the series without bound; their
 * counts live on in the histogram and in the servers' `metrics()`.
 */
export function connectionSeries(options: {
  prefix: 'kth_http' | 'kth_grpc';
  /** What a connection carries, in metric names: 'requests' or 'rpcs'. */
  unit: string;
  /** The same for help texts: 'Workload requests', 'RPCs'. */
  noun: string;
  readyHelp: string;
  registers: Registry[];
  table: ConnectionTable;
  readiness: Readiness;
}): { observeClosed(connection: TrackedConnection): void } {
  const { prefix, unit, noun, registers, table, readiness } = options;
  new Gauge({
    name: `${prefix}_connection_${unit}`,
    help: `${noun} served so far on each open connection.`,
    labelNames: ['connection_id'],
    registers,
    collect() {
      this.reset();
      for (const connection of table.open()) this.set({ connection_id: connection.id }, connection.workloadRequests);
    },
  });
  const perConnection = new Histogram({
    name: `${prefix}_${unit}_per_connection`,
    help: `${noun} a connection carried, observed when it closed.`,
    buckets: [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 10000],
    registers,
  });
  new Gauge({
    name: `${prefix}_ready`,
    help: options.readyHelp,
    registers,
    collect() {
      this.set(readiness.get() ? 1 : 0);
    },
  });
  return { observeClosed: (connection) => perConnection.observe(connection.workloadRequests) };
}
