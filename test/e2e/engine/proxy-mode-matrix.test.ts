import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../../../harness/report/model.ts';
import { ipvsCapability } from '../../../harness/setup/host-capabilities.ts';

/**
 * The comparison users run the harness for: the built-in proxy-mode-matrix scenario, every data
 * plane this host can run side by side in one report — kube-proxy iptables, nftables (and ipvs
 * where the kernel has IP_VS), and Cilium's eBPF kube-proxy replacement.
 */
describe('proxy-mode-matrix: iptables, nftables, ipvs and cilium in one report', () => {
  let report: Report;
  let summary: string;
  let stderr = '';
  let code: number | null;

  beforeAll(async () => {
    const out = await mkdtemp(join(tmpdir(), 'kth-e2e-matrix-'));
    try {
      // 0.5: the scale-out variant's new pods need ~3 s to start, whatever the time scale.
      code = await new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, ['harness/bin/kth.mjs', 'run', 'scenarios/proxy-mode-matrix.ts', '--time-scale', '0.5', '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.once('close', resolve);
      });
      const [dir] = await readdir(out);
      report = JSON.parse(await readFile(join(out, dir!, 'report.json'), 'utf8')) as Report;
      summary = await readFile(join(out, dir!, 'summary.md'), 'utf8');
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 900_000);

  const runsOf = (mode: string) => report.runs.filter((run) => run.proxyMode === mode);

  it('GIVEN this host WHEN the matrix runs THEN every mode it can run passes, and ipvs is run or reported unsupported with the kernel\'s reason', () => {
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    for (const mode of ['iptables', 'nftables', 'cilium']) {
      expect(runsOf(mode).map((run) => [run.variant, run.status])).toEqual([['steady', 'passed'], ['scale-out', 'passed']]);
    }
    const ipvs = runsOf('ipvs');
    if (ipvsCapability().available) for (const run of ipvs) expect(run.status).toBe('passed');
    else for (const run of ipvs) expect(run).toMatchObject({ status: 'unsupported', reason: expect.stringMatching(/IP_VS/) });
  });

  it('GIVEN the steady variant THEN each data plane spread 4 pods fairly (χ² over requests) and the clients agree with the servers', () => {
    for (const mode of ['iptables', 'nftables', 'cilium']) {
      const [steady] = runsOf(mode);
      expect(steady!.pods).toHaveLength(4);
      expect(steady!.metrics!.chiSquareP).toBeGreaterThanOrEqual(0.001);
      expect(steady!.crossCheck!.agree).toBe(true);
      expect(steady!.totals!.serverCounted).toBe(steady!.totals!.attributed);
    }
  });

  it('GIVEN the scale-out variant THEN each mode reports how soon its data plane sent traffic to each new pod', () => {
    for (const mode of ['iptables', 'nftables', 'cilium']) {
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
    const cilium = runsOf('cilium')[0]!.dataplane!;
    expect(cilium).toMatchObject({ implementation: 'cilium', version: '1.20.2', options: { socketLb: 'hostns-only', lbAlgorithm: 'random', nodePortMode: 'snat' } });
    expect(cilium.features).toMatchObject({ kubeProxyReplacement: 'True', socketLB: true, nodePortMode: 'SNAT', lbAlgorithm: 'Random' });
    expect(summary).toMatch(/\*\*Data plane:\*\* cilium 1\.20\.2/);
  });
});
