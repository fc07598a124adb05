import { parseProxyModes, parseTimeScale, planScenario, renderPlan, specsOf, timeBar, type Plan } from '../../../harness/engine/plan.ts';
import type { ScenarioSpec } from '../../../harness/engine/types.ts';

const spec = (): ScenarioSpec => ({
  name: 'demo',
  description: 'two loads, chaos, a mitigation',
  workload: { server: 'http', replicas: 3, keepAliveTimeout: '5s', preStopSleep: '5s' },
  load: [
    { name: 'main', protocol: 'http', model: 'persistent', connections: 4, executor: 'constant-arrival-rate', rate: 100, duration: '60s' },
    { name: 'late', protocol: 'http', model: 'short-lived', connections: 2, executor: 'constant-vus', vus: 2, startTime: '20s', duration: '20s' },
  ],
  chaos: [
    { at: '40s', action: 'rollout-restart' },
    { at: '20s', action: 'scale', replicas: 6 },
  ],
  checks: [
    { name: 'fair', expect: 'metrics.chiSquareP >= 0.001', variants: ['pooled'] },
    { name: 'clean', expect: 'errors.total == 0' },
  ],
  variants: [
    { name: 'persistent' },
    { name: 'pooled', description: 'the mitigation', workload: { replicas: 4 }, load: { main: { model: 'pooled', maxConnectionAge: '2s', connections: 8 } } },
  ],
});

describe('planScenario', () => {
  it('GIVEN a scenario with no optional fields WHEN planned THEN every default is filled in', () => {
    const plan = planScenario(
      {
        name: 'bare',
        description: 'd',
        workload: { server: 'grpc', replicas: 2 },
        load: [{ name: 'c', protocol: 'grpc', connections: 1, executor: 'constant-vus', vus: 1, duration: '10s' }],
      },
      { timeScale: 1 },
    );
    expect(plan).toMatchObject({ nodes: 3, proxyModes: ['iptables'], variants: ['default'], timeScale: 1, totalMs: 10_000 });
    expect(plan.runs).toHaveLength(1);
    const [run] = plan.runs;
    expect(run).toMatchObject({ id: 'iptables/default', baseline: true, workload: { server: 'grpc', replicas: 2, serviceType: 'ClusterIP' }, chaos: [], checks: [], durationMs: 10_000 });
    expect(run!.loads[0]).toEqual({ name: 'c', driver: 'builtin', protocol: 'grpc', call: 'unary', connections: 1, executor: 'constant-vus', vus: 1, startMs: 0, durationMs: 10_000, endMs: 10_000, from: 'pod', unit: 'connections', generators: 1 });
  });

  it('GIVEN the sampling unit left out THEN short-lived counts requests and every other model connections', () => {
    const plan = planScenario(spec(), { timeScale: 1 });
    const units = Object.fromEntries(plan.runs[0]!.loads.map((load) => [load.name, load.unit]));
    expect(units).toEqual({ main: 'connections', late: 'requests' });
  });

  it('GIVEN variants WHEN planned THEN each run merges its variant onto the base, one run per proxy mode × variant', () => {
    const plan = planScenario(spec(), { timeScale: 1, proxyModes: ['nftables', 'ipvs'] });
    expect(plan.runs.map((run) => run.id)).toEqual(['nftables/persistent', 'nftables/pooled', 'ipvs/persistent', 'ipvs/pooled']);
    const [baseline, pooled] = plan.runs;
    expect(baseline).toMatchObject({ baseline: true, workload: { replicas: 3 } });
    expect(baseline!.loads[0]).toMatchObject({ model: 'persistent', connections: 4 });
    expect(baseline!.loads[0]).not.toHaveProperty('maxConnectionAgeMs');
    expect(pooled).toMatchObject({ baseline: false, description: 'the mitigation', workload: { replicas: 4, keepAliveTimeoutMs: 5000 } });
    expect(pooled!.loads[0]).toMatchObject({ name: 'main', model: 'pooled', connections: 8, maxConnectionAgeMs: 2000, rate: 100 });
    // The other load is the base's, untouched.
    expect(pooled!.loads[1]).toEqual(baseline!.loads[1]);
  });

  it('GIVEN checks limited to some variants THEN each run carries only its own, parsed', () => {
    const plan = planScenario(spec(), { timeScale: 1 });
    expect(plan.runs[0]!.checks.map((check) => check.name)).toEqual(['clean']);
    expect(plan.runs[1]!.checks).toEqual([
      { name: 'fair', expect: 'metrics.chiSquareP >= 0.001', path: 'metrics.chiSquareP', op: '>=', threshold: 0.001 },
      { name: 'clean', expect: 'errors.total == 0', path: 'errors.total', op: '==', threshold: 0 },
    ]);
  });

  it('GIVEN a variant with its own chaos THEN it replaces the scenario chaos for that run only', () => {
    const withChaos = spec();
    withChaos.variants![1]!.chaos = [{ at: '10s', action: 'delete-pod', force: true }];
    const plan = planScenario(withChaos, { timeScale: 1 });
    expect(plan.runs[0]!.chaos.map((action) => action.action)).toEqual(['rollout-restart', 'scale']);
    expect(plan.runs[1]!.chaos).toEqual([{ action: 'delete-pod', force: true, atMs: 10_000 }]);
  });

  it('GIVEN --time-scale 0.2 THEN the timeline and connection recycling shrink, pod termination does not', () => {
    const plan = planScenario(spec(), { timeScale: 0.2 });
    const pooled = plan.runs[1]!;
    expect(pooled.loads.map((load) => [load.startMs, load.durationMs, load.endMs])).toEqual([
      [0, 12_000, 12_000],
      [4000, 4000, 8000],
    ]);
    expect(pooled.chaos.map((action) => action.atMs)).toEqual([8000, 4000]);
    expect(pooled.loads[0]!.maxConnectionAgeMs).toBe(400);
    expect(pooled.workload.keepAliveTimeoutMs).toBe(1000);
    expect(pooled.workload.preStopSleepMs).toBe(5000);
    expect(pooled.durationMs).toBe(12_000);
    expect(plan.totalMs).toBe(24_000);
    expect(plan.timeScale).toBe(0.2);
  });

  it('GIVEN events at the same time THEN the timeline is sorted: load ends, then chaos, then load starts', () => {
    const plan = planScenario(spec(), { timeScale: 1 });
    expect(plan.runs[0]!.timeline.map((event) => [event.atMs, event.kind, event.load ?? event.chaos])).toEqual([
      [0, 'load-start', 'main'],
      [20_000, 'chaos', 1],
      [20_000, 'load-start', 'late'],
      [40_000, 'load-end', 'late'],
      [40_000, 'chaos', 0],
      [60_000, 'load-end', 'main'],
    ]);
    expect(plan.runs[0]!.timeline[1]!.detail).toBe('scale to 6 replicas');
  });

  it.each([0, -1, 10.5, Number.NaN])('GIVEN time scale %p THEN bad input naming --time-scale', (timeScale) => {
    expect(() => planScenario(spec(), { timeScale })).toThrow(expect.objectContaining({ kind: 'bad-input', where: '--time-scale' }));
  });

  it('GIVEN server runtimes WHEN planned THEN a variant\'s beats the workload\'s, --runtime beats both, and node is the default', () => {
    const base = spec();
    const withRuntimes: ScenarioSpec = { ...base, workload: { ...base.workload, runtime: 'go' }, variants: [{ name: 'persistent' }, { name: 'node', workload: { runtime: 'node' } }] };
    expect(planScenario(base, { timeScale: 1 }).runs.map((run) => run.workload.runtime)).toEqual(['node', 'node']);
    expect(planScenario(withRuntimes, { timeScale: 1 }).runs.map((run) => run.workload.runtime)).toEqual(['go', 'node']);
    expect(planScenario(withRuntimes, { timeScale: 1, runtime: 'node' }).runs.map((run) => run.workload.runtime)).toEqual(['node', 'node']);
    expect(renderPlan(planScenario(withRuntimes, { timeScale: 1 }), { color: false })).toMatch(/http server \(go\) × 3/);
  });

  it('GIVEN a gRPC load that names its client THEN the plan keeps it and kth load gets --client', () => {
    const plan = planScenario({ name: 'g', description: 'd', workload: { server: 'grpc', replicas: 2 }, load: [{ name: 'c', protocol: 'grpc', client: 'grpc-js', connections: 2, executor: 'constant-vus', vus: 2, duration: '10s' }] }, { timeScale: 1 });
    expect(plan.runs[0]!.loads[0]).toMatchObject({ call: 'unary', client: 'grpc-js' });
    expect(renderPlan(plan, { color: false })).toMatch(/grpc unary \(grpc-js client\)/);
  });

  it('GIVEN a plan WHEN converted back to specs THEN the durations are scaled ms and the defaults explicit', () => {
    const plan = planScenario(spec(), { timeScale: 0.5 });
    const specs = specsOf(plan.runs[1]!);
    expect(specs.workload).toEqual({ server: 'http', runtime: 'node', replicas: 4, serviceType: 'ClusterIP', keepAliveTimeout: 2500, preStopSleep: 5000 });
    expect(specs.loads[0]).toEqual({
      spec: { name: 'main', driver: 'builtin', protocol: 'http', model: 'pooled', connections: 8, executor: 'constant-arrival-rate', rate: 100, startTime: 0, duration: 30_000, from: 'pod', maxConnectionAge: 1000, unit: 'connections', generators: 1 },
      startMs: 0,
      durationMs: 30_000,
    });
    expect(specs.chaos).toEqual([
      { spec: { action: 'rollout-restart', at: 20_000 }, atMs: 20_000 },
      { spec: { action: 'scale', replicas: 6, at: 10_000 }, atMs: 10_000 },
    ]);
  });
});

describe('flag parsing', () => {
  it('GIVEN --time-scale text THEN a number in (0, 10] or bad input', () => {
    expect(parseTimeScale('0.2')).toBe(0.2);
    expect(parseTimeScale('10')).toBe(10);
    for (const bad of ['', 'fast', '0', '11', '-0.5']) expect(() => parseTimeScale(bad)).toThrow(expect.objectContaining({ kind: 'bad-input', where: '--time-scale' }));
  });

  it('GIVEN --proxy-mode text THEN known modes once each, or bad input naming the unknown one', () => {
    expect(parseProxyModes('iptables, ipvs,iptables')).toEqual(['iptables', 'ipvs']);
    expect(() => parseProxyModes('iptables,ebpf')).toThrow(/'ebpf' is not a proxy mode/);
    expect(() => parseProxyModes(',')).toThrow(expect.objectContaining({ where: '--proxy-mode' }));
  });
});

describe('renderPlan', () => {
  const plain = (plan: Plan) => renderPlan(plan, { color: false, width: 20 });

  it('GIVEN a load over part of the run THEN its bar covers that part', () => {
    expect(timeBar(0, 60_000, 60_000, 20)).toBe('='.repeat(20));
    expect(timeBar(20_000, 40_000, 60_000, 12)).toBe('....====....');
    expect(timeBar(59_000, 60_000, 60_000, 10)).toBe('.........=');
  });

  it('GIVEN a plan THEN each run shows its bars, chaos marks, events and checks, in plain text', () => {
    const text = plain(planScenario(spec(), { timeScale: 1 }));
    expect(text).not.toMatch(/\u001b\[/);
    expect(text).toMatch(/run 1\/2: iptables × persistent \(baseline\) — 1m0s/);
    expect(text).toMatch(/run 2\/2: iptables × pooled — 1m0s\n {2}the mitigation/);
    expect(text).toContain('  main  |====================| 0s → 1m0s');
    expect(text).toContain('  late  |......========......| 20.0s → 40.0s');
    expect(text).toContain('  chaos |      2      1      |');
    expect(text).toMatch(/20\.0s +chaos \[2\] +scale to 6 replicas/);
    expect(text).toMatch(/40\.0s +chaos \[1\] +rollout restart/);
    expect(text).toMatch(/fair +metrics\.chiSquareP >= 0\.001/);
    expect(text).not.toMatch(/not scaled/);
  });

  it('GIVEN a scaled plan THEN it says what was not scaled', () => {
    expect(plain(planScenario(spec(), { timeScale: 0.2 }))).toMatch(/not scaled by --time-scale .*: preStopSleep/);
  });

  it('GIVEN colour THEN ANSI codes appear', () => {
    expect(renderPlan(planScenario(spec(), { timeScale: 1 }), { color: true })).toMatch(/\u001b\[1m/);
  });
});
