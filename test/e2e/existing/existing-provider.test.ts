/** @lab iptables/2 */
import { jest } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, parse, stringify } from 'yaml';
import { hostLabelValue, ownerHostLabel, ownerPidLabel } from '../../../harness/engine/providers/run-namespaces.ts';
import { apply, type Cluster, connect, ensureNamespace } from '../../../harness/kube/cluster.ts';
import type { LabInfo } from '../../../harness/lab/lab.ts';
import { ManagedByLabel, managedByValue } from '../../../manifests/names.ts';
import { failures, kthRun } from '../../support/kth-run.ts';
import { serviceAccountKubeconfig } from '../../support/service-account-kubeconfig.ts';
import { useSharedLab } from '../../support/shared-lab.ts';

/**
 * `--provider existing` against a lab used as somebody else's cluster: reached only through a
 * kubeconfig, as a ServiceAccount with exactly the rights `kth existing rbac` grants, its results
 * coming back through pod logs. The run must pass, create only its namespaces, and remove them.
 */
jest.setTimeout(600_000);

function kth(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['harness/bin/kth.mjs', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - started }));
  });
}

const namespaces = async (cluster: Cluster) => (await cluster.core.listNamespace()).items.filter((ns) => !ns.metadata?.deletionTimestamp).map((ns) => ns.metadata?.name as string).sort();

async function gone(cluster: Cluster, name: string, timeoutMs = 60_000): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
    if (!(await cluster.core.listNamespace()).items.some((ns) => ns.metadata?.name === name)) return true;
  }
  return false;
}

describe('kth run --provider existing on a lab reached only through a kubeconfig', () => {
  const sharedLab = useSharedLab();
  let lab: LabInfo;
  let cluster: Cluster;
  let dir: string;
  let limited: string;
  let before: string[];

  beforeAll(async () => {
    lab = sharedLab();
    cluster = connect(lab.kubeconfig);
    dir = await mkdtemp(join(tmpdir(), 'kth-existing-'));
    limited = join(dir, 'limited.kubeconfig');
    await serviceAccountKubeconfig(cluster, { name: 'kth-runner', path: limited });
    before = await namespaces(cluster);
  }, 180_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('GIVEN a context that may not create namespaces THEN exit 3 within seconds listing what is missing and the fix, creating nothing', async () => {
    const result = await kth(['run', 'scenarios/keepalive-imbalance.ts', '--provider', 'existing', '--kubeconfig', limited, '--time-scale', '0.2', '--out', dir]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('may not do what the run needs');
    expect(result.stderr).toMatch(/create namespaces/);
    expect(result.stderr).toMatch(/get pods\/log in the run's namespace/);
    expect(result.stderr).toContain('kth existing rbac');
    expect(result.ms).toBeLessThan(15_000);
    expect(await namespaces(cluster)).toEqual(before);
  });

  it('GIVEN a wrong context, a missing kubeconfig or an API server that does not answer THEN exit 2 or 3 within seconds with the fix', async () => {
    const wrongContext = await kth(['run', 'scenarios/keepalive-imbalance.ts', '--provider', 'existing', '--kubeconfig', limited, '--context', 'nope']);
    expect([wrongContext.code, wrongContext.stderr]).toEqual([2, expect.stringContaining("context 'nope' is not in")]);
    expect(wrongContext.stderr).toContain('kth-runner@lab');
    const missing = await kth(['run', 'scenarios/keepalive-imbalance.ts', '--provider', 'existing', '--kubeconfig', join(dir, 'none')]);
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringContaining('does not exist')]);
    // Nothing listens on port 1 of this host's loopback: the API server "does not answer".
    const config = parse(await readFile(limited, 'utf8')) as { clusters: { cluster: { server: string } }[] };
    config.clusters[0]!.cluster.server = 'https://127.0.0.1:1';
    await writeFile(join(dir, 'down.kubeconfig'), stringify(config));
    const down = await kth(['run', 'scenarios/keepalive-imbalance.ts', '--provider', 'existing', '--kubeconfig', join(dir, 'down.kubeconfig')]);
    expect([down.code, down.stderr]).toEqual([3, expect.stringContaining('cannot be reached')]);
    expect(down.ms).toBeLessThan(15_000);
    const lab = await kth(['run', 'scenarios/keepalive-imbalance.ts', '--kubeconfig', limited]);
    expect([lab.code, lab.stderr]).toEqual([2, expect.stringContaining('--kubeconfig only apply with --provider existing')]);
  });

  it('GIVEN a proxy mode the cluster does not run THEN exit 2 naming both and --proxy-mode detected', async () => {
    const result = await kth(['run', 'scenarios/keepalive-imbalance.ts', '--provider', 'existing', '--kubeconfig', lab.kubeconfig, '--proxy-mode', 'nftables']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('the cluster runs iptables (kube-system/kube-proxy ConfigMap');
    expect(result.stderr).toContain('--proxy-mode detected');
  });

  it('GIVEN --dry-run THEN every object is printed and nothing is created', async () => {
    const result = await kth(['run', 'scenarios/keepalive-imbalance.ts', '--provider', 'existing', '--dry-run', '--image-prefix', 'registry.example/team']);
    expect(result.code).toBe(0);
    const objects = parseAllDocuments(result.stdout).map((doc) => doc.toJS() as { kind: string; spec?: { template?: { spec: { containers: { image: string }[] } } } } | null).filter((o) => o !== null);
    expect(objects.filter((o) => o.kind === 'Namespace')).toHaveLength(3);
    expect(objects.find((o) => o.kind === 'Deployment')!.spec!.template!.spec.containers[0]!.image).toMatch(/^registry\.example\/team\/kube-traffic-harness\/http-server:/);
    expect(await namespaces(cluster)).toEqual(before);
  });

  it('GIVEN the rights `kth existing rbac` prints THEN keepalive-imbalance passes as that ServiceAccount, counts cross-check through pod logs, and only its namespaces came and went (a crashed run\'s too)', async () => {
    const rbac = await kth(['existing', 'rbac', '--service-account', 'default/kth-runner']);
    expect(rbac.code).toBe(0);
    await apply(cluster, parseAllDocuments(rbac.stdout).map((doc) => doc.toJS()).filter(Boolean));
    // A namespace a crashed run on this host left: its owner pid is a process that has exited.
    const dead = spawnSync('true').pid;
    await ensureNamespace(cluster, 'kth-crashed-run', { [ManagedByLabel]: managedByValue, [ownerHostLabel]: hostLabelValue(), [ownerPidLabel]: String(dead) });

    const { code, stderr, report } = await kthRun('scenarios/keepalive-imbalance.ts', ['--provider', 'existing', '--kubeconfig', limited, '--time-scale', '0.2']);
    expect(failures(report)).toEqual([]);
    expect(code).toBe(0);
    expect(stderr).toContain('removed namespace kth-crashed-run');
    expect(report.environment).toMatchObject({ provider: 'existing', cluster: { context: 'kth-runner@lab', nodes: 2, proxyMode: { mode: 'iptables' } } });
    for (const run of report.runs) {
      expect(run.crossCheck?.agree).toBe(true);
      expect(run.totals?.serverCounted).toBe(run.totals?.attributed);
      expect(run.series.length).toBeGreaterThan(0);
    }
    // Its namespaces were made and removed, by name in the log; nothing else changed.
    const made = [...stderr.matchAll(/namespace (kth-[a-z0-9-]+) deleted/g)].map((m) => m[1] as string);
    expect(made).toHaveLength(3);
    for (const name of [...made, 'kth-crashed-run']) expect(await gone(cluster, name)).toBe(true);
    expect(await namespaces(cluster)).toEqual(before);
  });

  it('GIVEN a load with a generator per node on this 2-node cluster (the scenario says 3 nodes) THEN one load pod on each node, started together on one clock, and their merged counts equal the servers\' own', async () => {
    const { code, stderr, report } = await kthRun('test/e2e/engine/fixtures/generators-per-node.ts', ['--provider', 'existing', '--kubeconfig', limited, '--time-scale', '0.5']);
    expect(failures(report)).toEqual([]);
    expect(code).toBe(0);
    const run = report.runs[0]!;
    expect(run.generators!.map((row) => row.status)).toEqual(['ok', 'ok']);
    expect(new Set(run.generators!.map((row) => row.node)).size).toBe(2);
    // Started ahead (pods take seconds), all told one time: each began within a second of it, by
    // its own clock and on the reference pod's (measured through the relay pods; one host clock here).
    for (const row of run.generators!) {
      expect(Math.abs(row.startedLateMs!)).toBeLessThan(1000);
      expect(Math.abs(row.clock!.offsetMs!)).toBeLessThanOrEqual(row.clock!.uncertaintyMs!);
      expect(row.clock!.startAfterFirstMs!).toBeLessThan(1000);
    }
    expect(run.totals!.requests).toBe(run.generators!.reduce((sum, row) => sum + row.requests, 0));
    expect(run.crossCheck?.agree).toBe(true);
    expect(run.totals!.serverCounted).toBe(run.totals!.attributed);
    expect(stderr).toMatch(/namespace kth-default-[a-z0-9]+ deleted/);
  });
});
