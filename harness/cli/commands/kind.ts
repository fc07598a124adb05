import type { Command } from 'commander';
import { badInput } from '../../core/errors.ts';
import { parseProxyModes } from '../../engine/plan.ts';
import { textTable } from '../table.ts';

const progress = (line: string) => void process.stderr.write(`${line}\n`);

/** `kth kind …`: the kind provider's clusters and node image, outside a run. */
export function registerKind(program: Command): void {
  const kind = program.command('kind').description('kind clusters made by the harness (kth run --provider kind makes and removes its own)');

  kind
    .command('build-node-image')
    .description('build the kind node image for the pinned Kubernetes without any registry (Debian packages and Go modules only); reused when built')
    .option('--force', 'rebuild the image even when it exists (cached parts are still reused)')
    .action(async (flags: { force?: boolean }) => {
      const { useDockerEngine } = await import('../../docker/engine.ts');
      const { buildNodeImage } = await import('../../kind/node-image/index.ts');
      await using _engine = await useDockerEngine({ purpose: 'building the kind node image', log: progress, privileged: true });
      const result = await buildNodeImage({ log: progress, ...(flags.force ? { force: true } : {}) });
      progress(`${result.reused ? 'reused' : 'built'} ${result.ref} in ${(result.durationMs / 1000).toFixed(1)} s`);
      process.stdout.write(`${result.ref}\n`);
    });

  kind
    .command('up')
    .description('make a kind cluster the way kth run --provider kind does, and keep it (kth run --provider kind --cluster <name> runs on it; kth kind down removes it)')
    .option('--proxy-mode <mode>', 'iptables | nftables (ipvs where the kernel has IP_VS)', 'iptables')
    .option('--nodes <n>', 'nodes that run pods (a control plane and n − 1 workers)', '1')
    .option('--kind-config <file>', 'a kind cluster config merged over the generated one')
    .option('--node-image <image>', 'the node image instead of the harness-built one')
    .action(async (flags: { proxyMode: string; nodes: string; kindConfig?: string; nodeImage?: string }) => {
      const [mode, ...more] = parseProxyModes(flags.proxyMode);
      if (!mode || more.length > 0) throw badInput(`--proxy-mode: one mode per cluster, not '${flags.proxyMode}'`, { where: '--proxy-mode' });
      const nodes = Number(flags.nodes);
      if (!Number.isInteger(nodes) || nodes < 1 || nodes > 10) throw badInput(`--nodes: '${flags.nodes}' is not a whole number from 1 to 10`, { where: '--nodes' });
      const { kindProvider, kindUnsupported } = await import('../../engine/providers/kind.ts');
      const why = await kindUnsupported(mode);
      if (why) throw badInput(`--proxy-mode ${mode}: ${why}`, { where: '--proxy-mode' });
      const { readUserKindConfig } = await import('../../kind/config.ts');
      const userConfig = flags.kindConfig ? readUserKindConfig(flags.kindConfig) : undefined;
      const cluster = await kindProvider({ nodes, retain: true, goServers: true, ...(userConfig ? { userConfig } : {}), ...(flags.nodeImage ? { nodeImage: flags.nodeImage } : {}) }).open(mode, progress);
      await cluster.down(); // with retain: records the cluster as kept
      process.stdout.write(`${cluster.kept}\n`);
    });

  kind
    .command('down')
    .description('delete kind clusters the harness made (never one it did not make)')
    .option('--name <cluster>', 'one cluster (kth kind status lists them)')
    .option('--all', 'every cluster the harness made, kept ones included')
    .action(async (flags: { name?: string; all?: boolean }) => {
      if (!flags.name === !flags.all) throw badInput('name one cluster (--name) or pass --all', { where: 'kth kind down' });
      const { readKindRecords, removeKindClusters } = await import('../../kind/cluster.ts');
      const picked = (record: { name: string }) => flags.all || record.name === flags.name;
      const records = readKindRecords().filter(picked);
      if (flags.name && records.length === 0) throw badInput(`no kind cluster named ${flags.name} was made by the harness on this machine`, { where: '--name', hint: 'kth kind status lists them; clusters the harness did not make are never touched' });
      if (records.length === 0) return progress('no kind clusters to remove');
      const { useDockerEngine } = await import('../../docker/engine.ts');
      await using _engine = await useDockerEngine({ purpose: 'removing kind clusters', log: progress });
      for (const name of await removeKindClusters(picked, progress)) progress(`removed kind cluster ${name}`);
    });

  kind
    .command('status')
    .description('the kind clusters the harness made: mode, nodes, node image, whether their process still runs')
    .action(async () => {
      const { readKindRecords, kubeconfigPathOf, isOrphaned } = await import('../../kind/cluster.ts');
      const records = readKindRecords();
      if (records.length === 0) return progress('no kind clusters made by the harness');
      const table = textTable(['cluster', 'proxy mode', 'nodes', 'node image', 'state', 'kubeconfig']);
      for (const r of records) table.push([r.name, r.proxyMode, r.nodes, r.image, r.retained ? 'kept' : isOrphaned(r) ? 'orphaned (kth cleanup removes it)' : `in use (pid ${r.pid})`, kubeconfigPathOf(r.name)]);
      process.stdout.write(`${table.toString()}\n`);
    });
}

/** `kth cleanup`'s part for kind: orphaned clusters (and the harness's Docker engine when nothing is left on it). */
export async function cleanupKind(options: { all?: boolean }): Promise<string[]> {
  const { readKindRecords, isOrphaned, removeKindClusters } = await import('../../kind/cluster.ts');
  const { stopOrphanedEngine } = await import('../../docker/engine.ts');
  const { dockerServerVersion } = await import('../../workloads/image/docker.ts');
  const lines: string[] = [];
  if (readKindRecords().length > 0 && (await dockerServerVersion())) {
    const removed = await removeKindClusters(options.all ? () => true : isOrphaned, progress);
    lines.push(...removed.map((name) => `removed kind cluster ${name}`));
  }
  const stopped = await stopOrphanedEngine();
  if (stopped) lines.push(`stopped the harness's dockerd (pid ${stopped}): no run uses it`);
  return lines;
}
