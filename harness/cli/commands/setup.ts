import type { Command } from 'commander';
import { installBinaries } from '../../setup/install-binaries.ts';
import type { BuildGroup } from '../../setup/versions.ts';

export function registerSetup(program: Command): void {
  program
    .command('setup-binaries')
    .description('build the pinned upstream binaries (kube-apiserver, kube-proxy, etcd, k6, kind, ghz, cilium) into the cache; reuses what is built')
    .option('--only <groups>', 'comma-separated groups: kubernetes,etcd,k6,kind,ghz,cilium')
    .action(async (options: { only?: string }) => {
      const only = options.only?.split(',').map((s) => s.trim()) as BuildGroup['id'][] | undefined;
      await installBinaries(only ? { only } : {});
    });
}
