/** @lab iptables/3 */
import { ManagedByLabel, managedByValue } from '../../../manifests/names.ts';
import type { LabInfo } from '../../../harness/lab/lab.ts';
import { connect } from '../../../harness/kube/cluster.ts';
import { failures, kthRun } from '../../support/kth-run.ts';
import { useSharedLab } from '../../support/shared-lab.ts';

/**
 * Issue 14's acceptance: every built-in scenario passes with the Go sample servers (`--runtime go`)
 * on the lab, end to end. proxy-mode-matrix runs with --runtime go in its own e2e file (every data
 * plane, the guest kernel's included), scale-out-rebalance and rollout-prestop in chaos.iptables.test.ts
 * (their timelines checked too); the rest run here in iptables mode, shortened by --time-scale,
 * all on one 3-node lab that was up before them (`kth run --cluster`), each in namespaces of its own.
 */
describe('built-in scenarios with the Go sample servers (--runtime go)', () => {
  const sharedLab = useSharedLab();
  let lab: LabInfo;
  beforeAll(() => {
    lab = sharedLab();
  });

  // scale-out-rebalance and rollout-prestop run with --runtime go in chaos.iptables.test.ts, which
  // checks their timelines besides their checks.
  it.each([
    ['keepalive-imbalance', 'http', '0.2'],
    ['grpc-multiplex', 'grpc', '0.2'],
    ['max-connection-age-sweep', 'grpc', '0.2'],
    ['pod-kill', 'http', '0.2'],
    ['external-traffic-policy', 'http', '0.2'],
  ] as const)(
    'GIVEN %s WHEN run with --runtime go THEN every check passes and the report names the Go server',
    async (name, kind, timeScale) => {
      const { code, stderr, report } = await kthRun(`scenarios/${name}.ts`, ['--runtime', 'go', '--time-scale', timeScale, '--proxy-mode', 'iptables', '--cluster', lab.spec.name]);
      expect({ code, failed: failures(report), stderr: code === 0 ? '' : stderr.slice(-4000) }).toEqual({ code: 0, failed: [], stderr: '' });
      for (const run of report.runs) {
        expect(run.server).toEqual({ kind, runtime: 'go', implementation: kind === 'grpc' ? 'grpc-go' : 'net/http (Go)' });
      }
      if (name === 'external-traffic-policy') {
        // The load balancer's own view: every Ready node under Cluster; under Local the node without a pod is skipped by its health check.
        const receiving = (variant: string) => report.runs.find((run) => run.variant === variant)!.loadBalancer!.nodes.map((node) => [node.node.replace(/^.*-node-/, 'node-'), node.receives]);
        expect(receiving('cluster')).toEqual([['node-1', true], ['node-2', true], ['node-3', true]]);
        expect(receiving('local')).toEqual([['node-1', true], ['node-2', true], ['node-3', false]]);
      }
    },
    600_000,
  );

  it('GIVEN max-connection-age-runtimes as written THEN grpc-js and grpc-go servers, and the h2, grpc-js and k6 clients, each rebalance without a failed call, and every run says which server and how many GOAWAYs its clients got', async () => {
    // 0.5: the 2 s age becomes 1 s, and the new Node.js pods (~1 s to start) have 11 s after the scale-out.
    const { code, stderr, report } = await kthRun('scenarios/max-connection-age-runtimes.ts', ['--time-scale', '0.5', '--cluster', lab.spec.name]);
    expect({ code, failed: failures(report), stderr: code === 0 ? '' : stderr.slice(-4000) }).toEqual({ code: 0, failed: [], stderr: '' });
    expect(report.runs.map((run) => [run.variant, run.server?.implementation])).toEqual([
      ['grpc-js-server', 'grpc-js (Node.js)'],
      ['grpc-go-server', 'grpc-go'],
      ['grpc-js-client', 'grpc-go'],
      ['k6-client', 'grpc-go'],
    ]);
    // A 2 s age (1 s at this time scale) on 30 channels: the clients were told to go away many
    // times; k6 does not say (no count rather than a false 0).
    for (const run of report.runs) {
      if (run.variant === 'k6-client') expect(run.metrics?.goaways).toBeUndefined();
      else expect(run.metrics?.goaways).toBeGreaterThan(30);
    }
    // The h2 client reads GOAWAY frames; grpc-js hides them, so its count is inferred.
    expect(report.runs.find((run) => run.variant === 'grpc-go-server')?.metrics?.goawaysInferred).toBe(0);
  }, 900_000);

  it('GIVEN the runs above on one lab THEN none of their namespaces is left, the lab is still up, and a scenario it does not fit is refused with exit 2', async () => {
    const namespaces = await connect(lab.kubeconfig).core.listNamespace({ labelSelector: `${ManagedByLabel}=${managedByValue}` });
    expect(namespaces.items.filter((ns) => !ns.metadata?.deletionTimestamp).map((ns) => ns.metadata?.name)).toEqual([]);
    expect((await connect(lab.kubeconfig).core.listNode()).items).toHaveLength(3);
    const refused = await kthRun('scenarios/keepalive-imbalance.ts', ['--cluster', lab.spec.name, '--proxy-mode', 'nftables']).catch((error: Error) => error.message);
    expect(refused).toMatch(/exit 2\)[\s\S]*--proxy-mode nftables: lab \S+ runs iptables/);
  }, 120_000);
});
