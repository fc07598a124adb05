import { ipvsFlags } from '../../../harness/cli/commands/lab.ts';

describe('kth lab up --ipvs-scheduler', () => {
  it('GIVEN no flag THEN no IPVS options (the lab uses its default)', () => {
    expect(ipvsFlags({ proxyMode: 'ipvs' })).toBeUndefined();
  });

  it('GIVEN an ipvs lab and a scheduler THEN the options carry it', () => {
    expect(ipvsFlags({ proxyMode: 'ipvs', ipvsScheduler: 'sh' })).toEqual({ scheduler: 'sh' });
  });

  it('GIVEN a scheduler IPVS does not have THEN bad input names the flag and the choices', () => {
    expect(() => ipvsFlags({ proxyMode: 'ipvs', ipvsScheduler: 'random' })).toThrow(expect.objectContaining({ kind: 'bad-input', where: '--ipvs-scheduler', hint: expect.stringMatching(/rr, wrr, lc/) }));
  });

  it('GIVEN the flag on an iptables lab THEN bad input says it needs --proxy-mode ipvs', () => {
    expect(() => ipvsFlags({ proxyMode: 'iptables', ipvsScheduler: 'rr' })).toThrow(expect.objectContaining({ kind: 'bad-input', hint: 'use it with --proxy-mode ipvs' }));
  });
});
