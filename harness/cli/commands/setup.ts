import type { Command } from 'commander';
import { installBinaries } from '../../setup/install-binaries.ts';
import { installSampleServer } from '../../setup/sample-server-build.ts';
import type { BuildGroup } from '../../setup/versions.ts';

/** The harness's own Go program, built from this repository next to the pinned upstream groups. */
const sampleServerGroup = 'sample-server';

export function registerSetup(program: Command): void {
  program
    .command('setup-binaries')
    .description('build the pinned upstream binaries (kube-apiserver, kube-proxy, etcd, k6, kind, ghz, cilium) and the Go sample server into the cache; reuses what is built')
    .option('--only <groups>', `comma-separated groups: kubernetes,etcd,k6,kind,ghz,actionlint,traefik,cilium,${sampleServerGroup}`)
    .action(async (options: { only?: string }) => {
      const only = options.only?.split(',').map((s) => s.trim());
      const upstream = only?.filter((group) => group !== sampleServerGroup) as BuildGroup['id'][] | undefined;
      if (!only || upstream!.length > 0) await installBinaries(upstream ? { only: upstream } : {});
      if (!only || only.includes(sampleServerGroup)) await installSampleServer();
    });
}
