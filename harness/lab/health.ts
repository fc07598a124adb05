import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface ClientTls {
  ca: string;
  cert: string;
  key: string;
}

/** One GET: resolves with the status code, or the error message when nothing answered. */
export function probe(url: string, tls?: ClientTls, timeoutMs = 2000): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const target = new URL(url);
    const options = target.protocol === 'https:'
      ? { rejectUnauthorized: Boolean(tls), ...(tls ? { ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key) } : {}) }
      : {};
    const req = (target.protocol === 'https:' ? httpsRequest : httpRequest)(target, { method: 'GET', timeout: timeoutMs, agent: false, ...options }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => {
        body = (body + chunk).slice(0, 4096);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs}ms`)));
    req.on('error', (error) => resolve({ error: error.message }));
    req.end();
  });
}

/** A check's verdict that waiting longer cannot change. */
export class GiveUp extends Error {}

/**
 * Polls until `check` returns true, or throws with the last reason after `timeoutMs`. A check
 * that throws {@link GiveUp} ends the wait at once; any other error is just "not yet".
 */
export async function waitFor(what: string, timeoutMs: number, check: () => Promise<true | string>, intervalMs = 100): Promise<number> {
  const started = performance.now();
  let last = 'not checked yet';
  while (performance.now() - started < timeoutMs) {
    const result = await check().catch((error: Error) => {
      if (error instanceof GiveUp) throw new Error(`${what}: ${error.message}`);
      return error.message;
    });
    if (result === true) return performance.now() - started;
    last = result;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`${what} not ready after ${Math.round(timeoutMs / 1000)}s: ${last}`);
}
