import { noSuccessMessage } from '../../../harness/load/outcome.ts';

const summary = (requests: number, byKind: Record<string, number>, dropped = 0) => {
  const errors = Object.values(byKind).reduce((a, b) => a + b, 0);
  return { totals: { requests, attributed: requests - errors, unattributed: 0, errors, dropped, serverCounted: null }, errors: { total: errors, byKind } };
};

describe('noSuccessMessage', () => {
  it('GIVEN one request succeeded THEN there is nothing to say', () => {
    expect(noSuccessMessage(summary(200, { refused: 199 }), 'http://10.0.0.1/')).toBeUndefined();
  });

  it('GIVEN every request failed in several ways THEN the commonest kind names the cause, every kind is counted', () => {
    expect(noSuccessMessage(summary(50, { reset: 10, timeout: 40 }), 'http://10.0.0.1/')).toBe(
      'no request succeeded: 50 of 50 failed (timeout 40, reset 10) — timed out: nothing answered from http://10.0.0.1/ within --timeout (host unreachable, packets dropped by a firewall, or the server hung)',
    );
  });

  it('GIVEN only HTTP 5xx answers or an unknown kind THEN the line says so', () => {
    expect(noSuccessMessage(summary(3, { 'http-5xx': 3 }), 'http://svc/')).toMatch(/— http:\/\/svc\/ answered every request with an HTTP 5xx status$/);
    expect(noSuccessMessage(summary(3, { 'grpc-internal': 3 }), 'svc:50051')).toMatch(/— every request failed \(grpc-internal\)$/);
  });

  it('GIVEN nothing was sent THEN the line says that, with the drops', () => {
    expect(noSuccessMessage(summary(0, {}, 12), 'http://svc/')).toBe('no request was sent to http://svc/ (12 dropped for want of a free slot)');
  });
});
