import { attributionFromHeaders, attributionFromWhoReply } from '../../../harness/load/attribution.ts';
import { classifyError, classifyStatus, grpcErrorKind } from '../../../harness/load/errors.ts';

const coded = (code: string, message = code) => Object.assign(new Error(message), { code });

describe('classifyError', () => {
  it.each([
    [coded('ECONNREFUSED'), 'refused'],
    [coded('ECONNRESET'), 'reset'],
    [coded('UND_ERR_SOCKET', 'other side closed'), 'reset'],
    [coded('UND_ERR_HEADERS_TIMEOUT'), 'timeout'],
    [coded('UND_ERR_CONNECT_TIMEOUT'), 'timeout'],
    [coded('ENOTFOUND'), 'dns'],
    [coded('EAI_AGAIN'), 'dns'],
    [coded('EHOSTUNREACH'), 'unreachable'],
    [coded('UND_ERR_SOCKET', 'HTTP/2: "GOAWAY" frame received with code 0'), 'goaway'],
    [coded('KTH_GOAWAY'), 'goaway'],
    [new Error('something odd'), 'other'],
  ])('GIVEN %s THEN %s', (error, kind) => expect(classifyError(error)).toBe(kind));
  it('GIVEN a refused connection wrapped as a cause (undici) THEN refused', () => {
    expect(classifyError(Object.assign(new Error('fetch failed'), { cause: coded('ECONNREFUSED') }))).toBe('refused');
  });
  it('GIVEN an AggregateError of attempts (happy eyeballs) THEN the inner code decides', () => {
    expect(classifyError(Object.assign(new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')]), { code: 'ECONNREFUSED' }))).toBe('refused');
  });
});

describe('classifyStatus and gRPC codes', () => {
  it('GIVEN HTTP statuses THEN 5xx/4xx are errors and 2xx/3xx are not', () => {
    expect([200, 204, 302, 404, 429, 500, 503].map(classifyStatus)).toEqual([undefined, undefined, undefined, 'http-4xx', 'http-4xx', 'http-5xx', 'http-5xx']);
  });
  it('GIVEN gRPC failures THEN the status name, or the transport cause hidden in UNAVAILABLE details', () => {
    expect(grpcErrorKind(4, 'Deadline exceeded')).toBe('grpc-deadline-exceeded');
    expect(grpcErrorKind(14, 'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1')).toBe('refused');
    expect(grpcErrorKind(14, 'read ECONNRESET')).toBe('reset');
    expect(grpcErrorKind(14, 'Received a GOAWAY')).toBe('goaway');
    expect(grpcErrorKind(14, 'something')).toBe('grpc-unavailable');
    expect(grpcErrorKind(13, 'boom')).toBe('grpc-internal');
  });
});

describe('attribution', () => {
  it('GIVEN identity headers THEN pod, node, connection, sequence and peer address', () => {
    expect(
      attributionFromHeaders({ 'x-kth-pod': 'web-1', 'x-kth-node': 'n2', 'x-kth-pod-ip': '10.1.0.5', 'x-kth-connection-id': 'web-1/7', 'x-kth-sequence': '3', 'x-kth-peer': '[fd00::9]:41000' }),
    ).toEqual({ pod: 'web-1', node: 'n2', podIp: '10.1.0.5', connectionId: 'web-1/7', sequence: 3, peerAddress: 'fd00::9' });
  });
  it('GIVEN the echoed X-Forwarded-For of a request through proxies THEN its first address, the client as the first proxy saw it', () => {
    expect(attributionFromHeaders({ 'x-kth-pod': 'web-1', 'x-kth-peer': '10.2.0.5:40000', 'x-kth-forwarded-for': '203.0.113.7, 10.2.0.9' })).toMatchObject({ peerAddress: '10.2.0.5', forwardedFor: '203.0.113.7' });
    expect(attributionFromHeaders({ 'x-kth-pod': 'web-1' })).not.toHaveProperty('forwardedFor');
  });
  it('GIVEN no pod header THEN unattributed (undefined)', () => expect(attributionFromHeaders({ server: 'nginx' })).toBeUndefined());
  it('GIVEN a WhoReply (camelCase, as proto-loader decodes it) THEN the same fields', () => {
    expect(attributionFromWhoReply({ pod: 'g-1', node: 'n1', podIp: '10.1.0.6', peer: '10.0.0.9:5000', connectionId: 'g-1/2', sequence: 1 })).toEqual({ pod: 'g-1', node: 'n1', podIp: '10.1.0.6', connectionId: 'g-1/2', sequence: 1, peerAddress: '10.0.0.9' });
  });
});
