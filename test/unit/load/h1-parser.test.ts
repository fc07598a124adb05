import { H1ResponseParser, type H1ResponseHead } from '../../../harness/load/http/h1-parser.ts';

/** Feeds `parts` one by one (as separate TCP reads) and returns a copy of each response's head. */
function parse(parts: readonly (string | Buffer)[], options: { bodyless?: boolean } = {}) {
  const heads: H1ResponseHead[] = [];
  const parser = new H1ResponseParser((head) => heads.push({ ...head }), options.bodyless);
  const results = parts.map((part) => parser.feed(typeof part === 'string' ? Buffer.from(part, 'latin1') : part));
  return { heads, parser, ok: results.every(Boolean) };
}

const identity = 'x-kth-pod: web-0\r\nX-KTH-Node: node-a\r\nx-kth-pod-ip: 10.0.0.7\r\nx-kth-connection-id: web-0/3\r\nx-kth-sequence: 12\r\nx-kth-peer: 10.0.1.2:40000\r\nX-Kth-Forwarded-For: 203.0.113.7, 10.2.0.9\r\n';
const ok = `HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Wed, 25 Nov 2026 17:00:00 GMT\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n${identity}\r\nok\n`;

describe('H1ResponseParser', () => {
  it('GIVEN one response in one read THEN status, every identity header (any case) and keep-alive are read', () => {
    const { heads, parser, ok: fine } = parse([ok]);
    expect(fine).toBe(true);
    expect(heads).toEqual([{ status: 200, close: false, pod: 'web-0', node: 'node-a', podIp: '10.0.0.7', connectionId: 'web-0/3', sequence: '12', peer: '10.0.1.2:40000', forwardedFor: '203.0.113.7, 10.2.0.9' }]);
    expect(parser.idle).toBe(true);
  });

  it('GIVEN the same response split at every byte THEN it is parsed exactly once, identically', () => {
    const bytes = Buffer.from(ok, 'latin1');
    for (let cut = 1; cut < bytes.length; cut++) {
      const { heads, ok: fine } = parse([bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect(fine).toBe(true);
      expect(heads).toHaveLength(1);
      expect(heads[0]).toMatchObject({ status: 200, pod: 'web-0', sequence: '12' });
    }
    // And one byte per read.
    const { heads } = parse([...bytes].map((byte) => Buffer.from([byte])));
    expect(heads.map((h) => h.connectionId)).toEqual(['web-0/3']);
  });

  it('GIVEN a shared read buffer overwritten between reads THEN a split head is not corrupted', () => {
    const bytes = Buffer.from(ok, 'latin1');
    const shared = Buffer.alloc(bytes.length);
    const heads: H1ResponseHead[] = [];
    const parser = new H1ResponseParser((head) => heads.push({ ...head }));
    bytes.copy(shared, 0, 0, 40);
    parser.feed(shared, 0, 40);
    shared.fill(0x41); // the next read reuses the buffer
    bytes.copy(shared, 0, 40);
    parser.feed(shared, 0, bytes.length - 40);
    expect(heads).toHaveLength(1);
    expect(heads[0]).toMatchObject({ pod: 'web-0', podIp: '10.0.0.7' });
  });

  it('GIVEN three pipelined responses in one read THEN all three are reported, in order', () => {
    const response = (n: number, body: string) => `HTTP/1.1 200 OK\r\nx-kth-pod: p\r\nx-kth-sequence: ${n}\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
    const { heads, parser } = parse([response(1, 'a') + response(2, '') + response(3, 'ccc')]);
    expect(heads.map((h) => h.sequence)).toEqual(['1', '2', '3']);
    expect(parser.idle).toBe(true);
  });

  it('GIVEN a chunked body with extensions and trailers, split across reads THEN the response ends after the trailers', () => {
    const head = 'HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\nx-kth-pod: p1\r\n\r\n';
    const body = '5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nx-trailer: t\r\n\r\n';
    const next = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nx-kth-pod: p2\r\n\r\n';
    const all = Buffer.from(head + body + next, 'latin1');
    for (const cut of [head.length + 3, head.length + 9, head.length + 30, head.length + body.length - 3]) {
      const { heads, ok: fine } = parse([all.subarray(0, cut), all.subarray(cut)]);
      expect(fine).toBe(true);
      expect(heads.map((h) => [h.status, h.pod])).toEqual([[503, 'p1'], [200, 'p2']]);
    }
  });

  it('GIVEN Connection: close THEN close is set; HTTP/1.0 closes unless keep-alive', () => {
    expect(parse(['HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n']).heads[0]?.close).toBe(true);
    expect(parse(['HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n']).heads[0]?.close).toBe(true);
    expect(parse(['HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n']).heads[0]?.close).toBe(false);
  });

  it('GIVEN no Content-Length and no chunking THEN the body runs to the close, and the response completes at end()', () => {
    const { heads, parser } = parse(['HTTP/1.1 200 OK\r\nx-kth-pod: p\r\n\r\nsome', ' body']);
    expect(heads).toHaveLength(0);
    expect(parser.end()).toBe(true);
    expect(heads).toEqual([expect.objectContaining({ pod: 'p', close: true })]);
  });

  it('GIVEN the server closes mid-response THEN end() reports it cut short, saying where', () => {
    const inBody = parse(['HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc']);
    expect(inBody.parser.end()).toBe(false);
    expect(inBody.parser.describeCut()).toBe('with 7 body bytes still due');
    expect(inBody.heads).toHaveLength(0);
    const inHead = parse(['HTTP/1.1 200 OK\r\nx-kth-po']);
    expect(inHead.parser.end()).toBe(false);
    expect(inHead.parser.describeCut()).toMatch(/response head/);
    const inChunks = parse(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel']);
    expect(inChunks.parser.end()).toBe(false);
    expect(parse([]).parser.end()).toBe(true);
  });

  it('GIVEN interim 100 Continue, 204 and 304 responses THEN only final responses are reported and bodyless ones need no body', () => {
    const { heads } = parse(['HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nx-kth-pod: a\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\nx-kth-pod: b\r\n\r\n']);
    expect(heads.map((h) => [h.status, h.pod])).toEqual([[204, 'a'], [304, 'b']]);
  });

  it('GIVEN HEAD requests THEN a Content-Length does not make the parser wait for a body', () => {
    const { heads } = parse(['HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n'], { bodyless: true });
    expect(heads).toHaveLength(2);
  });

  it('GIVEN malformed responses THEN the parser stops with a protocol error', () => {
    for (const bad of ['SSH-2.0-OpenSSH\r\n\r\n', 'HTTP/1.1 2x0 OK\r\n\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'HTTP/1.1 200 OK\r\nTrHTTP/1.1 200 OK\r\n\r\n']) {
      const { ok: fine, parser } = parse([bad]);
      expect(fine).toBe(false);
      expect(parser.error?.code).toBe('KTH_HTTP_PROTOCOL');
    }
  });
});
