/** Small assertions shared by the contract tests (over-the-wire only; no server internals). */
import { expect } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { metricByLabel, metricSum } from '../../../../harness/load/server-metrics.ts';
import { identityHeader, whoBodyKeys } from '../../../support/contract-vectors.ts';
import type { SampleServer } from '../../../support/sample-server-process.ts';
import type { RawHttp1 } from '../../../support/wire-clients.ts';

export { metricByLabel, metricSum };

/** Suite timing: one bound per test, generous against a loaded CI host, far below "hangs". */
export const testTimeoutMs = 30_000;

/** Polls `check` until it returns a value other than undefined/false, at most `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await sleep(20);
  }
}

/** The JSON body of a workload reply. */
export function bodyOf(reply: { body: string }): Record<string, unknown> {
  try {
    return JSON.parse(reply.body) as Record<string, unknown>;
  } catch {
    throw new Error(`response body is not JSON: ${JSON.stringify(reply.body.slice(0, 200))}`);
  }
}

/** The identity headers of a reply, by field. */
export function identityOf(headers: Record<string, string | string[] | number | undefined>): Record<keyof typeof identityHeader, string | undefined> {
  const pick = (name: string) => {
    const value = headers[name];
    return value === undefined ? undefined : String(value);
  };
  return {
    pod: pick(identityHeader.pod),
    node: pick(identityHeader.node),
    podIp: pick(identityHeader.podIp),
    namespace: pick(identityHeader.namespace),
    peer: pick(identityHeader.peer),
    connectionId: pick(identityHeader.connectionId),
    sequence: pick(identityHeader.sequence),
  };
}

/** `address:port`, bracketed for IPv6, as x-kth-peer and WhoReply.peer carry it. */
export function peerText(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** A workload body has exactly the contract's keys (plus payload/error when present). */
export function expectBodyKeys(body: Record<string, unknown>): void {
  const optional = ['payload', 'error'].filter((key) => key in body);
  expect(Object.keys(body).sort()).toEqual([...whoBodyKeys, ...optional].sort());
}

/** /metrics over a connection the test keeps (so scraping does not add connections). */
export async function scrapeOn(connection: RawHttp1): Promise<string> {
  const reply = await connection.request('/metrics');
  expect(reply.status).toBe(200);
  return reply.body;
}

/** A labelled sample, 0 when absent (an absent series and a zero mean the same to a scraper). */
export function labelled(text: string, name: string, label: string, value: string): number {
  return metricByLabel(text, name, label)?.[value] ?? 0;
}

/** The server's value of a gauge/counter without labels; fails when absent. */
export function value(text: string, name: string): number {
  const sum = metricSum(text, name);
  if (sum === undefined) throw new Error(`${name} is missing from /metrics:\n${text}`);
  return sum;
}

export async function metricValue(server: SampleServer, name: string): Promise<number> {
  return value(await server.metricsText(), name);
}
