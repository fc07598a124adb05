import { AddressPool } from '../../../../harness/lab/load-balancer/pool.ts';

describe('AddressPool', () => {
  it('GIVEN the lab pool THEN it hands out .1 to .254 (not the network or broadcast address)', () => {
    const pool = new AddressPool('198.18.32.0/24');
    expect(pool.size).toBe(254);
    expect(pool.contains('198.18.32.0')).toBe(false);
    expect(pool.contains('198.18.32.1')).toBe(true);
    expect(pool.contains('198.18.32.254')).toBe(true);
    expect(pool.contains('198.18.32.255')).toBe(false);
    expect(pool.contains('198.18.33.1')).toBe(false);
    expect(pool.contains('not-an-ip')).toBe(false);
  });

  it('GIVEN new Services WHEN allocated THEN each gets the next free address, the first .1, and keeps it on every later call', () => {
    const pool = new AddressPool('198.18.32.0/24');
    expect(pool.allocate('default/a')).toEqual({ ok: true, ip: '198.18.32.1', changed: true });
    expect(pool.allocate('default/b')).toEqual({ ok: true, ip: '198.18.32.2', changed: true });
    expect(pool.allocate('default/a')).toEqual({ ok: true, ip: '198.18.32.1', changed: false });
    expect(pool.entries()).toEqual([{ key: 'default/a', ip: '198.18.32.1' }, { key: 'default/b', ip: '198.18.32.2' }]);
  });

  it('GIVEN a released address THEN the next new Service gets a fresh one (no stale conntrack entry points at it), the others keep theirs, and the released one comes back once the pool wraps', () => {
    const pool = new AddressPool('198.18.32.0/29'); // .1 … .6
    pool.allocate('ns/a');
    pool.allocate('ns/b');
    expect(pool.release('ns/a')).toBe('198.18.32.1');
    expect(pool.release('ns/a')).toBeUndefined();
    expect(pool.allocate('ns/c')).toMatchObject({ ok: true, ip: '198.18.32.3' });
    expect(pool.addressOf('ns/b')).toBe('198.18.32.2');
    for (const key of ['ns/d', 'ns/e', 'ns/f']) pool.allocate(key); // .4, .5, .6
    expect(pool.allocate('ns/g')).toMatchObject({ ok: true, ip: '198.18.32.1' });
    expect(pool.allocate('ns/h')).toEqual({ ok: false, reason: expect.stringMatching(/exhausted/) });
  });

  it('GIVEN spec.loadBalancerIP in the pool THEN it is honoured exactly, also when it changes later', () => {
    const pool = new AddressPool('198.18.32.0/24');
    expect(pool.allocate('ns/a', { required: '198.18.32.200' })).toEqual({ ok: true, ip: '198.18.32.200', changed: true });
    expect(pool.allocate('ns/a', { required: '198.18.32.201' })).toEqual({ ok: true, ip: '198.18.32.201', changed: true });
    expect(pool.ownerOf('198.18.32.200')).toBeUndefined();
    expect(pool.allocate('ns/b')).toMatchObject({ ip: '198.18.32.1' });
  });

  it('GIVEN spec.loadBalancerIP outside the pool or taken THEN the Service gets no address and the reason names the problem', () => {
    const pool = new AddressPool('198.18.32.0/24');
    pool.allocate('ns/a', { required: '198.18.32.9' });
    const outside = pool.allocate('ns/b', { required: '10.0.0.1' });
    expect(outside).toEqual({ ok: false, reason: expect.stringMatching(/10\.0\.0\.1 is not in the lab load balancer pool 198\.18\.32\.0\/24/) });
    const taken = pool.allocate('ns/c', { required: '198.18.32.9' });
    expect(taken).toEqual({ ok: false, reason: expect.stringMatching(/already used by Service ns\/a/) });
    expect(pool.addressOf('ns/b')).toBeUndefined();
    expect(pool.addressOf('ns/c')).toBeUndefined();
  });

  it('GIVEN a Service that already carries a free address (controller restart) THEN it is adopted; a taken one is not', () => {
    const pool = new AddressPool('198.18.32.0/24');
    expect(pool.allocate('ns/a', { preferred: '198.18.32.7' })).toMatchObject({ ip: '198.18.32.7' });
    expect(pool.allocate('ns/b', { preferred: '198.18.32.7' })).toMatchObject({ ip: '198.18.32.1' });
    expect(pool.allocate('ns/c', { preferred: '192.0.2.1' })).toMatchObject({ ip: '198.18.32.2' });
  });

  it('GIVEN a full pool THEN allocation fails with a reason instead of reusing an address', () => {
    const pool = new AddressPool('198.18.32.0/30');
    expect(pool.size).toBe(2);
    pool.allocate('ns/a');
    pool.allocate('ns/b');
    expect(pool.allocate('ns/c')).toEqual({ ok: false, reason: expect.stringMatching(/exhausted/) });
  });
});
