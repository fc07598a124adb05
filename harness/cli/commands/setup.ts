import type { Command } from 'commander';
import { installBinaries } from '../../setup/install-binaries.ts';
import { installSampleServer } from '../../setup/sample-server-build.ts';
import { badInput } from '../../core/errors.ts';
import { type BuildGroup, buildGroups } from '../../setup/versions.ts';

/** The harness's own Go program, built from this repository next to the pinned upstream groups. */
const sampleServerGroup = 'sample-server';

export function registerSetup(program: Command): void {
  program
    .command('setup-binaries')
    .description('build the pinned upstream binaries (kube-apiserver, kube-proxy, etcd, k6, kind, ghz, cilium) and the Go sample server into the cache; reuses what is built')
    .option('--only <groups>', `comma-separated groups: kubernetes,etcd,k6,kind,ghz,actionlint,traefik,cilium,${sampleServerGroup}, and the ones built on request: e2e (kth lab e2e), coredns (kth lab up --dns)`)
    .action(async (options: { only?: string }) => {
      const only = options.only?.split(',').map((s) => s.trim());
      const known = [...buildGroups.map((group) => group.id as string), sampleServerGroup];
      const unknown = only?.filter((group) => !known.includes(group)) ?? [];
      if (unknown.length > 0) throw badInput(`--only ${unknown.join(',')}: no such group`, { where: '--only', hint: `use some of ${known.join(', ')}` });
      const upstream = only?.filter((group) => group !== sampleServerGroup) as BuildGroup['id'][] | undefined;
      if (!only || upstream!.length > 0) await installBinaries(upstream ? { only: upstream } : {});
      if (!only || only.includes(sampleServerGroup)) await installSampleServer();
    });
}
