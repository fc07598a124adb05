import { writeFile } from 'node:fs/promises';

/**
 * What a sample server leaves behind when it exits: its own counts, as /metrics gave them last.
 * Written to the container's termination message file (terminationMessagePath), so the harness
 * reads them from the pod's status after the pod has gone — the Kubernetes way to hand a result
 * out of a finished container, on any cluster. Well under the kubelet's 4 KiB cap.
 */
export interface FinalCounters {
  kth: 'final-counters';
  pod: string;
  /** HTTP: workload requests (kth_http_requests_total); gRPC: reply messages (kth_grpc_replies_total). */
  requests: number;
  /** TCP connections accepted since start. */
  connections: number;
  /** gRPC: connections sent GOAWAY, by reason; null for HTTP. */
  goaways: Record<string, number> | null;
}

export function finalCountersMessage(counters: Omit<FinalCounters, 'kth'>): string {
  return JSON.stringify({ kth: 'final-counters', ...counters } satisfies FinalCounters);
}

/** The counters in a termination message, or undefined when the message is something else (a crash, another program). */
export function parseFinalCounters(message: string | undefined): FinalCounters | undefined {
  if (!message) return undefined;
  try {
    const value = JSON.parse(message) as Partial<FinalCounters>;
    if (value?.kth !== 'final-counters' || typeof value.requests !== 'number' || typeof value.connections !== 'number' || typeof value.pod !== 'string') return undefined;
    return { kth: 'final-counters', pod: value.pod, requests: value.requests, connections: value.connections, goaways: value.goaways ?? null };
  } catch {
    return undefined;
  }
}

/** Writes the message; a failure is said on stderr and never changes how the server exits. */
export async function writeFinalCounters(path: string, counters: Omit<FinalCounters, 'kth'>): Promise<void> {
  if (path === '') return;
  try {
    await writeFile(path, finalCountersMessage(counters));
  } catch (error) {
    process.stderr.write(`could not write the final counters to ${path}: ${(error as Error).message}\n`);
  }
}
