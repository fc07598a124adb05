import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ipvsCapability } from '../../../harness/setup/host-capabilities.ts';
import { labResidue, noResidue, testLabName } from '../../support/residue.ts';

const exec = promisify(execFile);
const kernelHasIpvs = ipvsCapability().available;

// On a kernel without IP_VS (this CI machine), ipvs mode must fail before anything is made.
(kernelHasIpvs ? describe.skip : describe)('lab up --proxy-mode ipvs on a kernel without IP_VS', () => {
  it('GIVEN no IP_VS WHEN lab up asks for ipvs THEN it exits 3 with the reason and the fix, and makes nothing', async () => {
    const name = testLabName('ipvs');
    const result = await exec(process.execPath, ['harness/bin/kth.mjs', 'lab', 'up', '--name', name, '--nodes', '1', '--proxy-mode', 'ipvs']).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/proxy mode ipvs cannot run on this host/);
    expect(result.stderr).toMatch(/IP_VS/);
    expect(result.stderr).toMatch(/fix: .*--proxy-mode iptables\|nftables/);
    expect(await labResidue(name)).toEqual(noResidue);
  }, 30_000);
});
