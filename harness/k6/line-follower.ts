import { open, type FileHandle } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';

/**
 * Reads a file that another process is still appending to (k6's `--out json`), line by line.
 * Each read picks up only the bytes appended since the last one, into one fixed buffer, so memory
 * stays flat however long the file grows; a line cut at a read boundary is kept until its end
 * arrives. A file that does not exist yet reads as empty (k6 creates it once it starts).
 */
export class LineFollower {
  private handle: FileHandle | undefined;
  private offset = 0;
  private partial = '';
  // Decodes across reads: a UTF-8 character split between two reads is not mangled.
  private readonly decoder = new StringDecoder('utf8');
  private readonly buffer: Buffer;
  private finished = false;

  constructor(
    readonly path: string,
    private readonly onLine: (line: string) => void,
    chunkBytes = 64 * 1024,
  ) {
    this.buffer = Buffer.alloc(chunkBytes);
  }

  /** Reads everything appended so far and hands over each complete line; returns the bytes read. */
  async readAvailable(): Promise<number> {
    if (this.finished) throw new Error(`LineFollower: ${this.path} already finished`);
    if (!this.handle) {
      try {
        this.handle = await open(this.path, 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
        throw error;
      }
    }
    let total = 0;
    for (;;) {
      const { bytesRead } = await this.handle.read(this.buffer, 0, this.buffer.length, this.offset);
      if (bytesRead === 0) return total;
      this.offset += bytesRead;
      total += bytesRead;
      this.split(this.decoder.write(this.buffer.subarray(0, bytesRead)));
    }
  }

  /**
   * Reads the rest once the writer is done, hands over a last line that has no newline, and closes
   * the file. Throws if the file never appeared: the writer produced nothing at all.
   */
  async finish(): Promise<void> {
    try {
      await this.readAvailable();
      if (!this.handle) {
        // Open now only to throw the file system's own error (ENOENT with the path).
        this.handle = await open(this.path, 'r');
      }
      const last = this.partial + this.decoder.end();
      this.partial = '';
      if (last !== '') this.emit(last);
    } finally {
      await this.close();
    }
  }

  /** Closes the file without reading further (following failed). */
  async close(): Promise<void> {
    this.finished = true;
    await this.handle?.close();
    this.handle = undefined;
  }

  private split(text: string): void {
    let start = 0;
    let newline = text.indexOf('\n');
    if (newline === -1) {
      this.partial += text;
      return;
    }
    // The first line is whatever was held back plus this read's text up to its newline.
    this.emit(this.partial + text.slice(0, newline));
    this.partial = '';
    start = newline + 1;
    while ((newline = text.indexOf('\n', start)) !== -1) {
      this.emit(text.slice(start, newline));
      start = newline + 1;
    }
    this.partial = text.slice(start);
  }

  // CRLF files read like LF ones, as readline with crlfDelay: Infinity reads them.
  private emit(line: string): void {
    this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  }
}

export interface FollowOptions {
  /** Settles when the writer has exited; then the rest of the file is read and following stops. */
  until: Promise<unknown>;
  /** How often to look for appended bytes. @default 200 */
  intervalMs?: number;
}

/**
 * Follows a file while its writer runs, handing over each line as it is appended, then reads the
 * rest once `until` settles (resolved or rejected: either way the writer is gone).
 */
export async function followLines(path: string, onLine: (line: string) => void, options: FollowOptions): Promise<void> {
  const follower = new LineFollower(path, onLine);
  const intervalMs = options.intervalMs ?? 200;
  let done = false;
  const settled = options.until.then(
    () => void (done = true),
    () => void (done = true),
  );
  try {
    while (!done) {
      await follower.readAvailable();
      // Wait one interval, or less if the writer exits first (no timer left behind).
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([settled, new Promise<void>((resolve) => (timer = setTimeout(resolve, intervalMs)))]);
      clearTimeout(timer);
    }
  } catch (error) {
    await follower.close();
    throw error;
  }
  await follower.finish();
}
