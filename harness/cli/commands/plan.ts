import type { Command } from 'commander';
import { parseProxyModes, parseTimeScale, planScenario, renderPlan } from '../../engine/plan.ts';
import { loadScenario } from '../../engine/scenario.ts';
import { parseServerRuntime } from '../../workloads/runtime.ts';

interface PlanFlags {
  timeScale: string;
  proxyMode?: string;
  runtime?: string;
  json?: boolean;
}

/** `kth plan`: validate a scenario and print what `kth run` would do. Needs no cluster (and loads no Kubernetes client). */
export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description('validate a scenario and print its resolved timeline per run (proxy mode × variant); no cluster needed')
    .argument('<scenario>', 'scenario module, e.g. scenarios/keepalive-imbalance.ts')
    .option('--time-scale <factor>', 'run every duration at this fraction (0 < F ≤ 10; 0.2 = 20%)', '1')
    .option('--proxy-mode <modes>', "comma-separated proxy modes instead of the scenario's: iptables, nftables, ipvs, cilium")
    .option('--runtime <runtime>', "every workload's sample server runtime instead of the scenario's: node | go")
    .option('--json', 'print the plan as JSON (scenario file and sha256 included)')
    .action(async (file: string, flags: PlanFlags) => {
      // Flags first: a typo in --time-scale should not wait for the scenario to compile.
      const timeScale = parseTimeScale(flags.timeScale);
      const proxyModes = flags.proxyMode === undefined ? undefined : parseProxyModes(flags.proxyMode);
      const runtime = flags.runtime === undefined ? undefined : parseServerRuntime(flags.runtime);
      const scenario = await loadScenario(file);
      const plan = planScenario(scenario.spec, { timeScale, ...(proxyModes ? { proxyModes } : {}), ...(runtime ? { runtime } : {}) });
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ ...plan, scenario: { ...plan.scenario, file: scenario.file, sha256: scenario.sha256 } }, null, 2)}\n`);
        return;
      }
      process.stdout.write(`${scenario.file} (sha256 ${scenario.sha256.slice(0, 12)})\n${renderPlan(plan)}`);
    });
}
