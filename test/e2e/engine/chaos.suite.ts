import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LabInfo } from '../../../harness/lab/lab.ts';
import type { Report, RunReport } from '../../../harness/report/model.ts';
import type { ServerRuntime } from '../../../harness/workloads/runtime.ts';
import { declaredSharedLab, useSharedLab } from '../../support/shared-lab.ts';

function kth(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['harness/bin/kth.mjs', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('close', (code) => resolve({ code, stderr }));
  });
}

const kinds = (run: RunReport, kind: string) => run.timeline.filter((entry) => entry.kind === kind);

/** Runs a built-in scenario (it must pass: exit 0) on a lab that is up, into a temporary directory; returns its report and removes the directory. */
async function passingRun(scenario: string, timeScale: string, lab: LabInfo, runtime: ServerRuntime | undefined): Promise<Report> {
  const out = await mkdtemp(join(tmpdir(), 'kth-e2e-chaos-'));
  try {
    const result = await kth(['run', scenario, '--time-scale', timeScale, '--proxy-mode', lab.spec.proxyMode, '--cluster', lab.spec.name, ...(runtime ? ['--runtime', runtime] : []), '--out', out]);
    if (result.code !== 0) throw new Error(`kth run exited ${result.code}:\n${result.stderr}`);
    const [dir] = await readdir(out);
    return JSON.parse(await readFile(join(out, dir!, 'report.json'), 'utf8')) as Report;
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/**
 * The same failure modes whichever data plane carries the traffic: kube-proxy's iptables rules or
 * Cilium's BPF maps. Both scenarios run on the mode's shared lab (--cluster: each run in its own
 * namespace); one file per mode (chaos.<mode>.test.ts), each with a sample server runtime of its
 * own (`runtime`: the scenario's Node.js servers unless given), so both runtimes go through both.
 */
export function chaosSuite(options: { runtime?: ServerRuntime } = {}): void {
  const mode = declaredSharedLab().proxyMode;
  const { runtime } = options;
  describe(`chaos on the embedded lab in ${mode} mode${runtime ? ` (--runtime ${runtime})` : ''}`, () => {
    const sharedLab = useSharedLab();
    let lab: LabInfo;
    beforeAll(() => {
      lab = sharedLab();
    });

    describe('the rollout-prestop scenario', () => {
      let report: Report;
      beforeAll(async () => {
        // 0.3: a rollout replaces 3 pods one by one, and each new pod takes seconds to start whatever the
        // scale (a Cilium endpoint's BPF programs are loaded at pod start): the run must outlast the rollout.
        report = await passingRun('scenarios/rollout-prestop.ts', '0.3', lab, runtime);
      }, 300_000);

      it('GIVEN a rollout restart under load THEN each run\'s timeline shows the restart and every pod swap as the EndpointSlices saw it', () => {
        for (const run of report.runs) {
          expect(kinds(run, 'chaos-end').map((entry) => entry.detail)).toEqual(['rollout restart of web']);
          // 3 replicas replaced one by one: 3 new pods became ready, 3 old ones left.
          expect(kinds(run, 'endpoint-ready')).toHaveLength(3);
          expect(kinds(run, 'endpoint-removed')).toHaveLength(3);
          const restartAt = kinds(run, 'chaos-start')[0]!.t;
          for (const entry of [...kinds(run, 'endpoint-ready'), ...kinds(run, 'endpoint-removed')]) expect(entry.t).toBeGreaterThan(restartAt);
        }
      });

      it('GIVEN no preStop THEN the rollout fails requests; GIVEN a preStop sleep THEN none fails, because old pods kept serving after they left the endpoints', () => {
        const [plain, prestop] = report.runs;
        expect(plain).toMatchObject({ variant: 'no-prestop', status: 'passed' });
        expect(plain!.errors!.total).toBeGreaterThan(0);
        expect(prestop).toMatchObject({ variant: 'prestop-sleep', status: 'passed' });
        expect(prestop!.errors!.total).toBe(0);
        const removed = prestop!.propagation!.filter((lag) => lag.change === 'removed');
        expect(removed).toHaveLength(3);
        if (mode === 'iptables') {
          // kube-proxy (min-sync-period 0) rewrites the rules as soon as its own watch sees the slice
          // change, which can be a few ms before the harness's watch does: one old pod's last request
          // landed 7 ms "before" its removal in a CI run. Each lag is within that race and one request
          // interval of the removal, and kube-proxy still sent old pods traffic after their removal:
          // what the preStop sleep absorbed.
          for (const lag of removed) expect(lag.lagMs).toBeGreaterThan(-500);
          expect(prestop!.metrics!.trafficAfterRemovalMs).toBeGreaterThan(0);
        } else {
          // Cilium's agent applies a slice change within milliseconds, so an old pod's last request
          // lands at its removal as the harness's own slice watch sees it, give or take that watch's
          // delivery (measured -21 ms … +170 ms): traffic followed the endpoints, and none failed.
          for (const lag of removed) expect(Math.abs(lag.lagMs as number)).toBeLessThan(1000);
        }
        // New pods got traffic once ready: the lag is measured and bounded by the run.
        expect(prestop!.metrics!.propagationLagMs).toBeGreaterThan(0);
        expect(prestop!.metrics!.propagationLagMs).toBeLessThan(12_000);
      });

      it('GIVEN pods replaced under load THEN the servers\' own counts still cross-check the clients, old pods included (their final counters read from the termination messages)', () => {
        for (const run of report.runs) {
          expect(run.server?.runtime).toBe(runtime ?? 'node');
          const check = run.crossCheck!;
          expect(check.missing).toBeUndefined();
          // 3 old pods (gone by the end) and 3 new ones, every one with its own count.
          expect(check.rows).toHaveLength(6);
          for (const row of check.rows) expect(row.server).not.toBeNull();
          // A request the servers counted but whose answer was lost is a failed request: within the errors.
          expect(Math.abs(run.totals!.serverCounted! - run.totals!.attributed)).toBeLessThanOrEqual(run.errors!.total);
        }
        const prestop = report.runs.find((run) => run.variant === 'prestop-sleep')!;
        expect(prestop.crossCheck!.agree).toBe(true);
        expect(prestop.totals!.serverCounted).toBe(prestop.totals!.attributed);
      });
    });

    describe('the scale-out-rebalance scenario', () => {
      let report: Report;
      beforeAll(async () => {
        // New pods take ~3 s to start whatever the time scale: 0.4 leaves them time to be reached.
        report = await passingRun('scenarios/scale-out-rebalance.ts', '0.4', lab, runtime);
      }, 300_000);

      it('GIVEN 3 → 6 replicas under 30 held connections THEN the 3 new pods get nothing: the report counts them with 0 and never sees a rebalance', () => {
        const run = report.runs.find((r) => r.variant === 'persistent')!;
        expect(kinds(run, 'chaos-end').map((entry) => entry.detail)).toEqual(['scaled web to 6 replicas']);
        expect(kinds(run, 'endpoint-ready')).toHaveLength(3);
        expect(run.pods).toHaveLength(6);
        expect(run.pods!.filter((pod) => pod.requests === 0)).toHaveLength(3);
        expect(run.metrics!.rebalanceSeconds).toBeNull();
        // Nothing reconnected: the 30 connections of the start carried every request.
        expect(run.pods!.reduce((sum, pod) => sum + pod.connections, 0)).toBe(30);
      });

      it('GIVEN connections recycled by the server or by the client THEN every new pod reaches its share, and the report says how soon', () => {
        for (const variant of ['server-max-requests', 'client-max-age']) {
          const run = report.runs.find((r) => r.variant === variant)!;
          expect(run.status).toBe('passed');
          expect(run.pods).toHaveLength(6);
          for (const pod of run.pods!) expect(pod.requests).toBeGreaterThan(0);
          expect(run.metrics!.rebalanceSeconds).toBeGreaterThan(0);
          expect(run.errors!.total).toBe(0);
        }
      });

      it('GIVEN a scale-out under load THEN every run cross-checks exactly against the servers\' own counts, the new pods included', () => {
        for (const run of report.runs) {
          expect(run.server?.runtime).toBe(runtime ?? 'node');
          expect(run.crossCheck).toMatchObject({ agree: true });
          expect(run.crossCheck!.rows).toHaveLength(6);
          expect(run.totals!.serverCounted).toBe(run.totals!.attributed);
        }
      });
    });
  });
}
