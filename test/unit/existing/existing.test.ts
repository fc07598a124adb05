import { describe, expect, it } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import { clientNodes, generatorRow, startsOnOneClock } from '../../../harness/engine/generators.ts';
import { estimateOffset } from '../../../harness/load/clock-offset.ts';
import { generatorTable } from '../../../harness/report/view.ts';
import { existingChaosUnsupported } from '../../../harness/engine/providers/existing.ts';
import { hostLabelValue } from '../../../harness/engine/providers/run-namespaces.ts';
import { relayPod } from '../../../harness/engine/providers/relay-pod.ts';
import { cloudOf, type ClusterFacts } from '../../../harness/existing/facts.ts';
import { ciliumReplacesKubeProxy } from '../../../harness/inspect/proxy-mode.ts';
import { rbacManifest, requiredPermissions } from '../../../harness/existing/permissions.ts';
import { existingProxyModes } from '../../../harness/existing/session.ts';
import { parseRelayFrame, relayFrame } from '../../../harness/load/relay.ts';
import { HarnessError } from '../../../harness/core/errors.ts';

const facts = (mode: string): ClusterFacts => ({ context: 'c', server: 's', kubernetesVersion: 'v1', nodes: 3, proxyMode: { mode, source: 'kube-system/kube-proxy ConfigMap' } });

describe('what an existing cluster is', () => {
  it('GIVEN cilium-config and node hints THEN kube-proxy replacement and the cloud are read', () => {
    expect(ciliumReplacesKubeProxy({ data: { 'kube-proxy-replacement': 'true' } })).toBe(true);
    expect(ciliumReplacesKubeProxy({ data: { 'kube-proxy-replacement': 'false' } })).toBe(false);
    expect(ciliumReplacesKubeProxy(undefined)).toBe(false);
    expect(cloudOf([{ spec: { providerID: 'aws:///eu-west-1a/i-0abc' } }])).toBe('AWS');
    expect(cloudOf([{ metadata: { labels: { 'cloud.google.com/gke-nodepool': 'default' } } }])).toBe('Google Cloud (GKE)');
    expect(cloudOf([{ metadata: { labels: {} } }])).toBeUndefined();
  });

  it('GIVEN the cluster\'s mode THEN the runs take it; another mode is refused naming both; an unknown one must be stated', () => {
    expect(existingProxyModes(facts('ipvs'), 'detected', ['iptables'])).toEqual(['ipvs']);
    expect(existingProxyModes(facts('iptables'), undefined, ['iptables', 'nftables'])).toEqual(['iptables']);
    expect(() => existingProxyModes(facts('ipvs'), undefined, ['iptables', 'nftables'])).toThrow(/runs in iptables, nftables, but the cluster runs ipvs/);
    expect(() => existingProxyModes(facts('unknown'), 'detected', ['iptables'])).toThrow(HarnessError);
    const stated = facts('unknown');
    expect(existingProxyModes(stated, ['nftables'], ['iptables'])).toEqual(['nftables']);
    expect(stated.proxyMode.source).toMatch(/^stated by --proxy-mode/);
  });
});

describe('chaos on a cluster you do not own', () => {
  it('GIVEN namespace-scoped actions THEN they run; node drains need --allow-cluster-chaos; node and process faults are refused with the reason', () => {
    expect(existingChaosUnsupported([{ at: 1, action: 'rollout-restart' }, { at: 1, action: 'scale', replicas: 2 }, { at: 1, action: 'delete-pod' }], false)).toBeUndefined();
    expect(existingChaosUnsupported([{ at: 1, action: 'node-drain', node: 1 }], false)).toMatch(/--allow-cluster-chaos/);
    expect(existingChaosUnsupported([{ at: 1, action: 'node-drain', node: 1 }], true)).toBeUndefined();
    expect(existingChaosUnsupported([{ at: 1, action: 'kill-process' }], true)).toMatch(/exec/);
    expect(existingChaosUnsupported([{ at: 1, action: 'node-down', node: 1 }], true)).toMatch(/only the lab has/);
  });

  it('GIVEN a host name THEN its label value is a valid label', () => {
    expect(hostLabelValue('My_Laptop.local')).toBe('my-laptop.local');
    expect(hostLabelValue('-x-'.repeat(40))).toMatch(/^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/);
  });
});

describe('kth existing rbac', () => {
  it('GIVEN a subject THEN one ClusterRole holds every permission the pre-flight checks, bound to it', () => {
    const [role, binding] = parseAllDocuments(rbacManifest({ kind: 'ServiceAccount', name: 'ci', namespace: 'runners' })).map((doc) => doc.toJS() as Record<string, unknown>).filter(Boolean) as [{ rules: { resources: string[]; verbs: string[] }[] }, { subjects: unknown[] }];
    expect(role.rules).toHaveLength(requiredPermissions.length);
    expect(role.rules.find((rule) => rule.resources[0] === 'pods/log')?.verbs).toEqual(['get']);
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'ci', namespace: 'runners' }]);
  });
});

describe('load pods', () => {
  it('GIVEN a load argv THEN the relay pod runs it on the client pod\'s node, after the image\'s `kth load` entrypoint', () => {
    const pod = relayPod({ name: 'kth-load-1', anchor: { metadata: { namespace: 'ns', labels: { run: 'r' } }, spec: { nodeName: 'n2', containers: [] } }, image: 'reg/kube-traffic-harness/load-driver:1', argv: ['load', 'http', '--target', 'http://x/'] });
    expect(pod.spec).toMatchObject({ nodeName: 'n2', restartPolicy: 'Never', containers: [{ image: 'reg/kube-traffic-harness/load-driver:1', args: ['relay', '--', 'http', '--target', 'http://x/'] }] });
    expect(pod.metadata?.labels).toEqual({ run: 'r', app: 'kth-load' });
    expect(() => relayPod({ name: 'x', anchor: {}, image: 'i', argv: ['serve', 'http'] })).toThrow(/kth load/);
  });

  it('GIVEN frames THEN they round-trip, and a runtime\'s own log line is not one', () => {
    const frame = { relay: 'stdout' as const, data: '{"a":1}\n' };
    expect(parseRelayFrame(relayFrame(frame).trimEnd())).toEqual(frame);
    expect(parseRelayFrame('Error: something')).toBeUndefined();
    expect(parseRelayFrame('{"relay":')).toBeUndefined();
  });

  it('GIVEN 3 generators THEN they go one per node, off faulted nodes; a lone client is unconstrained', () => {
    expect(clientNodes(['n1', 'n2', 'n3'], new Set(), 3)).toEqual(['n1', 'n2', 'n3']);
    expect(clientNodes(['n1', 'n2', 'n3'], new Set([2]), 3)).toEqual(['n1', 'n3', 'n1']);
    expect(clientNodes(['n1', 'n2', 'n3'], new Set(), 1)).toEqual([undefined]);
    expect(clientNodes(['n1', 'n2', 'n3'], new Set([1]), 1)).toEqual(['n2']);
  });

  it('GIVEN a generator that sent less than its schedule THEN it is named as behind; without a result as failed', () => {
    const summary = { totals: { requests: 900, errors: 0, dropped: 0 }, latencyMs: { p99: 5 }, load: { sent: 900 }, schedule: { sent: 900, dropped: 0 } } as never;
    expect(generatorRow({ load: 'l', index: 0, node: 'n1', durationMs: 10_000, rate: 100, summary }).status).toBe('behind');
    expect(generatorRow({ load: 'l', index: 0, node: 'n1', durationMs: 10_000, rate: 90, summary }).status).toBe('ok');
    expect(generatorRow({ load: 'l', index: 1, node: 'n2', durationMs: 10_000, rate: 90, summary: undefined, problem: 'exit 1' })).toMatchObject({ generator: 2, status: 'failed', note: 'exit 1' });
  });
});

describe('generator clocks: offsets to one server pod, starts on one clock', () => {
  it('GIVEN exchanges with the reference THEN the offset is the reference against the midpoint of the shortest round trip, ± half of it and the millisecond truncations', () => {
    // This clock 40 ms behind the reference; the second exchange queued 30 ms on the way back.
    const offset = estimateOffset('http://p/clock', [
      { sentMs: 1000, receivedMs: 1004, referenceMs: 1042 },
      { sentMs: 2000, receivedMs: 2034, referenceMs: 2042 },
      { sentMs: 3000, receivedMs: 3002, referenceMs: 3041 },
    ]);
    expect(offset).toEqual({ reference: 'http://p/clock', offsetMs: 40, rttMs: 2, uncertaintyMs: 2.5, samples: 3 });
    expect(estimateOffset('x', [])).toBeUndefined();
  });

  it('GIVEN generators whose own clocks differ THEN their starts are compared on the reference clock; one that could not measure says why and is left out', () => {
    const summary = (epochMs: number, clock: unknown) => ({ totals: { requests: 1, errors: 0, dropped: 0 }, latencyMs: { p99: 1 }, load: { sent: 1 }, startedAt: { epochMs, lateMs: 0 }, clock }) as never;
    const rows = [
      generatorRow({ load: 'l', index: 0, node: 'n1', durationMs: 1000, rate: undefined, clockReference: 'web-1', summary: summary(10_000, { reference: 'u', offsetMs: 0, rttMs: 1, uncertaintyMs: 2, samples: 8 }) }),
      // Its clock 500 ms ahead: it started at 10 495 by its clock, 9 995 on the reference's — first.
      generatorRow({ load: 'l', index: 1, node: 'n2', durationMs: 1000, rate: undefined, clockReference: 'web-1', summary: summary(10_495, { reference: 'u', offsetMs: -500, rttMs: 1, uncertaintyMs: 2, samples: 8 }) }),
      generatorRow({ load: 'l', index: 2, node: 'n3', durationMs: 1000, rate: undefined, clockReference: 'web-1', summary: summary(10_000, { reference: 'u', error: 'connect ECONNREFUSED' }) }),
    ];
    const placed = startsOnOneClock(rows, [10_000, 10_495, 10_000]);
    expect(placed.map((row) => row.clock)).toEqual([
      { reference: 'web-1', offsetMs: 0, uncertaintyMs: 2, startAfterFirstMs: 5 },
      { reference: 'web-1', offsetMs: -500, uncertaintyMs: 2, startAfterFirstMs: 0 },
      { reference: 'web-1', offsetMs: null, uncertaintyMs: null, startAfterFirstMs: null, note: 'connect ECONNREFUSED' },
    ]);
    const table = generatorTable({ generators: placed })!;
    expect(table.head).toContain('clock offset (vs pod web-1)');
    expect(table.rows.map((row) => row.slice(9, 11))).toEqual([['+0.0 ± 2.0 ms', '5.0 ms'], ['−500.0 ± 2.0 ms', '0.0 ms'], ['— (connect ECONNREFUSED)', '—']]);
    // Generators that were not asked to measure: no clock columns at all.
    expect(generatorTable({ generators: [generatorRow({ load: 'l', index: 0, node: 'n1', durationMs: 1000, rate: undefined, summary: summary(1, undefined) })] })!.head).not.toContain('start after first (one clock)');
  });
});
