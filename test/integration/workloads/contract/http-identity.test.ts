import { describe, expect, it, jest } from '@jest/globals';
import { hostname } from 'node:os';
import { serverRuntimes } from '../../../../harness/workloads/runtime.ts';
import {
  badParameterText,
  flagBeatsEnv,
  httpControlVectors,
  httpRequestVectors,
  podEnv,
  podFlagArgs,
  podFromEnv,
  podFromFlags,
} from '../../../support/contract-vectors.ts';
import { startSampleServer } from '../../../support/sample-server-process.ts';
import { h2Connect, h2Request, RawHttp1 } from '../../../support/wire-clients.ts';
import { bodyOf, expectBodyKeys, identityOf, labelled, peerText, scrapeOn, testTimeoutMs, value } from './contract-helpers.ts';

jest.setTimeout(testTimeoutMs);

describe.each(serverRuntimes)('HTTP contract, identity [%s]', (runtime) => {
  it('GIVEN identity flags WHEN the request vectors go over one connection THEN each answer names the pod, the peer, connection <pod>/1 and sequence n, in headers and body', async () => {
    await using server = await startSampleServer(runtime, 'http', podFlagArgs);
    const connection = await RawHttp1.open(server.port);
    const connectionId = `${podFromFlags.pod}/1`;
    const actual: unknown[] = [];
    const expected: unknown[] = [];
    try {
      for (const [index, vector] of httpRequestVectors.entries()) {
        const reply = await connection.request(vector.target, { method: vector.method });
        const sequence = index + 1;
        const body = bodyOf(reply);
        actual.push({
          vector: vector.name,
          status: reply.status,
          contentType: reply.headers['content-type']?.split(';')[0],
          identity: identityOf(reply.headers),
          body,
          slowEnough: reply.elapsedMs >= (vector.minElapsedMs ?? 0),
        });
        const bad = vector.badParameter;
        expected.push({
          vector: vector.name,
          status: vector.status,
          contentType: 'application/json',
          identity: { ...podFromFlags, peer: peerText('127.0.0.1', connection.localPort), connectionId, sequence: String(sequence) },
          body: bad
            ? { error: badParameterText(bad) }
            : {
                ...podFromFlags,
                peerAddress: '127.0.0.1',
                peerPort: connection.localPort,
                connectionId,
                sequence,
                protocol: 'http/1.1',
                method: vector.method,
                path: vector.path,
                status: vector.status,
                ...(vector.payloadBytes ? { payload: 'x'.repeat(vector.payloadBytes) } : {}),
              },
          slowEnough: true,
        });
        if (!bad) expectBodyKeys(body);
      }
    } finally {
      connection.close();
    }
    expect(actual).toEqual(expected);
  });

  it('GIVEN identity from the downward-API env, a flag over an env var, or nothing WHEN asked THEN the answers say so (the host name when no pod name)', async () => {
    const [fromEnv, flagWins, bare] = await Promise.all([
      startSampleServer(runtime, 'http', [], podEnv),
      startSampleServer(runtime, 'http', flagBeatsEnv.args, flagBeatsEnv.env),
      startSampleServer(runtime, 'http', []),
    ]);
    await using _a = fromEnv;
    await using _b = flagWins;
    await using _c = bare;
    const ask = async (port: number) => {
      const connection = await RawHttp1.open(port);
      try {
        const reply = await connection.request('/');
        return { headers: identityOf(reply.headers), body: bodyOf(reply) };
      } finally {
        connection.close();
      }
    };
    const env = await ask(fromEnv.port);
    expect(env.body).toMatchObject({ ...podFromEnv, connectionId: `${podFromEnv.pod}/1` });
    expect(env.headers).toMatchObject({ ...podFromEnv, connectionId: `${podFromEnv.pod}/1` });
    const flag = await ask(flagWins.port);
    expect(flag.body).toMatchObject({ ...flagBeatsEnv.expected, podIp: '', namespace: '', connectionId: `${flagBeatsEnv.expected.pod}/1` });
    const none = await ask(bare.port);
    expect(none.body).toMatchObject({ pod: hostname(), node: '', podIp: '', namespace: '', connectionId: `${hostname()}/1` });
    expect(none.headers).toMatchObject({ pod: hostname(), node: '', podIp: '', namespace: '' });
  });

  it('GIVEN several TCP connections WHEN each carries requests THEN the id is <pod>/<n> counting accepted connections, and the sequence restarts at 1 on each', async () => {
    await using server = await startSampleServer(runtime, 'http', ['--pod-name', 'conn']);
    const seen: Array<{ connection: number; id: string; sequence: number; peer: string; expectedPeer: string }> = [];
    for (let c = 1; c <= 3; c += 1) {
      const connection = await RawHttp1.open(server.port);
      for (let r = 1; r <= 3; r += 1) {
        const reply = await connection.request(`/c${c}/r${r}`);
        const identity = identityOf(reply.headers);
        seen.push({ connection: c, id: identity.connectionId ?? '', sequence: Number(identity.sequence), peer: identity.peer ?? '', expectedPeer: peerText('127.0.0.1', connection.localPort) });
      }
      connection.close();
      await connection.ended;
    }
    expect(seen.map((s) => [s.id, s.sequence])).toEqual([
      ['conn/1', 1], ['conn/1', 2], ['conn/1', 3],
      ['conn/2', 1], ['conn/2', 2], ['conn/2', 3],
      ['conn/3', 1], ['conn/3', 2], ['conn/3', 3],
    ]);
    expect(seen.every((s) => s.peer === s.expectedPeer)).toBe(true);
    // Two connections opened together: each gets one of the next two numbers, never a shared one.
    const [a, b] = await Promise.all([RawHttp1.open(server.port), RawHttp1.open(server.port)]);
    try {
      const [ra, rb] = await Promise.all([a.request('/'), b.request('/')]);
      expect(new Set([identityOf(ra.headers).connectionId, identityOf(rb.headers).connectionId])).toEqual(new Set(['conn/4', 'conn/5']));
    } finally {
      a.close();
      b.close();
    }
  });

  it('GIVEN a request through proxies (X-Forwarded-For) THEN the answer echoes the list in x-kth-forwarded-for, as sent; without one, no such header', async () => {
    await using server = await startSampleServer(runtime, 'http', podFlagArgs);
    const connection = await RawHttp1.open(server.port);
    try {
      const proxied = await connection.request('/', { headers: { 'x-forwarded-for': '203.0.113.7, 10.2.0.5' } });
      const direct = await connection.request('/');
      expect([proxied.status, proxied.headers['x-kth-forwarded-for'], direct.status, direct.headers['x-kth-forwarded-for']]).toEqual([200, '203.0.113.7, 10.2.0.5', 200, undefined]);
    } finally {
      connection.close();
    }
  });

  it('GIVEN GET /clock THEN the server\'s wall clock as {"unixMs"}, between this machine\'s clock before and after the request (one host, one clock), and not counted as workload', async () => {
    await using server = await startSampleServer(runtime, 'http', ['--pod-name', 'clock']);
    const connection = await RawHttp1.open(server.port);
    try {
      const before = Date.now();
      const reply = await connection.request('/clock');
      const after = Date.now();
      const body = JSON.parse(reply.body) as Record<string, unknown>;
      expect(Object.keys(body)).toEqual(['unixMs']);
      // Node answers whole milliseconds, Go to the microsecond; Date.now() here truncates to the millisecond.
      expect(body.unixMs).toBeGreaterThanOrEqual(before);
      expect(body.unixMs).toBeLessThan(after + 1);
      expect(value(await scrapeOn(connection), 'kth_http_requests_total')).toBe(0);
    } finally {
      connection.close();
    }
  });

  it('GIVEN probes and scrapes between workload requests WHEN answered THEN every answer carries identity and the next sequence, yet only workload requests are counted', async () => {
    await using server = await startSampleServer(runtime, 'http', ['--pod-name', 'probe']);
    const connection = await RawHttp1.open(server.port);
    try {
      const sequences: Array<[string, number, number]> = [];
      let workload = 0;
      let sequence = 0;
      for (const control of httpControlVectors) {
        const reply = await connection.request(control.target, { method: control.method });
        sequence += 1;
        sequences.push([control.target, reply.status, Number(identityOf(reply.headers).sequence)]);
        expect(reply.headers['content-type']).toMatch(control.contentType);
        if (control.body !== undefined) expect(reply.body).toBe(control.body);
        const work = await connection.request('/work');
        sequence += 1;
        workload += 1;
        sequences.push(['/work', work.status, Number(bodyOf(work).sequence)]);
        expect(identityOf(reply.headers)).toMatchObject({ pod: 'probe', connectionId: 'probe/1', peer: peerText('127.0.0.1', connection.localPort) });
      }
      expect(sequences).toEqual([
        ['/healthz', 200, 1], ['/work', 200, 2],
        ['/readyz', 200, 3], ['/work', 200, 4],
        ['/metrics', 200, 5], ['/work', 200, 6],
        ['/readyz?verbose=1', 200, 7], ['/work', 200, 8],
        ['/clock', 200, 9], ['/work', 200, 10],
      ]);
      const text = await scrapeOn(connection);
      expect(value(text, 'kth_http_requests_total')).toBe(workload);
      // Five control requests above, plus this scrape.
      expect(value(text, 'kth_http_control_requests_total')).toBe(httpControlVectors.length + 1);
      expect(labelled(text, 'kth_http_connection_requests', 'connection_id', 'probe/1')).toBe(workload);
      expect(sequence).toBe(10);
    } finally {
      connection.close();
    }
  });

  it('GIVEN prior-knowledge h2c on the same port WHEN five streams share a session THEN they share one connection id with sequences 1..5, protocol h2, and the client socket as peer', async () => {
    await using server = await startSampleServer(runtime, 'http', ['--pod-name', 'h2']);
    const h2 = await h2Connect(server.url);
    try {
      const replies = await Promise.all(Array.from({ length: 5 }, (_, i) => h2Request(h2.session, `/h2/${i}?payload_bytes=3`)));
      const bodies = replies.map(bodyOf);
      expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      expect(bodies.map((b) => b.sequence).sort()).toEqual([1, 2, 3, 4, 5]);
      for (const [i, body] of bodies.entries()) {
        expectBodyKeys(body);
        expect(body).toEqual({
          pod: 'h2',
          node: '',
          podIp: '',
          namespace: '',
          peerAddress: '127.0.0.1',
          peerPort: h2.localPort,
          connectionId: 'h2/1',
          sequence: body.sequence,
          protocol: 'h2',
          method: 'GET',
          path: `/h2/${i}`,
          status: 200,
          payload: 'xxx',
        });
        expect(identityOf(replies[i]!.headers)).toEqual({
          pod: 'h2',
          node: '',
          podIp: '',
          namespace: '',
          peer: peerText('127.0.0.1', h2.localPort),
          connectionId: 'h2/1',
          sequence: String(body.sequence),
        });
      }
      // Control paths answer on h2 too, and take the next sequence.
      const ready = await h2Request(h2.session, '/readyz');
      expect([ready.status, identityOf(ready.headers).sequence]).toEqual([200, '6']);
      // An HTTP/1.1 connection on the same port is the next connection.
      const plain = await RawHttp1.open(server.port);
      try {
        const reply = await plain.request('/');
        expect(bodyOf(reply)).toMatchObject({ connectionId: 'h2/2', sequence: 1, protocol: 'http/1.1' });
        const text = await scrapeOn(plain);
        expect(labelled(text, 'kth_http_connections_total', 'protocol', 'h2')).toBe(1);
        expect(labelled(text, 'kth_http_connections_total', 'protocol', 'http/1.1')).toBe(1);
        expect(labelled(text, 'kth_http_connections_total', 'protocol', 'pending')).toBe(0);
        expect(value(text, 'kth_http_requests_total')).toBe(6);
        expect(labelled(text, 'kth_http_connection_requests', 'connection_id', 'h2/1')).toBe(5);
        expect(labelled(text, 'kth_http_connection_requests', 'connection_id', 'h2/2')).toBe(1);
      } finally {
        plain.close();
      }
    } finally {
      h2.close();
    }
  });

  it('GIVEN --no-h2c WHEN an h2c client connects THEN it is not served as HTTP/2, while HTTP/1.1 still is', async () => {
    await using server = await startSampleServer(runtime, 'http', ['--no-h2c', '--pod-name', 'plain']);
    const outcome = await h2Connect(server.url).then(
      async (h2) => {
        try {
          return await Promise.race([
            h2Request(h2.session, '/').then((r) => `answered ${r.status}`, (e: NodeJS.ErrnoException) => e.code ?? 'error'),
            h2.closed.then(() => 'closed'),
          ]);
        } finally {
          h2.close();
        }
      },
      (error: NodeJS.ErrnoException) => error.code ?? 'refused',
    );
    expect(outcome).not.toMatch(/^answered/);
    const connection = await RawHttp1.open(server.port);
    try {
      expect(bodyOf(await connection.request('/'))).toMatchObject({ protocol: 'http/1.1', status: 200 });
      const text = await scrapeOn(connection);
      expect(labelled(text, 'kth_http_connections_total', 'protocol', 'h2')).toBe(0);
      expect(value(text, 'kth_http_requests_total')).toBe(1);
    } finally {
      connection.close();
    }
  });
});
