import { Agent, request } from 'node:http';

/**
 * How far this machine's wall clock is from a reference clock — a sample server's `GET /clock` —
 * measured the way NTP does: the reference's time against the midpoint of the round trip that
 * carried it, keeping the exchange with the shortest round trip (the one queueing disturbed least).
 * Distributed load generators measure against the same server pod, so their starts can be put on
 * one clock and compared (engine/generators.ts) on clusters whose nodes' clocks differ.
 */
export interface ClockOffset {
  /** The URL asked. */
  reference: string;
  /** reference − this clock, ms: positive when this clock is behind. */
  offsetMs: number;
  /** The shortest round trip of the exchanges, ms. */
  rttMs: number;
  /**
   * The true offset lies within offsetMs ± this: the answer was stamped somewhere in the round trip
   * (half of it either side of its midpoint), and every stamp is truncated to the millisecond (the
   * round trip by up to 1 ms, the midpoint and the reference by up to 1 ms between them).
   */
  uncertaintyMs: number;
  samples: number;
}

export interface ClockSample {
  /** This clock when the request was sent and when the answer arrived. */
  sentMs: number;
  receivedMs: number;
  /** The reference clock in the answer. */
  referenceMs: number;
}

/** Date.now() here counts whole milliseconds; a Node sample server's too (the Go one's finer). */
export const CLOCK_RESOLUTION_MS = 1;

/** The offset from the exchange with the shortest round trip; undefined without samples. */
export function estimateOffset(reference: string, samples: readonly ClockSample[]): ClockOffset | undefined {
  const best = [...samples].sort((a, b) => a.receivedMs - a.sentMs - (b.receivedMs - b.sentMs))[0];
  if (!best) return undefined;
  const rttMs = best.receivedMs - best.sentMs;
  return {
    reference,
    offsetMs: best.referenceMs - (best.sentMs + best.receivedMs) / 2,
    rttMs,
    uncertaintyMs: (rttMs + CLOCK_RESOLUTION_MS) / 2 + CLOCK_RESOLUTION_MS,
    samples: samples.length,
  };
}

/**
 * `count` exchanges with the reference over one kept-alive connection (the first, which also opens
 * it, is not used), each bounded by `timeoutMs`; the offset from them.
 */
export async function measureClockOffset(reference: string, options: { count?: number; timeoutMs?: number } = {}): Promise<ClockOffset> {
  const count = options.count ?? 8;
  const timeoutMs = options.timeoutMs ?? 2000;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const samples: ClockSample[] = [];
    for (let i = 0; i <= count; i++) {
      const sentMs = Date.now();
      const body = await get(reference, agent, timeoutMs);
      const receivedMs = Date.now();
      const referenceMs = (JSON.parse(body) as { unixMs?: unknown }).unixMs;
      if (typeof referenceMs !== 'number' || !Number.isFinite(referenceMs)) throw new Error(`${reference} answered ${body.slice(0, 100)}, not {"unixMs": …}`);
      if (i > 0) samples.push({ sentMs, receivedMs, referenceMs });
    }
    return estimateOffset(reference, samples) as ClockOffset;
  } finally {
    agent.destroy();
  }
}

function get(url: string, agent: Agent, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url} answered ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error(`${url} did not answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
