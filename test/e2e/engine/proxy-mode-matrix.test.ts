import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../../../harness/report/model.ts';
import { labUnsupported } from '../../../harness/engine/providers/lab.ts';
import { ipvsCapability } from '../../../harness/setup/host-capabilities.ts';

/**
 * The comparison users run the harness for: the built-in proxy-mode-matrix scenario, every data
 * plane side by side in one report — kube-proxy iptables, nftables and ipvs (in a guest kernel
 * where the host has no IP_VS, as here), and Cilium's eBPF kube-proxy replacement.
 */
describe('proxy-mode-matrix: iptables, nftables, ipvs and cilium in one report', () => {
  let report: Report;
  let summary: string;
  let stderr = '';
  let code: number | null;

  beforeAll(async () => {
    const out = await mkdtemp(join(tmpdir(), 'kth-e2e-matrix-'));
    try {
      // 0.5: the scale-out variant's new pods need time to start, whatever the time scale. The Go
      // servers (--runtime go) start in well under a second on the host and in seconds in the
      // emulated guest, where Node.js pods took 10–20 s: what lets the guest's scale-out be measured.
      code = await new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, ['harness/bin/kth.mjs', 'run', 'scenarios/proxy-mode-matrix.ts', '--time-scale', '0.5', '--runtime', 'go', '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.once('close', resolve);
      });
      const [dir] = await readdir(out);
      report = JSON.parse(await readFile(join(out, dir!, 'report.json'), 'utf8')) as Report;
      summary = await readFile(join(out, dir!, 'summary.md'), 'utf8');
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 1_800_000);

  const runsOf = (mode: string) => report.runs.filter((run) => run.proxyMode === mode);

  const emulatedIpvs = !ipvsCapability().available;

  it('GIVEN this host WHEN the matrix runs THEN all four data planes run side by side and pass; no mode is unsupported', async () => {
    expect(await labUnsupported('ipvs')).toBeUndefined();
    for (const mode of ['iptables', 'nftables', 'cilium']) {
      expect(runsOf(mode).map((run) => [run.variant, run.status])).toEqual([['steady', 'passed'], ['scale-out', 'passed']]);
    }
    expect(runsOf('ipvs')[0]!.status).toBe('passed');
    const scaleOut = runsOf('ipvs')[1]!;
    if (!emulatedIpvs) {
      expect(scaleOut.status).toBe('passed');
      expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
      return;
    }
    // Under emulation the new Node.js pods take longer to turn ready than the 7.5 s window at
    // time scale 0.5: the run completes, attributes every response, has no errors, and the
    // propagation check says it could not measure rather than inventing a number. (A run whose
    // pods change has no server cross-check, in any mode.)
    expect(scaleOut.status).not.toBe('error');
    expect(scaleOut.totals!.attributed).toBe(scaleOut.totals!.requests);
    expect(scaleOut.errors!.total).toBe(0);
    for (const check of scaleOut.checks.filter((c) => !c.pass)) expect({ name: check.name, value: check.value }).toEqual({ name: 'new pods get traffic within 5 s', value: null });
    expect(code === 0 || (code === 1 && scaleOut.status === 'failed')).toBe(true);
  });

  it('GIVEN ipvs on a host without IP_VS THEN its runs say they ran in an emulated guest kernel, and every view marks their timings', () => {
    const ipvs = runsOf('ipvs')[0]!;
    if (ipvsCapability().available) {
      expect(ipvs.dataplane?.kernel).toMatchObject({ where: 'host' });
      return;
    }
    expect(ipvs.dataplane?.kernel).toMatchObject({ where: 'guest', release: expect.stringMatching(/-amd64$/), package: expect.stringMatching(/^linux-image-/) });
    expect(runsOf('iptables')[0]!.dataplane?.kernel).toMatchObject({ where: 'host' });
    expect(report.environment.guestKernels).toEqual([expect.stringMatching(/^ipvs: guest .*-amd64/)]);
    expect(summary).toMatch(/\*\*Guest kernels:\*\* ipvs: guest/);
    expect(summary).toMatch(/\| kernel \|.*guest .*-amd64, emulated/);
    if (ipvs.latencyMs) expect(summary).toMatch(/\| p99 \|.*\(emulated\)/);
  });

  it('GIVEN the steady variant THEN each data plane spread 4 pods fairly (χ² over requests) and the clients agree with the servers', () => {
    for (const mode of ['iptables', 'nftables', 'ipvs', 'cilium']) {
      const [steady] = runsOf(mode);
      expect(steady!.server).toEqual({ kind: 'http', runtime: 'go', implementation: 'net/http (Go)' });
      expect(steady!.pods).toHaveLength(4);
      expect(steady!.metrics!.chiSquareP).toBeGreaterThanOrEqual(0.001);
      expect(steady!.crossCheck!.agree).toBe(true);
      expect(steady!.totals!.serverCounted).toBe(steady!.totals!.attributed);
    }
  });

  it('GIVEN the scale-out variant THEN each mode reports how soon its data plane sent traffic to each new pod', () => {
    for (const mode of emulatedIpvs ? ['iptables', 'nftables', 'cilium'] : ['iptables', 'nftables', 'ipvs', 'cilium']) {
      const scaleOut = runsOf(mode)[1]!;
      const added = scaleOut.propagation!.filter((lag) => lag.change === 'added');
      expect(added).toHaveLength(2);
      for (const lag of added) expect(lag.lagMs).toEqual(expect.any(Number));
      expect(scaleOut.metrics!.propagationLagMs).toBeLessThanOrEqual(5000);
    }
    expect(summary).toMatch(/\| new pod → traffic \|/);
  });

  it('GIVEN each run THEN the report records its data plane: kube-proxy with its mode, Cilium with its version, options and the kernel features it enabled', () => {
    for (const mode of ['iptables', 'nftables']) expect(runsOf(mode)[0]!.dataplane).toMatchObject({ implementation: 'kube-proxy', options: { mode } });
    expect(runsOf('ipvs')[0]!.dataplane).toMatchObject({ implementation: 'kube-proxy', options: { mode: 'ipvs', scheduler: 'rr' } });
    const cilium = runsOf('cilium')[0]!.dataplane!;
    expect(cilium).toMatchObject({ implementation: 'cilium', version: '1.20.2', options: { socketLb: 'hostns-only', lbAlgorithm: 'random', nodePortMode: 'snat' } });
    expect(cilium.features).toMatchObject({ kubeProxyReplacement: 'True', socketLB: true, nodePortMode: 'SNAT', lbAlgorithm: 'Random' });
    expect(summary).toMatch(/\*\*Data plane:\*\* cilium 1\.20\.2/);
  });
});
