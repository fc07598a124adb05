import type { RunSummary } from '../analysis/run-summary.ts';

/**
 * What a person is most likely looking at when every request of a load failed with this error
 * kind: an empty table and "errors 200" alone do not say that the target was wrong.
 */
const likelyCause: Record<string, (target: string) => string> = {
  refused: (target) => `connection refused: nothing is listening at ${target} (wrong port, or the server is not running)`,
  timeout: (target) => `timed out: nothing answered from ${target} within --timeout (host unreachable, packets dropped by a firewall, or the server hung)`,
  unreachable: (target) => `no route to ${target} (host or network unreachable)`,
  dns: (target) => `the name in ${target} did not resolve (DNS)`,
  reset: (target) => `${target} accepted connections, then reset them (a proxy with no backends, or a crashing server)`,
  goaway: (target) => `${target} sent GOAWAY on every connection before answering`,
  'http-5xx': (target) => `${target} answered every request with an HTTP 5xx status`,
  'http-4xx': (target) => `${target} answered every request with an HTTP 4xx status (wrong path or method?)`,
  'grpc-unavailable': (target) => `${target} was unavailable for every call (nothing serving there, or no ready backend)`,
  'grpc-deadline-exceeded': (target) => `no call to ${target} finished within --timeout (host unreachable, packets dropped, or the server hung)`,
};

/**
 * One line when no request of a load succeeded, with its likely cause (the commonest error kind);
 * undefined when at least one did. The load's results are printed either way: this only decides
 * whether the command says so and exits non-zero.
 */
export function noSuccessMessage(summary: Pick<RunSummary, 'totals' | 'errors'>, target: string): string | undefined {
  const { requests, errors } = summary.totals;
  if (requests === 0) return `no request was sent to ${target}${summary.totals.dropped > 0 ? ` (${summary.totals.dropped} dropped for want of a free slot)` : ''}`;
  if (errors < requests) return undefined;
  const kinds = Object.entries(summary.errors.byKind).sort((a, b) => b[1] - a[1]);
  const [top] = kinds[0] ?? ['other'];
  const cause = likelyCause[top]?.(target) ?? `every request failed (${top})`;
  return `no request succeeded: ${errors} of ${requests} failed (${kinds.map(([kind, n]) => `${kind} ${n}`).join(', ')}) — ${cause}`;
}
