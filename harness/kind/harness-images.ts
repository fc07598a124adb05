import { binaryPath } from '../setup/binaries.ts';
import { buildImages } from '../workloads/image/build.ts';
import type { ImageTarget } from '../workloads/image/names.ts';
import { runKind } from './cluster.ts';

/**
 * The harness's own images (sample servers, load driver) on kind: built on this machine from the
 * working tree (on a base made from Debian's and this host's files, never pulled; Docker's layer
 * cache makes an unchanged tree a no-op) and loaded into every node's containerd, where the
 * Deployments' IfNotPresent finds them.
 */
export const loadHarnessImages = {
  async prepare(options: { goServers: boolean; log: (line: string) => void }): Promise<string[]> {
    const targets: ImageTarget[] = ['http-server', 'grpc-server', 'load-driver', ...(options.goServers ? (['http-server-go', 'grpc-server-go'] as const) : [])];
    const started = performance.now();
    const built = await buildImages({ targets });
    const refs = targets.map((target) => built.images[target] as string);
    options.log(`harness images built (${((performance.now() - started) / 1000).toFixed(1)} s): ${refs.join(', ')}`);
    return refs;
  },
  async load(cluster: string, refs: readonly string[], log: (line: string) => void): Promise<void> {
    const started = performance.now();
    await runKind(['load', 'docker-image', '--name', cluster, ...refs], () => undefined, `load the harness images into kind cluster ${cluster} (${binaryPath('kind')})`);
    log(`harness images loaded into ${cluster} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  },
};
