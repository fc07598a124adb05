import { dns1035Label, maxLabelLength, stableName } from '../../../manifests/names.ts';

describe('stable names', () => {
  it('GIVEN free-form parts WHEN named THEN the result is an RFC 1035 label, the same every time', () => {
    const name = stableName('Run 42', 'Keepalive_Imbalance', 'http');
    expect(name).toBe('run-42-keepalive-imbalance-http');
    expect(stableName('Run 42', 'Keepalive_Imbalance', 'http')).toBe(name);
  });

  it('GIVEN parts starting with digits or symbols WHEN named THEN the label starts with a letter', () => {
    expect(stableName('123', '--abc')).toBe('abc');
    expect(stableName('!!!')).toBe('kth');
  });

  it('GIVEN long parts WHEN named THEN they are cut to 63 with a hash, and different inputs stay distinct', () => {
    const a = stableName('x'.repeat(80), 'a');
    const b = stableName('x'.repeat(80), 'b');
    expect(a.length).toBeLessThanOrEqual(maxLabelLength);
    expect(a).toMatch(dns1035Label);
    expect(a).not.toBe(b);
  });
});
