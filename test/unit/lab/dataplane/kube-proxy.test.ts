import { dataplaneFor } from '../../../../harness/lab/dataplane/index.ts';
import { kubeProxyConfig } from '../../../../harness/lab/dataplane/kube-proxy.ts';
import { ipvsOptionsSchema, labSpecSchema, type LabSpec } from '../../../../harness/lab/spec.ts';

const spec = (extra: Partial<LabSpec> = {}): LabSpec => labSpecSchema.parse({ name: 'a', nodes: 3, proxyMode: 'ipvs', slot: 0, createdAt: 'now', repoRoot: '/r', kubernetesVersion: 'v1.35.0', ...extra });
const ipvsSection = (config: Record<string, unknown>) => config.ipvs as { scheduler: string; minSyncPeriod: string };

describe('kube-proxy in ipvs mode', () => {
  it('GIVEN a lab spec without IPVS options (made before they existed) WHEN the config is made THEN kube-proxy runs rr, and the run records rr', async () => {
    const config = kubeProxyConfig(spec(), '/lab/kubeconfig.internal', 1, 'ipvs');
    expect(config.mode).toBe('ipvs');
    expect(ipvsSection(config)).toEqual({ minSyncPeriod: '0s', syncPeriod: '30s', scheduler: 'rr' });
    expect((await dataplaneFor('ipvs').describe(spec())).options).toEqual({ mode: 'ipvs', minSyncPeriod: '0s', scheduler: 'rr' });
  });

  it('GIVEN scheduler lc in the spec WHEN the config is made and the run described THEN both say lc', async () => {
    const lc = spec({ ipvs: { scheduler: 'lc' } });
    expect(ipvsSection(kubeProxyConfig(lc, 'k', 2, 'ipvs')).scheduler).toBe('lc');
    expect((await dataplaneFor('ipvs').describe(lc)).options.scheduler).toBe('lc');
  });

  it('GIVEN an iptables lab WHEN described THEN no scheduler is recorded (it has none)', async () => {
    expect((await dataplaneFor('iptables').describe(spec({ proxyMode: 'iptables' }))).options).not.toHaveProperty('scheduler');
  });

  it('GIVEN scheduler values WHEN parsed THEN the kernel scheduler names pass, others and unknown keys are refused', () => {
    expect(ipvsOptionsSchema.parse({})).toEqual({ scheduler: 'rr' });
    expect(ipvsOptionsSchema.parse({ scheduler: 'mh' }).scheduler).toBe('mh');
    expect(ipvsOptionsSchema.safeParse({ scheduler: 'round-robin' }).success).toBe(false);
    expect(ipvsOptionsSchema.safeParse({ schedular: 'rr' }).success).toBe(false);
  });
});
