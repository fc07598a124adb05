/** @lab iptables/2 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connect, ensureNamespace } from '../../../harness/kube/cluster.ts';
import type { LabInfo } from '../../../harness/lab/lab.ts';
import { labNames } from '../../../harness/lab/names.ts';
import { inNetns, podNetns, startClientPod } from '../../support/lab-workloads.ts';
import { useSharedLab } from '../../support/shared-lab.ts';

const exec = promisify(execFile);

// 203.0.113.1 is TEST-NET-3 (RFC 5737, documentation only). The packet must die in the pod's node
// namespace: it never reaches the host's namespace, let alone its uplink.
const OUTSIDE = '203.0.113.1';

describe('lab isolation', () => {
  const sharedLab = useSharedLab();
  let lab: LabInfo;
  beforeAll(() => {
    lab = sharedLab();
  });

  it('THEN no lab namespace has a default route, and the host has no route into the lab range', async () => {
    const names = labNames(lab.spec.name);
    for (const netns of [names.netns('cp'), names.netns('lb'), names.netns('client'), names.netns('sw'), names.nodeNetns(1), names.nodeNetns(2)]) {
      expect(await inNetns(netns, ['ip', 'route', 'show', 'default'])).toBe('');
    }
    const { stdout: hostRoutes } = await exec('ip', ['route', 'show']);
    expect(hostRoutes).not.toMatch(/^198\.1[89]\./m);
  }, 30_000);

  it('GIVEN a pod WHEN it sends to a non-lab address THEN its node answers unreachable and nothing leaves', async () => {
    const cluster = connect(lab.kubeconfig);
    await ensureNamespace(cluster, 'iso');
    const pod = await startClientPod(cluster, 'iso', 'prober');
    const netns = podNetns(lab.spec.name, pod);
    // The pod's only way out is its node; the node has no route for it.
    const node = labNames(lab.spec.name).nodeNetns(Number(/-node-(\d+)$/.exec(pod.spec?.nodeName ?? '')?.[1]));
    const nodeRoute = await exec('ip', ['netns', 'exec', node, 'ip', 'route', 'get', OUTSIDE]).then(() => 'routed', (e: { stderr: string }) => e.stderr);
    expect(nodeRoute).toMatch(/unreachable/i);
    const script = `const s=require('net').connect({host:'${OUTSIDE}',port:80,timeout:3000});s.on('connect',()=>{console.log('connected');process.exit(0)});s.on('timeout',()=>{console.log('timeout');process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(0)})`;
    const outcome = (await inNetns(netns, [process.execPath, '-e', script])).trim();
    expect(['EHOSTUNREACH', 'ENETUNREACH']).toContain(outcome);
  }, 60_000);
});
