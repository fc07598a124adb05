import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ipvsCapability } from '../../../harness/setup/host-capabilities.ts';
import { guestProblems } from '../../../harness/setup/guest-capabilities.ts';
import type { DoctorReport } from '../../../harness/setup/doctor.ts';

const exec = promisify(execFile);

describe('kth doctor', () => {
  let report: DoctorReport;
  beforeAll(async () => {
    const { stdout } = await exec(process.execPath, ['harness/bin/kth.mjs', 'doctor', '--json']);
    report = JSON.parse(stdout) as DoctorReport;
  }, 60_000);

  it('THEN the lab runs iptables and nftables modes on this host (root, netns, binaries from setup)', () => {
    const lab = (mode: string) => report.matrix.find((c) => c.provider === 'lab' && c.proxyMode === mode);
    expect(lab('iptables')).toMatchObject({ available: true });
    expect(lab('nftables')).toMatchObject({ available: true });
  });

  it('THEN lab ipvs runs on the host kernel when it has IP_VS, else in a guest kernel, and says which and why', () => {
    const ipvs = report.matrix.find((c) => c.provider === 'lab' && c.proxyMode === 'ipvs');
    const kernel = ipvsCapability();
    const guestReady = guestProblems().length === 0;
    expect(ipvs?.available).toBe(kernel.available || guestReady);
    if (kernel.available) expect(ipvs?.kernel).toBe('host');
    else if (guestReady) {
      expect(ipvs?.kernel).toMatch(/^guest-/);
      expect(ipvs?.detail).toMatch(/guest kernel/);
      expect(ipvs?.detail).toMatch(/lacks IP_VS/);
    } else expect(ipvs?.detail).toMatch(/IP_VS/);
  });

  it('THEN every pinned binary answers with its version', () => {
    for (const binary of report.binaries) {
      expect(binary).toMatchObject({ available: true });
    }
    expect(report.binaries.find((b) => b.name === 'kube-apiserver')?.detail).toMatch(/Kubernetes v1\.36\./);
  });

  it('THEN the matrix covers every provider × proxy mode', () => {
    expect(report.matrix).toHaveLength(3 * 4);
  });
});
