import { connectableHost, normalizeAddress } from '../../../harness/workloads/pod-identity.ts';

describe('addresses', () => {
  it.each([
    ['::ffff:10.0.0.7', '10.0.0.7'],
    ['10.0.0.7', '10.0.0.7'],
    ['fd00::7', 'fd00::7'],
    ['::1', '::1'],
    [undefined, ''],
  ])('GIVEN the peer address %p WHEN normalized THEN it is %p', (input, expected) => {
    expect(normalizeAddress(input)).toBe(expected);
  });

  it.each([
    ['0.0.0.0', '127.0.0.1'],
    ['::', '::1'],
    ['127.0.0.1', '127.0.0.1'],
  ])('GIVEN a server listening on %p WHEN a local client connects THEN it dials %p', (host, expected) => {
    expect(connectableHost(host)).toBe(expected);
  });
});
