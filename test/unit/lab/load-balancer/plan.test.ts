import { HealthTracker, healthTargetKey } from '../../../../harness/lab/load-balancer/health.ts';
import type { LbNode, LbService } from '../../../../harness/lab/load-balancer/model.ts';
import { healthTargets, plan } from '../../../../harness/lab/load-balancer/plan.ts';

const nodes: LbNode[] = [
  { name: 'lab-node-1', ip: '198.18.0.11', ready: true, excluded: false },
  { name: 'lab-node-2', ip: '198.18.0.12', ready: true, excluded: false },
  { name: 'lab-node-3', ip: '198.18.0.13', ready: false, excluded: false },
];
const base: LbService = {
  key: 'shop/web', namespace: 'shop', name: 'web', uid: 'u', createdAt: '', statusIps: [], skippedPorts: [],
  ports: [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 31000 }], trafficPolicy: 'Cluster',
};
const local: LbService = { ...base, key: 'shop/local', name: 'local', trafficPolicy: 'Local', healthCheckNodePort: 32000 };

describe('plan', () => {
  it('GIVEN externalTrafficPolicy Cluster THEN every Ready node receives new connections', () => {
    const { targets, views } = plan([{ service: base, ip: '198.18.32.1' }], nodes, new HealthTracker({ healthyThreshold: 1, unhealthyThreshold: 1 }));
    expect(targets).toEqual([{ service: 'shop/web', portName: 'http', ip: '198.18.32.1', protocol: 'TCP', port: 80, nodePort: 31000, nodes: ['198.18.0.11', '198.18.0.12'] }]);
    expect(views[0]?.nodes.map((n) => [n.name, n.receives, n.detail])).toEqual([
      ['lab-node-1', true, 'Ready (externalTrafficPolicy Cluster)'],
      ['lab-node-2', true, 'Ready (externalTrafficPolicy Cluster)'],
      ['lab-node-3', false, 'node not Ready'],
    ]);
  });

  it('GIVEN externalTrafficPolicy Local THEN only nodes whose healthCheckNodePort answered 200 receive connections', () => {
    const health = new HealthTracker({ healthyThreshold: 1, unhealthyThreshold: 1 });
    expect(healthTargets([base, local], nodes).map((t) => t.key)).toEqual([healthTargetKey('shop/local', '198.18.0.11', 32000), healthTargetKey('shop/local', '198.18.0.12', 32000)]);
    health.record(healthTargetKey('shop/local', '198.18.0.11', 32000), { ok: false, detail: 'HTTP 503', localEndpoints: 0 });
    health.record(healthTargetKey('shop/local', '198.18.0.12', 32000), { ok: true, detail: 'HTTP 200', localEndpoints: 2 });
    const { targets, views } = plan([{ service: local, ip: '198.18.32.2' }], nodes, health);
    expect(targets[0]?.nodes).toEqual(['198.18.0.12']);
    expect(views[0]?.nodes).toEqual([
      { name: 'lab-node-1', ip: '198.18.0.11', receives: false, detail: 'healthCheckNodePort 32000: HTTP 503', localEndpoints: 0 },
      { name: 'lab-node-2', ip: '198.18.0.12', receives: true, detail: 'healthCheckNodePort 32000: HTTP 200', localEndpoints: 2 },
      { name: 'lab-node-3', ip: '198.18.0.13', receives: false, detail: 'node not Ready' },
    ]);
  });

  it('GIVEN a Service without an address THEN it has a view with the reason and no targets', () => {
    const { targets, views } = plan([{ service: base, error: 'pool exhausted' }], nodes, new HealthTracker({ healthyThreshold: 1, unhealthyThreshold: 1 }));
    expect(targets).toEqual([]);
    expect(views[0]).toMatchObject({ service: 'shop/web', error: 'pool exhausted' });
    expect(views[0]).not.toHaveProperty('ip');
  });
});

describe('HealthTracker', () => {
  it('GIVEN thresholds 2/3 THEN a target turns healthy after 2 successes and unhealthy after 3 failures in a row', () => {
    const tracker = new HealthTracker({ healthyThreshold: 2, unhealthyThreshold: 3 });
    const ok = { ok: true, detail: 'HTTP 200' };
    const bad = { ok: false, detail: 'HTTP 503' };
    expect(tracker.healthy('t')).toBe(false);
    expect(tracker.record('t', ok)).toBe(false);
    expect(tracker.record('t', ok)).toBe(true);
    expect(tracker.healthy('t')).toBe(true);
    expect([tracker.record('t', bad), tracker.record('t', bad), tracker.record('t', ok), tracker.record('t', bad), tracker.record('t', bad)]).toEqual([false, false, false, false, false]);
    expect(tracker.record('t', bad)).toBe(true);
    expect(tracker.healthy('t')).toBe(false);
  });

  it('forgets targets that are no longer probed', () => {
    const tracker = new HealthTracker({ healthyThreshold: 1, unhealthyThreshold: 1 });
    tracker.record('a', { ok: true, detail: 'HTTP 200' });
    tracker.record('b', { ok: true, detail: 'HTTP 200' });
    tracker.retain(new Set(['b']));
    expect(tracker.get('a')).toBeUndefined();
    expect(tracker.healthy('b')).toBe(true);
  });
});
