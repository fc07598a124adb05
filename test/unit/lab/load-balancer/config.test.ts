import { parseLoadBalancerConfig } from '../../../../harness/lab/load-balancer/config.ts';

describe('load balancer config', () => {
  it('GIVEN only the required keys THEN the lab defaults fill the rest', () => {
    expect(parseLoadBalancerConfig({ labName: 'a', kubeconfigPath: '/k' })).toEqual({
      labName: 'a',
      kubeconfigPath: '/k',
      pool: '198.18.32.0/24',
      table: 'kth_lb',
      listen: { host: '198.18.0.3', port: 10270 },
      healthCheck: { intervalMs: 1000, timeoutMs: 500, healthyThreshold: 1, unhealthyThreshold: 1 },
    });
  });

  it('GIVEN several mistakes THEN every one is reported with its path (exit code 2)', () => {
    let caught: unknown;
    try {
      parseLoadBalancerConfig({ labName: 'a', kubeconfigPath: '/k', pool: '10.0.0.0/24', table: 'Bad-Name', extra: 1, healthCheck: { intervalMs: 1000, timeoutMs: 1000 } }, 'lb.json');
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ kind: 'bad-input', exitCode: 2, where: 'lb.json' });
    const message = (caught as Error).message;
    expect(message).toMatch(/table: must be a short nft identifier/);
    expect(message).toMatch(/\(config\): Unrecognized key: "extra"|extra/);
    expect(message).toMatch(/healthCheck\.timeoutMs: must be shorter than intervalMs/);
    expect(message).toMatch(/pool: must lie inside the lab range/);
  });
});
