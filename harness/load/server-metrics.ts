import { request } from 'undici';
import { environmentError, badInput } from '../core/errors.ts';
import { IdentityHeader } from '../workloads/identity.ts';

/** One server's counters at one moment. */
export interface ServerCounters {
  pod: string;
  url: string;
  /** Workload requests (HTTP: kth_http_requests_total) or reply messages (gRPC: kth_grpc_replies_total). */
  requests: number;
  connections: number;
  /** gRPC only: connections the server sent GOAWAY to, by reason; null for HTTP or when not counted. */
  goaways: Record<string, number> | null;
}

export interface MetricsEndpoint {
  url: string;
  /** The pod the endpoint belongs to, when given as `pod=URL`; else read from its x-kth-pod header. */
  pod?: string;
}

/** Parses `--server-metrics` values: `URL` or `pod=URL`, comma-separated. */
export function parseMetricsEndpoints(value: string): MetricsEndpoint[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const match = /^([^=/:]+)=(.+)$/.exec(part);
      const endpoint: MetricsEndpoint = match ? { pod: match[1], url: match[2] as string } : { url: part };
      try {
        new URL(endpoint.url);
      } catch {
        throw badInput(`--server-metrics: '${part}' is not a URL`, { where: '--server-metrics', hint: 'write http://host:port/metrics, or pod=http://host:port/metrics' });
      }
      return endpoint;
    });
}

/** Sums every sample of a metric (all label sets) in Prometheus text format; undefined when absent. */
export function metricSum(text: string, name: string): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const value = Number(rest.replace(/^\{[^}]*\}/, '').trim().split(/\s+/)[0]);
    if (Number.isFinite(value)) sum = (sum ?? 0) + value;
  }
  return sum;
}

/** The labelled samples of a metric, by the value of one label. */
export function metricByLabel(text: string, name: string, label: string): Record<string, number> | undefined {
  let result: Record<string, number> | undefined;
  const pattern = new RegExp(`^${name}\\{([^}]*)\\}\\s+(\\S+)`);
  for (const line of text.split('\n')) {
    const match = pattern.exec(line);
    if (!match) continue;
    const labelMatch = new RegExp(`${label}="([^"]*)"`).exec(match[1] as string);
    if (!labelMatch) continue;
    result ??= {};
    result[labelMatch[1] as string] = (result[labelMatch[1] as string] ?? 0) + Number(match[2]);
  }
  return result;
}

/** Scrapes one server's /metrics (the sample HTTP server's or the gRPC server's side port). */
export async function scrapeServer(endpoint: MetricsEndpoint, timeoutMs = 5000): Promise<ServerCounters> {
  let response;
  try {
    response = await request(endpoint.url, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  } catch (error) {
    throw environmentError(`could not read server metrics at ${endpoint.url}: ${(error as Error).message}`, { where: '--server-metrics', cause: error });
  }
  const text = await response.body.text();
  if (response.statusCode !== 200) throw environmentError(`server metrics at ${endpoint.url} answered HTTP ${response.statusCode}`, { where: '--server-metrics' });
  const headerPod = response.headers[IdentityHeader.pod];
  const pod = endpoint.pod ?? (Array.isArray(headerPod) ? headerPod[0] : headerPod);
  if (!pod) throw badInput(`server metrics at ${endpoint.url} do not say which pod they belong to`, { where: '--server-metrics', hint: `name it: --server-metrics <pod>=${endpoint.url}` });
  const http = metricSum(text, 'kth_http_requests_total');
  const grpcReplies = metricSum(text, 'kth_grpc_replies_total');
  if (http === undefined && grpcReplies === undefined) throw environmentError(`${endpoint.url} has neither kth_http_requests_total nor kth_grpc_replies_total`, { where: '--server-metrics', hint: 'point it at a kth sample server: HTTP /metrics on the serving port, gRPC on its metrics side port' });
  return {
    pod,
    url: endpoint.url,
    requests: http ?? grpcReplies ?? 0,
    connections: metricSum(text, http !== undefined ? 'kth_http_connections_total' : 'kth_grpc_connections_total') ?? 0,
    goaways: http !== undefined ? null : (metricByLabel(text, 'kth_grpc_goaways_sent_total', 'reason') ?? null),
  };
}

/** Per-pod difference between two scrapes (after − before), for the span of a run. */
export function counterDelta(before: readonly ServerCounters[], after: readonly ServerCounters[]): Map<string, number> {
  const start = new Map(before.map((counters) => [counters.pod, counters.requests]));
  const delta = new Map<string, number>();
  for (const counters of after) delta.set(counters.pod, (delta.get(counters.pod) ?? 0) + counters.requests - (start.get(counters.pod) ?? 0));
  return delta;
}

/**
 * Sets each server's readiness through its control endpoint (`POST /admin/readiness?ready=…`, on
 * the port that serves /metrics): the sample servers then fail their readiness probe, or pass it.
 */
export async function setReadiness(endpoints: readonly MetricsEndpoint[], ready: boolean, timeoutMs = 5000): Promise<{ url: string; pod?: string; ready: boolean }[]> {
  return Promise.all(endpoints.map(async (endpoint) => {
    const url = new URL(endpoint.url);
    url.pathname = '/admin/readiness';
    url.search = `?ready=${ready}`;
    let response;
    try {
      response = await request(url, { method: 'POST', headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    } catch (error) {
      throw environmentError(`could not set readiness at ${url.href}: ${(error as Error).message}`, { where: '--server-metrics', cause: error });
    }
    const body = await response.body.text();
    if (response.statusCode !== 200) throw environmentError(`readiness at ${url.href} answered HTTP ${response.statusCode}: ${body.trim().slice(0, 200)}`, { where: '--server-metrics' });
    return { url: endpoint.url, ...(endpoint.pod ? { pod: endpoint.pod } : {}), ready: (JSON.parse(body) as { ready: boolean }).ready };
  }));
}
