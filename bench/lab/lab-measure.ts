import { readFileSync } from 'node:fs';
import { findLabProcesses } from '../../harness/lab/processes.ts';

/** Resident memory of one process (0 when it is gone). */
export function rssBytes(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** RSS of every process a lab runs (by its KTH_LAB marker), in total and per component. */
export function labRss(lab: string): { rss: number; perComponent: Record<string, number> } {
  const perComponent: Record<string, number> = {};
  let rss = 0;
  for (const p of findLabProcesses(lab)) {
    const bytes = rssBytes(p.pid);
    rss += bytes;
    const key = /kube-apiserver|kube-controller-manager|kube-scheduler|kube-proxy|cilium-agent|etcd|lab agent|lab supervise|lab lb-controller|serve http|serve grpc|kth-sample-server|clang/.exec(p.command)?.[0] ?? 'other';
    perComponent[key] = (perComponent[key] ?? 0) + bytes;
  }
  return { rss, perComponent };
}

export const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
