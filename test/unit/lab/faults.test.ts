import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { labFaults } from '../../../harness/lab/faults.ts';
import { findGuestKernel } from '../../../harness/lab/guest/kernel.ts';
import type { LabSpec } from '../../../harness/lab/spec.ts';

const lab = (proxyMode: LabSpec['proxyMode'], guest = false) => ({ name: 'f1', slot: 1, nodes: 3, proxyMode, ...(guest ? { guest: {} } : {}) }) as unknown as LabSpec;

/** This host's kernel config, as the injector reads it (the CI host's kernel lacks netem). */
function kernelHasNetem(): boolean | undefined {
  try {
    return /^CONFIG_NET_SCH_NETEM=[ym]$/m.test(gunzipSync(readFileSync('/proc/config.gz')).toString('latin1'));
  } catch {
    return undefined;
  }
}

describe('what the lab can inject', () => {
  it('GIVEN cilium mode THEN kube-proxy faults are refused with the reason; other modes and other actions are not', () => {
    expect(labFaults(lab('cilium')).unsupported({ at: 0, action: 'kube-proxy-pause', duration: 1000 })).toMatch(/^proxy mode cilium has no kube-proxy/);
    expect(labFaults(lab('cilium')).unsupported({ at: 0, action: 'kube-proxy-restart' })).toMatch(/Cilium's agent replaces it/);
    expect(labFaults(lab('nftables')).unsupported({ at: 0, action: 'kube-proxy-pause', duration: 1000 })).toBeUndefined();
    expect(labFaults(lab('cilium')).unsupported({ at: 0, action: 'node-down', node: 2 })).toBeUndefined();
  });

  it('GIVEN a network delay THEN it needs netem: refused on a kernel without it, taken in a guest lab whose kernel has the module; loss and partition never are', () => {
    const delay = { at: 0, action: 'network', target: 'pod', delay: 50, duration: 1000 } as const;
    const netem = kernelHasNetem();
    if (netem === false) expect(labFaults(lab('iptables')).unsupported(delay)).toMatch(/no netem qdisc \(CONFIG_NET_SCH_NETEM is not set\).*loss and partition work/);
    if (netem === true) expect(labFaults(lab('iptables')).unsupported(delay)).toBeUndefined();
    // The guest boots the newest Debian kernel installed for it; Debian builds netem as a module.
    const guestKernel = findGuestKernel();
    if (guestKernel) {
      const hasModule = ['sch_netem.ko', 'sch_netem.ko.xz', 'sch_netem.ko.zst'].some((f) => existsSync(join(guestKernel.modulesDir, 'kernel/net/sched', f)));
      if (hasModule) expect(labFaults(lab('ipvs', true)).unsupported(delay)).toBeUndefined();
      else expect(labFaults(lab('ipvs', true)).unsupported(delay)).toMatch(new RegExp(`guest kernel ${guestKernel.release} has no netem qdisc module`));
    }
    expect(labFaults(lab('iptables')).unsupported({ at: 0, action: 'network', target: 'node', node: 1, loss: 20, duration: 1000 })).toBeUndefined();
  });
});
