import type { Command } from 'commander';
import { badInput, HarnessError } from '../../core/errors.ts';
import { parseProxyModes, parseTimeScale } from '../../engine/plan.ts';
import { type KernelChoice, kernelChoices } from '../../lab/spec.ts';
import { parseServerRuntime } from '../../workloads/runtime.ts';
import { ProgressView } from '../progress-view.ts';

interface RunFlags {
  provider: string;
  proxyMode?: string;
  out: string;
  baseline?: string;
  retain?: boolean;
  timeScale: string;
  kernel: string;
  runtime?: string;
  kubeconfig?: string;
  context?: string;
  imagePrefix?: string;
  allowClusterChaos?: boolean;
  dryRun?: boolean;
  kindConfig?: string;
  nodeImage?: string;
  cluster?: string;
}

/** Log lines on stderr as they are; on a terminal, with a live block under them (cli/progress-view.ts). */
const progressView = () =>
  new ProgressView({ write: (text) => void process.stderr.write(text), tty: Boolean(process.stderr.isTTY) && process.env.TERM !== 'dumb', columns: () => process.stderr.columns });

/** `kth run`: a scenario end to end; the exit code says passed (0), a check failed (1), an error (3), interrupted (130). */
export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run a scenario: cluster per proxy mode, sample service, load and chaos, checks, and a report in <out>/<run-id>/')
    .argument('<scenario>', 'scenario module, e.g. scenarios/keepalive-imbalance.ts')
    .option('--provider <provider>', 'lab (embedded, needs root) | kind | existing', 'lab')
    .option('--proxy-mode <modes>', "comma-separated proxy modes instead of the scenario's: iptables, nftables, ipvs, cilium; with --provider existing also detected (the cluster's own)")
    .option('--kubeconfig <path>', 'existing: the cluster (default $KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', "existing: the kubeconfig context (default its current one)")
    .option('--image-prefix <registry/path>', 'existing: where the cluster pulls the harness images from, e.g. ghcr.io/me (see kth existing images)')
    .option('--allow-cluster-chaos', 'existing: allow node-drain/node-uncordon, which touch nodes others use (undone at the end)')
    .option('--dry-run', 'existing: print every object the run would create, and create nothing')
    .option('--kind-config <file>', 'kind: a kind cluster config merged over the generated one (nodes, patches, networking; the proxy mode stays the scenario\'s)')
    .option('--node-image <image>', 'kind: the node image instead of the one the harness builds (kth kind build-node-image), e.g. a published kindest/node where a registry is reachable')
    .option('--cluster <name>', "lab or kind: a lab (kth lab up) or kind cluster (kth kind up) that is already up, used instead of making one; it runs its own proxy mode, must have the scenario's node count, and stays up (each run's namespace is removed)")
    .option('--out <dir>', 'where the report directory goes', 'reports')
    .option('--baseline <report.json>', 'compare with an earlier report: a check that passed there and fails now is a regression')
    .option('--retain', 'keep the clusters afterwards (kth lab down --name …, kth kind down --name … remove them)')
    .option('--kernel <where>', "lab nodes' kernel: auto (a qemu guest's where the host kernel cannot run a proxy mode) | host | guest", 'auto')
    .option('--runtime <runtime>', "every workload's sample server runtime instead of the scenario's: node | go")
    .option('--time-scale <factor>', 'run every timeline duration at this fraction (0.2 = 20%: tests, smoke runs)', '1')
    .action(async (file: string, flags: RunFlags) => {
      const timeScale = parseTimeScale(flags.timeScale);
      const existing = flags.provider === 'existing';
      const lacksExisting = (['kubeconfig', 'context', 'imagePrefix', 'allowClusterChaos', 'dryRun'] as const).filter((key) => flags[key] !== undefined);
      if (!existing && lacksExisting.length > 0) throw badInput(`${lacksExisting.map((key) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} only apply with --provider existing`, { where: '--provider', hint: 'add --provider existing, or drop them' });
      const lacksKind = (['kindConfig', 'nodeImage'] as const).filter((key) => flags[key] !== undefined);
      if (flags.provider !== 'kind' && lacksKind.length > 0) throw badInput(`${lacksKind.map((key) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} only apply with --provider kind`, { where: '--provider', hint: 'add --provider kind, or drop them' });
      if (flags.cluster !== undefined && existing) throw badInput('--cluster names a lab or kind cluster; an existing cluster is named by --kubeconfig and --context', { where: '--cluster', hint: 'drop --cluster, or use --provider lab|kind' });
      if (flags.cluster !== undefined && lacksKind.length > 0) throw badInput(`--cluster uses a kind cluster as it was made: ${lacksKind.map((key) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} cannot apply`, { where: '--cluster', hint: 'pass them to kth kind up instead' });
      const detect = existing && flags.proxyMode === 'detected';
      const proxyModes = flags.proxyMode === undefined || detect ? undefined : parseProxyModes(flags.proxyMode);
      if (flags.dryRun) {
        const { dryRunObjects } = await import('../../existing/dry-run.ts');
        process.stdout.write(await dryRunObjects({ file, ...(proxyModes ? { proxyModes } : {}), ...(flags.imagePrefix ? { imagePrefix: flags.imagePrefix } : {}), timeScale: parseTimeScale(flags.timeScale) }));
        return;
      }
      const runtime = flags.runtime === undefined ? undefined : parseServerRuntime(flags.runtime);
      if (!['lab', 'kind', 'existing'].includes(flags.provider)) throw badInput(`--provider: '${flags.provider}' is not one of lab, kind, existing`, { where: '--provider' });
      // The baseline is read first: a typo in its path should not cost a whole run.
      const { diffReports, renderDiff } = await import('../../report/diff.ts');
      const { readDiffableReport } = await import('../../report/schema.ts');
      const baseline = flags.baseline ? await readDiffableReport(flags.baseline) : undefined;
      const { runScenario } = await import('../../engine/run.ts');
      const { reportStatus } = await import('../../report/model.ts');
      if (!(kernelChoices as readonly string[]).includes(flags.kernel)) throw badInput(`--kernel: '${flags.kernel}' is not one of ${kernelChoices.join(', ')}`, { where: '--kernel' });
      const view = progressView();
      const { report, files } = await runScenario({ file, provider: flags.provider as 'lab',
        ...(existing ? { existing: { ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}), ...(flags.context ? { context: flags.context } : {}), ...(flags.imagePrefix ? { imagePrefix: flags.imagePrefix } : {}), allowClusterChaos: Boolean(flags.allowClusterChaos), detectProxyMode: detect } } : {}), ...(flags.provider === 'kind' ? { kind: { ...(flags.kindConfig ? { config: flags.kindConfig } : {}), ...(flags.nodeImage ? { nodeImage: flags.nodeImage } : {}) } } : {}), ...(proxyModes ? { proxyModes } : {}), ...(runtime ? { runtime } : {}), ...(flags.cluster !== undefined ? { cluster: flags.cluster } : {}), kernel: flags.kernel as KernelChoice, outDir: flags.out, timeScale, retain: Boolean(flags.retain), log: (line) => view.log(line), ...(view.live ? { progress: (event) => view.progress(event) } : {}) }).finally(() => view.close());
      process.stdout.write(`${files.summaryMd}\n${files.indexHtml}\n`);
      const { recommendationLines } = await import('../../report/view.ts');
      for (const item of recommendationLines(report)) process.stdout.write(`recommendation: ${item.text}\n`);
      const diff = baseline ? diffReports(baseline, report) : undefined;
      if (diff) process.stdout.write(renderDiff(diff));
      const status = reportStatus(report);
      if (status === 'error') throw new HarnessError('environment', `one or more runs could not complete: ${report.runs.filter((run) => run.status === 'error').map((run) => `${run.proxyMode}/${run.variant}: ${run.reason}`).join('; ')}`, { hint: `the partial report is in ${files.summaryMd}` });
      if (status === 'failed') throw new HarnessError('check-failed', `checks failed: ${report.runs.flatMap((run) => run.checks.filter((check) => !check.pass).map((check) => `${run.proxyMode}/${run.variant} ${check.name} (${check.note ?? check.expect})`)).join('; ')}`);
      if (diff && diff.regressions.length > 0) throw new HarnessError('check-failed', 'regression against the baseline: see the diff above');
    });
}
