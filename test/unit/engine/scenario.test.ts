import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HarnessError } from '../../../harness/core/errors.ts';
import { loadScenario, parseExpect, reportPathProblem, validateScenario } from '../../../harness/engine/scenario.ts';
import { planScenario, renderPlan } from '../../../harness/engine/plan.ts';
import type { ScenarioSpec } from '../../../harness/engine/types.ts';
import { evaluateChecks } from '../../../harness/engine/checks.ts';
import type { RunReport } from '../../../harness/report/model.ts';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const fixture = (name: string) => join(fixtures, name);

/** The error a call throws (fails the test when it throws nothing). */
async function failure(run: () => unknown): Promise<HarnessError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(HarnessError);
    return error as HarnessError;
  }
  throw new Error('expected a bad-input error, got none');
}

/** The `  - path: message` lines of a validation error. */
const problemLines = (error: HarnessError) =>
  error.message
    .split('\n')
    .filter((line) => line.startsWith('  - '))
    .map((line) => line.slice(4));

const minimal = (): ScenarioSpec => ({
  name: 'm',
  description: 'd',
  workload: { server: 'http', replicas: 1 },
  load: [{ name: 'client', protocol: 'http', connections: 1, executor: 'constant-vus', vus: 1, duration: '1s' }],
});

describe('loadScenario', () => {
  it('GIVEN a minimal valid scenario module WHEN loaded THEN its default export, path and sha256 come back', async () => {
    const loaded = await loadScenario(fixture('valid-minimal.ts'));
    expect(loaded.spec.name).toBe('minimal');
    expect(loaded.path).toBe(fixture('valid-minimal.ts'));
    expect(loaded.file).toBe(relative(process.cwd(), fixture('valid-minimal.ts')));
    expect(loaded.sha256).toBe(createHash('sha256').update(readFileSync(fixture('valid-minimal.ts'))).digest('hex'));
  });

  it('GIVEN a scenario using every kind of field WHEN loaded THEN it validates', async () => {
    const loaded = await loadScenario(fixture('valid-full.ts'));
    expect(loaded.spec.variants?.map((variant) => variant.name)).toEqual(['baseline', 'more-channels', 'crash']);
    expect(loaded.spec.cilium).toEqual({ lbAlgorithm: 'maglev', socketLb: 'all' });
  });

  it('GIVEN shape mistakes WHEN loaded THEN every one is listed with its path, as bad input naming the file', async () => {
    const error = await failure(() => loadScenario(fixture('invalid-shape.ts')));
    expect(error).toMatchObject({ kind: 'bad-input', exitCode: 2 });
    expect(error.where).toMatch(/invalid-shape\.ts$/);
    expect(error.message).toMatch(/invalid-shape\.ts is not valid \(\d+ problems\)/);
    const lines = problemLines(error);
    expect(lines).toEqual(
      expect.arrayContaining([
        'name: must be kebab-case: lower-case letters, digits and -',
        'nodes: must be ≥ 1',
        expect.stringMatching(/^proxyModes\[1\]: .*"iptables"\|"nftables"\|"ipvs"\|"cilium"/),
        "workload.keepAliveTimout: unknown key (did you mean 'keepAliveTimeout'?)",
        expect.stringMatching(/^load\[0\]\.model: .*"persistent"/),
        'load[0].connections: must be a whole number',
        "load[0].duration: '10 parsecs' is not a duration: write '500ms', '30s', '2m' or milliseconds",
        expect.stringMatching(/^chaos\[0\]\.action: .*'scale' \| 'rollout-restart' \| 'rollout' \| 'delete-pod' \| 'kill-process'/),
        'chaos[1].at: -5 is not a non-negative number of milliseconds',
        expect.stringMatching(/^checks\[0\]\.expect: 'metrics\.jainIndex is high' is not '<path> <op> <number>'/),
        expect.stringMatching(/^colour: unknown key \(allowed: name, description/),
        "cilium.lbAlgoritm: unknown key (did you mean 'lbAlgorithm'?)",
        expect.stringMatching(/^cilium\.nodePortMode: .*"snat"\|"dsr"/),
      ]),
    );
    expect(lines).toHaveLength(13);
  });

  it('GIVEN well-shaped but contradictory fields WHEN loaded THEN every cross-field problem is listed with its path', async () => {
    const error = await failure(() => loadScenario(fixture('invalid-meaning.ts')));
    expect(problemLines(error)).toEqual([
      "proxyModes[1]: 'ipvs' is listed twice",
      'workload.keepAliveTimeout: applies to the http server only',
      'load[0].rate: required by executor constant-arrival-rate (requests per second in total)',
      'load[0].model: applies to http loads only (gRPC: call)',
      "load[1].name: 'client' is already the name of load[0]",
      'load[1].vus: required by executor constant-vus (requests in flight)',
      'load[1].call: applies to grpc loads only (HTTP: model)',
      'load[1].client: applies to grpc loads only (HTTP: model)',
      'load[1].protocol: a http load cannot drive the grpc server (workload.server)',
      'load[1].from: external clients need workload.serviceType NodePort or LoadBalancer',
      'chaos[0].at: 25s is not before the last load ends (20s): nothing would observe it',
      "checks[0].variants[0]: no variant named 'nope' (variants: a)",
      "checks[0].expect: 'metrics.jainIdx' is not a number in the run report (did you mean 'metrics.jainIndex'?)",
      "checks[1].expect: no load named 'server' (loads: client)",
      "variants[1].name: 'a' is already the name of variants[0]",
      "variants[1].load.ghost: no load named 'ghost' (loads: client)",
      'variants[1].load.client.vus: required by executor constant-vus (requests in flight)',
    ]);
  });

  it('GIVEN a module without a default export WHEN loaded THEN bad input says how to export it', async () => {
    const error = await failure(() => loadScenario(fixture('invalid-no-default.ts')));
    expect(error.kind).toBe('bad-input');
    expect(error.message).toMatch(/has no default export/);
    expect(error.hint).toMatch(/export default defineScenario/);
  });

  it('GIVEN a module that throws on import WHEN loaded THEN bad input carries its message and the cause', async () => {
    const error = await failure(() => loadScenario(fixture('invalid-throws.ts')));
    expect(error.kind).toBe('bad-input');
    expect(error.message).toMatch(/cannot load scenario .*invalid-throws\.ts: scenario module exploded/);
    expect((error.cause as Error).message).toBe('scenario module exploded');
  });

  it('GIVEN a path that does not exist WHEN loaded THEN bad input lists the built-in scenarios', async () => {
    const error = await failure(() => loadScenario(fixture('missing.ts')));
    expect(error.kind).toBe('bad-input');
    expect(error.message).toMatch(/no such file/);
    expect(error.hint).toMatch(/scenarios\/keepalive-imbalance\.ts/);
  });

  it('GIVEN a built-in scenario name without its path WHEN loaded THEN the hint names the file', async () => {
    const error = await failure(() => loadScenario('pod-kill'));
    expect(error.hint).toMatch(/did you mean .*scenarios\/pod-kill\.ts\?/);
  });
});

describe('validateScenario', () => {
  it('GIVEN a valid scenario THEN the same value comes back', () => {
    const spec = minimal();
    expect(validateScenario(spec, 'x.ts')).toBe(spec);
  });

  it('GIVEN something that is not an object THEN one problem at the root', async () => {
    const error = await failure(() => validateScenario(42, 'x.ts'));
    expect(problemLines(error)).toEqual([expect.stringMatching(/^\(scenario\): .*expected object/)]);
  });

  it('GIVEN required fields left out THEN each is reported as required', async () => {
    const error = await failure(() => validateScenario({ name: 'x', load: [{ name: 'l' }] }, 'x.ts'));
    expect(problemLines(error)).toEqual(
      expect.arrayContaining(['description: required', 'workload: required', 'load[0].protocol: required', 'load[0].connections: required', 'load[0].executor: required', 'load[0].duration: required']),
    );
  });

  it('GIVEN a variant that breaks only after merging THEN the problem points into the variant, not the base', async () => {
    const spec = { ...minimal(), variants: [{ name: 'base' }, { name: 'grpc', workload: { server: 'grpc' as const } }, { name: 'short', load: { client: { duration: '100ms' } } }], chaos: [{ at: '500ms', action: 'rollout-restart' as const }] };
    const error = await failure(() => validateScenario(spec, 'x.ts'));
    expect(problemLines(error)).toEqual([
      'variants[1].load.client.protocol: a http load cannot drive the grpc server (workload.server)',
      'variants[2]: chaos[0].at: 500ms is not before the last load ends (100ms): nothing would observe it',
    ]);
  });

  it('GIVEN a preStop sleep as long as the grace period THEN it is rejected (the kubelet would kill during preStop)', async () => {
    const error = await failure(() => validateScenario({ ...minimal(), workload: { server: 'http', replicas: 1, preStopSleep: '30s' } }, 'x.ts'));
    expect(problemLines(error)).toEqual(['workload.preStopSleep: 30s must be shorter than terminationGracePeriod (30s): the kubelet kills the pod when the grace period ends']);
  });

  it('GIVEN perNode on an external load or with generators THEN each is refused at its path; on a pod load THEN the plan has a generator per node', async () => {
    const load = (extra: object) => ({ name: 'spread', protocol: 'http' as const, connections: 1, executor: 'constant-vus' as const, vus: 1, duration: '20s', ...extra });
    const error = await failure(() => validateScenario({
      ...minimal(), workload: { server: 'http', replicas: 2, serviceType: 'LoadBalancer' },
      load: [load({ perNode: true, from: 'external' }), load({ name: 'both', perNode: true, generators: 2 })],
    }, 'x.ts'));
    expect(problemLines(error)).toEqual([
      'load[0].perNode: a generator per node is a load pod on each node; an external load runs from one place (leave perNode out, or use from: pod)',
      'load[1].perNode: perNode sizes the generators to the nodes: give perNode or generators, not both',
    ]);
    const plan = planScenario({ ...minimal(), nodes: 4, load: [load({ perNode: true })] }, { timeScale: 1 });
    expect(plan.runs[0]!.loads[0]).toMatchObject({ generators: 4, perNode: true });
  });

  it('GIVEN node and network faults that cannot happen as written THEN each is reported at its path, with the fix', async () => {
    const load = [{ name: 'client', protocol: 'http' as const, connections: 1, executor: 'constant-vus' as const, vus: 1, duration: '20s' }];
    const error = await failure(() => validateScenario({
      ...minimal(), nodes: 2, load,
      workload: { server: 'http', replicas: 2, pdb: { minAvailable: 1, maxUnavailable: 1 } },
      chaos: [
        { at: '2s', action: 'node-down', node: 3 },
        { at: '15s', action: 'kube-proxy-pause', duration: '10s' },
        { at: '2s', action: 'network', target: 'pod', duration: '1s' },
        { at: '2s', action: 'network', target: 'node', partition: true, loss: 5, duration: '1s' },
        { at: '2s', action: 'network', target: 'pod', node: 1, jitter: '5ms', loss: 1, duration: '1s' },
      ],
    }, 'x.ts'));
    expect(problemLines(error)).toEqual([
      'workload.pdb: takes exactly one of minAvailable and maxUnavailable (as a PodDisruptionBudget does)',
      'chaos[0].node: the scenario has 2 node(s) (nodes: 2); node 3 does not exist',
      'chaos[1].duration: 15s + 10s ends after the last load (20s): the fault would be undone unobserved; shorten it or lengthen the load',
      'chaos[2]: says nothing to do: give loss (percent), partition: true, or delay',
      'chaos[3].partition: drops everything: loss and delay make no sense with it',
      "chaos[3].node: required by target 'node'",
      'chaos[4].jitter: needs delay (jitter varies the delay)',
      "chaos[4].node: applies to target 'node' only (pods are picked oldest first)",
    ]);
  });

  it('GIVEN every fault action well formed THEN the scenario validates', () => {
    const load = [{ name: 'client', protocol: 'http' as const, connections: 1, executor: 'constant-vus' as const, vus: 1, duration: '60s' }];
    const spec: ScenarioSpec = {
      ...minimal(), load, workload: { server: 'http', replicas: 3, maxSurge: '50%', maxUnavailable: 0, pdb: { minAvailable: 2 }, notReadyToleration: '5s' },
      chaos: [
        { at: '1s', action: 'readiness-flip', count: 2, duration: '5s' },
        { at: '2s', action: 'kube-proxy-pause', node: 'all', duration: '5s' },
        { at: '3s', action: 'kube-proxy-restart', node: 2 },
        { at: '4s', action: 'node-drain', node: 1 },
        { at: '5s', action: 'node-uncordon', node: 1 },
        { at: '6s', action: 'node-down', node: 3, duration: '10s' },
        { at: '20s', action: 'node-up', node: 3 },
        { at: '21s', action: 'network', target: 'node', node: 2, loss: 10, duration: '5s' },
        { at: '22s', action: 'network', target: 'pod', count: 1, delay: '50ms', jitter: '10ms', duration: '5s' },
        { at: '23s', action: 'rollout', env: { VERSION: '2' } },
        { at: '24s', action: 'scale', replicas: 1 },
      ],
    };
    expect(validateScenario(spec, 'x.ts')).toBe(spec);
  });

  it('GIVEN an Ingress in front of the workload THEN loads may go through it, and each misuse is reported at its path with the fix', async () => {
    const through = { name: 'client', protocol: 'http' as const, connections: 1, executor: 'constant-vus' as const, vus: 1, duration: '1s', via: 'ingress' as const };
    const spec: ScenarioSpec = { ...minimal(), workload: { server: 'http', replicas: 3, ingress: { replicas: 2, spread: 'hostname', pdb: { minAvailable: 1 }, serviceType: 'LoadBalancer', externalTrafficPolicy: 'Local' } }, load: [{ ...through, from: 'external' }] };
    expect(validateScenario(spec, 'x.ts')).toBe(spec);
    const native: ScenarioSpec = { ...spec, workload: { ...spec.workload, ingress: { lb: 'native' } }, load: [through] };
    expect(validateScenario(native, 'x.ts')).toBe(native);
    expect(renderPlan(planScenario(native, { timeScale: 1 }))).toContain('to the ClusterIP (nativeLB: the proxy picks per controller connection)');
    // Through the Ingress a load's samples are requests: the controller picks a pod for each.
    expect(planScenario(spec, { timeScale: 1 }).runs[0]!.loads[0]).toMatchObject({ via: 'ingress', unit: 'requests' });

    const error = await failure(() => validateScenario({
      ...minimal(),
      workload: { server: 'http', replicas: 3, ingress: { replica: 2, nodes: [4], pdb: { minAvailable: 1, maxUnavailable: 1 }, externalTrafficPolicy: 'Local', lb: 'p2c' } as never },
      load: [{ ...through, from: 'external' }],
    }, 'x.ts'));
    expect(problemLines(error)).toEqual([
      "workload.ingress.lb: must be one of 'round-robin', 'native' (Traefik's p2c, hrw and leasttime are set through its file or CRD providers only, not the Ingress provider the harness drives)",
      "workload.ingress.replica: unknown key (did you mean 'replicas'?)",
      'workload.ingress.nodes[0]: the scenario has 3 node(s) (nodes: 3); node 4 does not exist',
      'workload.ingress.pdb: takes exactly one of minAvailable and maxUnavailable (as a PodDisruptionBudget does)',
      'workload.ingress.externalTrafficPolicy: needs ingress.serviceType NodePort or LoadBalancer',
      'load[0].from: external clients of the Ingress need workload.ingress.serviceType NodePort or LoadBalancer',
    ]);
    const missing = await failure(() => validateScenario({ ...minimal(), load: [through] }, 'x.ts'));
    expect(problemLines(missing)).toEqual(['load[0].via: needs workload.ingress (the controller the load goes through)']);
  });

  it('GIVEN IPVS options THEN a known scheduler validates, and a misspelt key or unknown scheduler is reported at its path', async () => {
    expect(validateScenario({ ...minimal(), proxyModes: ['ipvs'], ipvs: { scheduler: 'lc' } }, 'x.ts').ipvs).toEqual({ scheduler: 'lc' });
    const error = await failure(() => validateScenario({ ...minimal(), proxyModes: ['ipvs'], ipvs: { schedular: 'rr' } }, 'x.ts'));
    expect(problemLines(error)).toEqual(["ipvs.schedular: unknown key (did you mean 'scheduler'?)"]);
    const unknown = await failure(() => validateScenario({ ...minimal(), proxyModes: ['ipvs'], ipvs: { scheduler: 'random' } }, 'x.ts'));
    expect(problemLines(unknown)).toEqual([expect.stringMatching(/^ipvs\.scheduler: .*"rr"\|"wrr"/)]);
  });

  it('GIVEN a mode\'s options on a scenario whose proxyModes leave that mode out THEN each is reported (they would never apply); with proxyModes left out they may (--proxy-mode chooses)', async () => {
    const error = await failure(() => validateScenario({ ...minimal(), proxyModes: ['iptables', 'nftables'], ipvs: { scheduler: 'sh' }, cilium: { lbAlgorithm: 'maglev' } }, 'x.ts'));
    expect(problemLines(error)).toEqual(['cilium: applies to proxy mode cilium, which proxyModes (iptables, nftables) does not list', 'ipvs: applies to proxy mode ipvs, which proxyModes (iptables, nftables) does not list']);
    expect(validateScenario({ ...minimal(), ipvs: { scheduler: 'sh' } }, 'x.ts').ipvs).toEqual({ scheduler: 'sh' });
  });

  it('GIVEN a pool-only setting on a persistent HTTP load THEN it is flagged (it would be silently ignored), while a max age is not', async () => {
    const spec = minimal();
    spec.load[0] = { ...spec.load[0]!, model: 'persistent', idleTimeout: '2s', maxConnectionAge: '2s' };
    const error = await failure(() => validateScenario(spec, 'x.ts'));
    expect(problemLines(error)).toEqual(["load[0].idleTimeout: applies to model 'pooled' only"]);
  });
});

describe('parseExpect', () => {
  it.each([
    ['metrics.chiSquareP >= 0.001', { path: 'metrics.chiSquareP', op: '>=', threshold: 0.001 }],
    ['errors.total==0', { path: 'errors.total', op: '==', threshold: 0 }],
    ['  latencyMs.p99 < 250 ', { path: 'latencyMs.p99', op: '<', threshold: 250 }],
    ['loads.client.errors.byKind.grpc-unavailable != -1e3', { path: 'loads.client.errors.byKind.grpc-unavailable', op: '!=', threshold: -1000 }],
    ['metrics.maxMinRatio > 1.5', { path: 'metrics.maxMinRatio', op: '>', threshold: 1.5 }],
    ['metrics.rebalanceSeconds <= 30', { path: 'metrics.rebalanceSeconds', op: '<=', threshold: 30 }],
  ])('GIVEN %p THEN it parses', (expect_, parsed) => {
    expect(parseExpect(expect_)).toEqual(parsed);
  });

  it.each(['errors.total = 0', 'errors.total => 0', 'errors.total == zero', '== 0', 'errors.total == 0x10', 'errors.total < 1 2'])('GIVEN %p THEN bad input', (expect_) => {
    expect(() => parseExpect(expect_)).toThrow(expect.objectContaining({ kind: 'bad-input' }));
  });
});

describe('reportPathProblem', () => {
  it('GIVEN paths a run report has THEN no problem', () => {
    for (const path of ['errors.total', 'errors.byKind.refused', 'metrics.sourceIpPreservedRatio', 'metrics.rebalanceSeconds', 'totals.serverCounted', 'loads.a.latencyMs.p99', 'loads.a.errors.byKind.reset']) {
      expect(reportPathProblem(path, ['a'])).toBeUndefined();
    }
  });

  it('GIVEN a run-only metric under one load THEN it is not a per-load number', () => {
    expect(reportPathProblem('loads.a.metrics.rebalanceSeconds', ['a'])).toMatch(/not a per-load number/);
  });

  it('GIVEN one generator of a load by its number THEN its row\'s numbers are paths; another load, number 0 or another field is not', () => {
    expect(reportPathProblem('generators.a.1.trafficAfterRemovalMs', ['a'])).toBeUndefined();
    expect(reportPathProblem('generators.a.12.errors', ['a'])).toBeUndefined();
    expect(reportPathProblem('generators.b.1.errors', ['a'])).toMatch(/no load named 'b'/);
    expect(reportPathProblem('generators.a.0.errors', ['a'])).toMatch(/not a number in the run report/);
    expect(reportPathProblem('generators.a.1.trafficAfterRemoval', ['a'])).toMatch(/did you mean 'trafficAfterRemovalMs'/);
  });

  it('GIVEN a generator path THEN the check reads that load\'s generator with that number, and fails saying so where there is none', () => {
    const run = { variant: 'v', generators: [
      { load: 'a', generator: 1, trafficAfterRemovalMs: 9000 },
      { load: 'b', generator: 1, trafficAfterRemovalMs: 1 },
      { load: 'a', generator: 2, trafficAfterRemovalMs: 200 },
    ] } as unknown as RunReport;
    const [first, second, missing] = evaluateChecks(run, [
      { name: 'one', expect: 'generators.a.1.trafficAfterRemovalMs > 3000' },
      { name: 'two', expect: 'generators.a.2.trafficAfterRemovalMs < 3000' },
      { name: 'three', expect: 'generators.a.3.trafficAfterRemovalMs < 3000' },
    ]);
    expect([first?.value, first?.pass, second?.value, second?.pass]).toEqual([9000, true, 200, true]);
    expect(missing).toMatchObject({ pass: false, value: null, note: 'generators.a.3.trafficAfterRemovalMs was not measured in this run' });
  });
});

describe('k6 loads', () => {
  const k6Load = (extra: Record<string, unknown>) => ({ name: 'k', description: 'd', workload: { server: 'http', replicas: 1 }, load: [{ name: 'c', driver: 'k6', protocol: 'http', connections: 1, executor: 'constant-arrival-rate', rate: 1, duration: '1s', ...extra }] });

  it('GIVEN a short-lived k6 load with a script THEN it is valid', async () => {
    const { validateScenario: validate } = await import('../../../harness/engine/scenario.ts');
    expect(validate(k6Load({ model: 'short-lived', script: 'http-shares.ts' }), 'k.ts').load[0]).toMatchObject({ driver: 'k6', script: 'http-shares.ts' });
  });

  it('GIVEN a pooled k6 load, or a script on a built-in load THEN each is refused at its path', async () => {
    const { validateScenario: validate } = await import('../../../harness/engine/scenario.ts');
    expect(() => validate(k6Load({ model: 'pooled' }), 'k.ts')).toThrow(/load\[0\]\.model: k6 runs model 'persistent' or 'short-lived'/);
    expect(() => validate(k6Load({ driver: 'builtin', script: 'x.ts' }), 'k.ts')).toThrow(/load\[0\]\.script: applies to driver 'k6' only/);
    expect(() => validate(k6Load({ script: '../../etc/passwd' }), 'k.ts')).toThrow(/load\[0\]\.script: must be a file name in scenarios\/k6/);
  });

  it('GIVEN a k6 gRPC load THEN unary calls are valid; streams, a client library or keepalive are refused at their paths', async () => {
    const { validateScenario: validate } = await import('../../../harness/engine/scenario.ts');
    const grpcLoad = (extra: Record<string, unknown>) => ({ ...k6Load({ protocol: 'grpc', ...extra }), workload: { server: 'grpc', replicas: 1, maxConnectionAge: '2s' } });
    expect(validate(grpcLoad({}), 'k.ts').load[0]).toMatchObject({ driver: 'k6', protocol: 'grpc' });
    expect(validate(grpcLoad({ call: 'unary', script: 'grpc-shares.ts' }), 'k.ts').load[0]).toMatchObject({ call: 'unary', script: 'grpc-shares.ts' });
    expect(() => validate(grpcLoad({ call: 'server-stream' }), 'k.ts')).toThrow(/load\[0\]\.call: k6 makes unary calls here .*use driver 'builtin' for streams/);
    expect(() => validate(grpcLoad({ client: 'grpc-js' }), 'k.ts')).toThrow(/load\[0\]\.client: applies to driver 'builtin' only/);
    expect(() => validate(grpcLoad({ keepalive: '10s' }), 'k.ts')).toThrow(/load\[0\]\.keepalive: applies to driver 'builtin' only/);
    // The HTTP rule stays: a gRPC load has no model, k6 or not.
    expect(() => validate(grpcLoad({ model: 'persistent' }), 'k.ts')).toThrow(/load\[0\]\.model: applies to http loads only/);
  });
});
