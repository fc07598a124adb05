/**
 * The kubelet's `/containerLogs` query (v1 PodLogOptions, as the API server forwards it) and the
 * pure parts of applying it: which options the lab can honour, where `tailLines` starts, and where
 * `limitBytes` cuts. No I/O here.
 */
export interface LogQuery {
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  tailLines?: number;
  limitBytes?: number;
  sinceSeconds?: number;
  sinceTime?: string;
  stream: 'All' | 'Stdout' | 'Stderr';
}

/** A request the agent answers with an error status and a plain-text message, as the kubelet does. */
export class LogRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'LogRequestError';
  }
}

// Go's strconv.ParseBool, which decodes the kubelet's boolean query parameters.
const goTrue = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const goFalse = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

function bool(params: URLSearchParams, name: string): boolean {
  const value = params.get(name);
  if (value === null || value === '') return false;
  if (goTrue.has(value)) return true;
  if (goFalse.has(value)) return false;
  throw new LogRequestError(400, `unable to decode query: ${name}=${value} is not a boolean`);
}

function int(params: URLSearchParams, name: string): number | undefined {
  const value = params.get(name);
  if (value === null || value === '') return undefined;
  if (!/^[+-]?\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new LogRequestError(400, `unable to decode query: ${name}=${value} is not an integer`);
  return Number(value);
}

/** Decodes and validates the query as the kubelet does (`tail` is its old name for tailLines; `tail=all` means no limit). */
export function parseLogQuery(params: URLSearchParams): LogQuery {
  const tail = params.get('tail');
  const effective = new URLSearchParams(params);
  if (tail) {
    if (tail === 'all') effective.delete('tailLines');
    else effective.set('tailLines', tail);
  }
  const stream = effective.get('stream') || 'All';
  if (stream !== 'All' && stream !== 'Stdout' && stream !== 'Stderr') throw new LogRequestError(422, `invalid request: stream: Unsupported value: "${stream}": supported values: "All", "Stderr", "Stdout"`);
  const query: LogQuery = { follow: bool(effective, 'follow'), previous: bool(effective, 'previous'), timestamps: bool(effective, 'timestamps'), stream };
  const tailLines = int(effective, 'tailLines');
  const limitBytes = int(effective, 'limitBytes');
  const sinceSeconds = int(effective, 'sinceSeconds');
  const sinceTime = effective.get('sinceTime') || undefined;
  if (tailLines !== undefined) {
    if (tailLines < 0) throw new LogRequestError(422, `invalid request: tailLines: Invalid value: ${tailLines}: must be greater than or equal to 0`);
    query.tailLines = tailLines;
  }
  if (limitBytes !== undefined) {
    if (limitBytes < 1) throw new LogRequestError(422, `invalid request: limitBytes: Invalid value: ${limitBytes}: must be greater than 0`);
    query.limitBytes = limitBytes;
  }
  if (sinceSeconds !== undefined && sinceTime !== undefined) throw new LogRequestError(422, 'invalid request: at most one of `sinceTime` or `sinceSeconds` may be specified');
  if (sinceSeconds !== undefined) {
    if (sinceSeconds < 1) throw new LogRequestError(422, `invalid request: sinceSeconds: Invalid value: ${sinceSeconds}: must be greater than 0`);
    query.sinceSeconds = sinceSeconds;
  }
  if (sinceTime !== undefined) {
    if (Number.isNaN(Date.parse(sinceTime))) throw new LogRequestError(400, `unable to decode query: sinceTime=${sinceTime} is not an RFC 3339 time`);
    query.sinceTime = sinceTime;
  }
  if (stream !== 'All' && tailLines !== undefined) throw new LogRequestError(422, 'invalid request: `tailLines` and specific `stream` are mutually exclusive for now');
  return query;
}

/**
 * Why the lab cannot answer this query truthfully, or undefined. A container's stdout and stderr
 * go to one file with no per-line times (the process writes it itself, so it survives agent
 * restarts): lines cannot be told apart by time or stream, and a kubelet's answer would differ.
 */
export function labUnsupported(query: LogQuery): string | undefined {
  const what = query.timestamps ? 'timestamps' : query.sinceSeconds !== undefined ? 'sinceSeconds' : query.sinceTime !== undefined ? 'sinceTime' : undefined;
  if (what) return `${what} is not supported by the lab node agent: container logs are written by the process itself without per-line times; omit ${what} (tailLines and limitBytes work)`;
  if (query.stream !== 'All') return `stream=${query.stream} is not supported by the lab node agent: a container's stdout and stderr share one log file; omit stream`;
  return undefined;
}

/**
 * Byte offset where the last `lines` lines of a file of `size` bytes start, read backwards in
 * chunks through `read(position, length)`. A final newline ends the last line (it does not start
 * an empty one); a last line without one still counts.
 */
export function tailOffset(size: number, lines: number, read: (position: number, length: number) => Uint8Array, chunkSize = 64 * 1024): number {
  if (lines <= 0) return size;
  let remaining = lines;
  for (let end = size; end > 0; ) {
    const start = Math.max(0, end - chunkSize);
    const chunk = read(start, end - start);
    for (let i = chunk.length - 1; i >= 0; i -= 1) {
      if (chunk[i] !== 0x0a || start + i === size - 1) continue;
      remaining -= 1;
      if (remaining === 0) return start + i + 1;
    }
    end = start;
  }
  return 0;
}

/** Counts bytes out against `limitBytes`: what of each chunk may still be sent, and whether the limit is reached. */
export class ByteBudget {
  private left: number;

  constructor(limitBytes: number | undefined) {
    this.left = limitBytes ?? Number.POSITIVE_INFINITY;
  }

  get exhausted(): boolean {
    return this.left <= 0;
  }

  take(chunk: Buffer): Buffer {
    const allowed = chunk.length <= this.left ? chunk : chunk.subarray(0, this.left);
    this.left -= allowed.length;
    return allowed;
  }
}
