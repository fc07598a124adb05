import { readFile } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import type { Command } from 'commander';
import { badInput } from '../../core/errors.ts';
import { labLayout } from '../../lab/layout.ts';
import type { Removed } from '../../lab/lab.ts';
import { labNames, validateLabName } from '../../lab/names.ts';
import { type CiliumOptions, ciliumOptionsSchema, type IpvsOptions, ipvsOptionsSchema, ipvsSchedulers, type KernelChoice } from '../../lab/spec.ts';
import { registerLabLoadBalancer } from './lab-lb.ts';
import { registerLabAgent } from './lab-agent.ts';
import { textTable } from '../table.ts';
import type { SmokeResult } from '../../lab/smoke.ts';
import { ExitCode } from '../../core/exit-codes.ts';
import { tooEven, tooEvenText } from '../../analysis/evenness.ts';
import { DEFAULT_FOCUS } from '../../lab/e2e/scope.ts';
import { renderE2eSummary } from '../../lab/e2e/summary-text.ts';

const progress = (line: string) => process.stderr.write(`${line}\n`);
// Each subcommand imports what it needs when it runs: the agent, supervisor and smoke job pull in
// @kubernetes/client-node and the load drivers, which `lab status` should not wait for.
const labApi = () => import('../../lab/lab.ts');

/** The --cilium-* flags as lab options, each checked against what the lab accepts (exit 2 with the flag). */
function ciliumFlags(options: { ciliumSocketLb?: string; ciliumLbAlgorithm?: string; ciliumNodePortMode?: string }): Partial<CiliumOptions> | undefined {
  const given = { socketLb: options.ciliumSocketLb, lbAlgorithm: options.ciliumLbAlgorithm, nodePortMode: options.ciliumNodePortMode };
  const flags = { socketLb: '--cilium-socket-lb', lbAlgorithm: '--cilium-lb-algorithm', nodePortMode: '--cilium-node-port-mode' } as const;
  const set = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  if (Object.keys(set).length === 0) return undefined;
  const parsed = ciliumOptionsSchema.safeParse(set);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue?.path[0]) as keyof typeof flags;
    throw badInput(`${flags[key]}: ${issue?.message}`, { where: flags[key] });
  }
  return set as Partial<CiliumOptions>;
}

/** --ipvs-scheduler as lab options: ipvs mode only, a scheduler IPVS has (exit 2 with the flag). */
export function ipvsFlags(options: { proxyMode: string; ipvsScheduler?: string }): IpvsOptions | undefined {
  if (options.ipvsScheduler === undefined) return undefined;
  if (options.proxyMode !== 'ipvs') throw badInput(`--ipvs-scheduler was given for a ${options.proxyMode} lab`, { where: '--ipvs-scheduler', hint: 'use it with --proxy-mode ipvs' });
  const parsed = ipvsOptionsSchema.safeParse({ scheduler: options.ipvsScheduler });
  if (!parsed.success) throw badInput(`--ipvs-scheduler: '${options.ipvsScheduler}' is not an IPVS scheduler`, { where: '--ipvs-scheduler', hint: `use one of ${ipvsSchedulers.join(', ')}` });
  return parsed.data;
}

export function registerLab(program: Command): Command {
  const lab = program.command('lab').description('the embedded lab: a real control plane and kube-proxy in network namespaces on this host');

  lab
    .command('up')
    .description('create a lab and print its kubeconfig path (kth run --cluster <name> runs scenarios on it)')
    .option('--name <name>', 'lab name', 'kth')
    .option('--nodes <k>', 'number of nodes', '3')
    .option('--proxy-mode <mode>', 'iptables | nftables | ipvs | cilium', 'iptables')
    .option('--cilium-socket-lb <scope>', 'cilium: socket LB for hostns-only (pods get per-packet tc LB) or all', undefined)
    .option('--cilium-lb-algorithm <algorithm>', 'cilium: random | maglev', undefined)
    .option('--cilium-node-port-mode <mode>', 'cilium: snat | dsr', undefined)
    .option('--ipvs-scheduler <scheduler>', `ipvs: ${ipvsSchedulers.join(' | ')} (default rr)`, undefined)
    .option('--kernel <where>', "the nodes' kernel: auto (the host's when it can run the mode, else a qemu guest's) | host | guest", 'auto')
    .option('--dns', 'a cluster DNS (CoreDNS behind kube-dns) for pods that reach Services by name; built on request: kth setup-binaries --only coredns')
    .action(async (options: { name: string; nodes: string; proxyMode: string; ciliumSocketLb?: string; ciliumLbAlgorithm?: string; ciliumNodePortMode?: string; ipvsScheduler?: string; kernel: string; dns?: boolean }) => {
      const nodes = Number(options.nodes);
      if (!Number.isInteger(nodes)) throw badInput(`--nodes '${options.nodes}' is not a whole number`, { where: '--nodes' });
      const { labUp } = await labApi();
      const cilium = ciliumFlags(options);
      const ipvs = ipvsFlags(options);
      const info = await labUp({ name: options.name, nodes, proxyMode: options.proxyMode, ...(cilium ? { cilium } : {}), ...(ipvs ? { ipvs } : {}), kernel: options.kernel as KernelChoice, ...(options.dns ? { dns: true } : {}), log: progress });
      const timings = Object.entries(info.status?.timings ?? {}).map(([k, v]) => `${k}=${v}s`).join(' ');
      progress(`timings (supervisor monotonic clock, from supervisor start): ${timings}`);
      process.stdout.write(`${info.kubeconfig}\n`);
    });

  lab
    .command('down')
    .description('remove a lab: processes, namespaces, links, rules and state')
    .option('--name <name>', 'lab name', 'kth')
    .option('--all', 'remove every lab on this host')
    .action(async (options: { name: string; all?: boolean }) => {
      const { cleanupLabs, labDown } = await labApi();
      const removed = options.all ? await cleanupLabs({ all: true }) : [await labDown(options.name)];
      for (const r of removed) progress(describeRemoved(r));
    });

  lab
    .command('status')
    .description('every lab on this host and its state')
    .option('--json', 'machine-readable')
    .action(async (options: { json?: boolean }) => {
      const labs = await (await labApi()).listLabs();
      if (options.json) {
        process.stdout.write(`${JSON.stringify(labs, null, 2)}\n`);
        return;
      }
      if (labs.length === 0) {
        process.stdout.write('no labs\n');
        return;
      }
      const table = textTable(['lab', 'state', 'nodes', 'proxy mode', 'processes', 'kubeconfig / why']);
      for (const l of labs) table.push([l.name, l.state, l.spec?.nodes ?? '?', l.spec?.proxyMode ?? '?', l.processes, l.why ?? labLayout(l.name).kubeconfig]);
      process.stdout.write(`${table.toString()}\n`);
    });

  lab
    .command('kubeconfig')
    .description("print the path of a lab's kubeconfig (use it with your own kubectl)")
    .option('--name <name>', 'lab name', 'kth')
    .action(async (options: { name: string }) => {
      const path = labLayout(validateLabName(options.name)).kubeconfig;
      if (!existsSync(path)) throw badInput(`lab '${options.name}' has no kubeconfig`, { where: '--name', hint: 'list labs with: kth lab status' });
      process.stdout.write(`${path}\n`);
    });

  lab
    .command('exec <name> <target>')
    .description('run a command inside a lab namespace: a node (n1, <lab>-node-1; in cilium mode inside its sandbox), a pod (<namespace>/<pod>), client, lb or cp')
    .allowUnknownOption()
    .argument('[command...]', 'the command, after --')
    .action(async (name: string, target: string, command: string[]) => {
      if (command.length === 0) throw badInput('no command given', { hint: `kth lab exec ${name} ${target} -- ip addr` });
      const { execInLab } = await import('../../lab/exec-target.ts');
      process.exitCode = await execInLab(validateLabName(name), target, command);
    });

  lab
    .command('logs <name> [component]')
    .description("a component's log (etcd, kube-apiserver, kube-proxy-<node>, agent-<node>, supervisor) or a pod container's (<namespace>/<pod>[/<container>])")
    .action(async (name: string, component?: string) => {
      const layout = labLayout(validateLabName(name));
      if (!component) {
        process.stdout.write(`${existsSync(layout.logs) ? readdirSync(layout.logs).map((f) => f.replace(/\.log$/, '')).join('\n') : 'no logs'}\n`);
        return;
      }
      const path = component.includes('/') ? await podLogPath(name, component) : layout.log(component);
      if (!existsSync(path)) throw badInput(`no log for '${component}' in lab ${name}`, { hint: `list them with: kth lab logs ${name}` });
      process.stdout.write(await readFile(path, 'utf8'));
    });

  registerLabLoadBalancer(lab);
  registerLabAgent(lab);

  lab
    .command('smoke')
    .description('the lab end to end: a lab, the sample service, persistent vs short-lived load from a client pod, per-pod distribution, cross-checked against the servers')
    .option('--nodes <k>', 'number of nodes', '3')
    .option('--proxy-mode <mode>', 'iptables | nftables | ipvs', 'iptables')
    .option('--kernel <where>', "the nodes' kernel: auto | host | guest", 'auto')
    .option('--out <dir>', 'where result.json goes', 'reports')
    .option('--retain', 'keep the lab afterwards')
    .action(async (options: { nodes: string; proxyMode: string; kernel: string; out: string; retain?: boolean }) => {
      const { runLabSmoke } = await import('../../lab/smoke.ts');
      const result = await runLabSmoke({ nodes: Number(options.nodes), proxyMode: options.proxyMode, kernel: options.kernel as KernelChoice, outDir: options.out, retain: Boolean(options.retain), log: progress });
      process.stdout.write(renderSmoke(result));
      if (!result.passed) process.exitCode = ExitCode.checkFailed;
    });

  lab
    .command('e2e')
    .description("Kubernetes' own sig-network e2e tests (the pinned release's e2e.test) against a fresh lab with cluster DNS; prints passed / skipped with reason / failed")
    .option('--proxy-mode <mode>', 'iptables | nftables | ipvs | cilium', 'iptables')
    .option('--focus <regexp>', 'tests whose full name matches (JavaScript regular expression)', DEFAULT_FOCUS)
    .option('--skip <regexp>', 'leave these out too (the skip list, with its reasons, always applies)')
    .option('--nodes <k>', 'number of nodes (fewer than 3: tests that need 3 skip themselves)', '3')
    .option('--out <dir>', 'where junit_01.xml, ginkgo-report.json, e2e.log and e2e-summary.json go', 'reports/e2e')
    .option('--timeout <minutes>', "bound on the suite's run", '60')
    .option('--retain', 'keep the lab afterwards')
    .action(async (options: { proxyMode: string; focus: string; skip?: string; nodes: string; out: string; timeout: string; retain?: boolean }) => {
      const nodes = Number(options.nodes);
      const timeoutMinutes = Number(options.timeout);
      if (!Number.isInteger(nodes)) throw badInput(`--nodes '${options.nodes}' is not a whole number`, { where: '--nodes' });
      if (!(timeoutMinutes > 0)) throw badInput(`--timeout '${options.timeout}' is not a number of minutes`, { where: '--timeout' });
      const { runLabE2e } = await import('../../lab/e2e/run-e2e.ts');
      const summary = await runLabE2e({
        proxyMode: options.proxyMode,
        nodes,
        focus: options.focus,
        ...(options.skip ? { skip: options.skip } : {}),
        outDir: options.out,
        timeoutMinutes,
        retain: Boolean(options.retain),
        log: progress,
      });
      process.stdout.write(renderE2eSummary(summary));
      if (summary.failed.length > 0 || summary.notRun.length > 0) process.exitCode = ExitCode.checkFailed;
    });

  lab.command('supervise', { hidden: true }).requiredOption('--name <name>').action(async (options: { name: string }) => {
    const { runSupervisor } = await import('../../lab/supervisor.ts');
    await runSupervisor(options.name);
    await new Promise(() => {}); // runs until SIGTERM
  });

  program
    .command('cleanup')
    .description('remove everything left by crashed runs: orphaned labs (processes, namespaces, links), orphaned kind clusters, an idle harness dockerd')
    .option('--all', 'also remove labs and harness-made kind clusters that are still healthy or kept')
    .action(async (options: { all?: boolean }) => {
      const removed = await (await labApi()).cleanupLabs(options);
      const kind = await (await import('./kind.ts')).cleanupKind(options);
      if (removed.length === 0 && kind.length === 0) progress('nothing to clean up');
      for (const r of removed) progress(describeRemoved(r));
      for (const line of kind) progress(line);
    });
  return lab;
}

function describeRemoved(r: Removed): string {
  return `removed lab ${r.lab}: ${r.processes} processes, ${r.netns.length} namespaces, ${r.links.length} host links`;
}

async function podLogPath(lab: string, ref: string): Promise<string> {
  const [namespace, pod, container] = ref.split('/');
  const spec = await (await labApi()).readSpec(lab);
  const layout = labLayout(lab);
  for (let i = 1; i <= (spec?.nodes ?? 0); i += 1) {
    const podsDir = `${layout.node(labNames(lab).nodeName(i))}/pods`;
    if (!existsSync(podsDir)) continue;
    const dir = readdirSync(podsDir).find((d) => d.startsWith(`${namespace}_${pod}_`));
    if (!dir) continue;
    const files = readdirSync(`${podsDir}/${dir}`).filter((f) => f.endsWith('.log'));
    const file = container ? `${container}.log` : files[0];
    if (file) return `${podsDir}/${dir}/${file}`;
  }
  return `${layout.dir}/missing`;
}

function renderSmoke(result: SmokeResult): string {
  const out: string[] = [`\nlab ${result.lab} (${result.proxyMode}): ClusterIP Service → 3 sample pods, load from a client pod\n`];
  for (const phase of result.phases) {
    const table = textTable(['pod', 'node', 'requests', 'share', 'connections', 'server counted']);
    for (const pod of phase.run.pods) {
      const server = phase.run.crossCheck?.rows.find((r) => r.pod === pod.name)?.server;
      table.push([pod.name, pod.node, pod.requests, `${(pod.share * 100).toFixed(1)}% ${'█'.repeat(Math.round(pod.share * 30))}`, pod.connections, server ?? '-']);
    }
    const m = phase.run.metrics;
    out.push(`${phase.name}: ${phase.description}`, table.toString(),
      `  Jain ${m.jainIndex?.toFixed(3) ?? '-'}  max/min ${m.maxMinRatio?.toFixed(2) ?? '∞'}  chi-square ${m.chiSquare.valid ? `p ${m.chiSquareP?.toPrecision(3)}${tooEven({ valid: true, lowerPValue: m.chiSquareLowerP }) ? ` (${tooEvenText})` : ''}` : `not applicable (${m.chiSquare.note})`} (unit: ${m.chiSquare.unit}, n=${m.chiSquare.n})  errors ${phase.run.errors.total}\n`);
  }
  out.push(...result.verdicts.map((v) => `  ${v}`), `\n${result.passed ? 'PASSED' : 'FAILED'} — ${result.file}\n`);
  return out.join('\n');
}
