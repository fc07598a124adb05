import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { formatMs } from '../../core/duration.ts';
import { useDockerEngine } from '../../docker/engine.ts';
import { withFileLock } from '../../docker/file-lock.ts';
import { assembleNodeImage, NODE_IMAGE_LABEL } from './assemble.ts';
import { nodeImageCacheDir } from './cache.ts';
import { componentImages } from './component-images.ts';
import { DEBIAN_SUITE, KIND_VERSION, KUBERNETES_VERSION, NETFILTER_PACKAGES, NODE_BINARY_DIRS, NODE_PACKAGES, nodeBuildGroups, setupGroupsInImage } from './components.ts';
import { imageExists, imageLabel } from '../../workloads/image/docker.ts';
import { type BuiltBinary, goGroupBinaries, setupGroupBinaries } from './go-binaries.ts';
import { kubeadmImageList } from './image-list.ts';
import { kindSources } from './kind-files.ts';
import { kindnetdBinary, pauseBinary } from './local-binaries.ts';
import { layOutNodeRootfs } from './node-rootfs.ts';
import { pruneOlderBuilds } from './prune.ts';
import { nodeImageRef, recipeHash } from './recipe.ts';
import { debianRootfs } from './rootfs.ts';
import { type Log, step } from './steps.ts';

export { NODE_IMAGE_LABEL } from './assemble.ts';
export { nodeImageRef } from './recipe.ts';

export interface NodeImageResult {
  ref: string;
  /** The image already existed for this recipe: nothing was built. */
  reused: boolean;
  durationMs: number;
  /** Component name → version and source (also the image's NODE_IMAGE_LABEL, as JSON). */
  components: Record<string, string>;
}

/**
 * A kind node image for KUBERNETES_VERSION built with no container registry: every program from
 * its Go module (or C source), Debian from debootstrap, kind's node layout from kind's module,
 * every image kubeadm and kind need preloaded. Reuses the image when the recipe is unchanged
 * (unless `force`), and each intermediate when its own inputs are.
 */
export async function buildNodeImage(options: { log: (line: string) => void; force?: boolean }): Promise<NodeImageResult> {
  const started = Date.now();
  const { log } = options;
  const ref = nodeImageRef();
  const engine = await useDockerEngine({ purpose: 'the kind node image build', log });
  try {
    await mkdir(nodeImageCacheDir(), { recursive: true });
    // One build at a time per cache: two would race on the same intermediates.
    return await withFileLock(join(nodeImageCacheDir(), 'build.lock'), async () => {
      if (!options.force && (await imageExists(ref))) {
        const components = await labelOf(ref);
        log(`[node-image] ${ref}: present, reused (${formatMs(Date.now() - started)})`);
        return { ref, reused: true, durationMs: Date.now() - started, components };
      }
      log(`[node-image] building ${ref} (kind ${KIND_VERSION} layout, Kubernetes ${KUBERNETES_VERSION}, Debian ${DEBIAN_SUITE})`);
      const components = await build(ref, log);
      log(`[node-image] ${ref}: built in ${formatMs(Date.now() - started)}`);
      return { ref, reused: false, durationMs: Date.now() - started, components };
    }, 4 * 3_600_000);
  } finally {
    await engine.release();
  }
}

async function build(ref: string, log: Log): Promise<Record<string, string>> {
  // Compiles (CPU) and debootstraps (network) overlap; each Go group builds alone, using all cores.
  // Both run to their end before a failure of either is thrown, so nothing outlives the build lock.
  const [compiled, bootstrapped] = await Promise.allSettled([
    (async () => {
      const all: BuiltBinary[] = [];
      for (const group of setupGroupsInImage) all.push(...setupGroupBinaries(group, log));
      for (const group of nodeBuildGroups) all.push(...(await goGroupBinaries(group, log)));
      all.push(await kindnetdBinary(log));
      return all;
    })(),
    (async () => [await debianRootfs('node', NODE_PACKAGES, log), await debianRootfs('component-base', NETFILTER_PACKAGES, log)] as const)(),
  ]);
  if (compiled.status === 'rejected') throw compiled.reason;
  if (bootstrapped.status === 'rejected') throw bootstrapped.reason;
  const binaries = compiled.value;
  const [nodeRootfs, componentBase] = bootstrapped.value;
  const pause = await pauseBinary(log);
  binaries.push(pause);
  const byName = new Map(binaries.map((b) => [b.name, b]));
  const imageList = await kubeadmImageList((byName.get('kubeadm') as BuiltBinary).path);
  log(`[node-image] kubeadm ${KUBERNETES_VERSION} lists: ${imageList.join(' ')}`);
  const images = await componentImages({ imageList, binaries: byName, pauseTag: pause.tag, base: componentBase, log });
  const kind = await kindSources();

  const components: Record<string, string> = {
    'kind-layout': `sigs.k8s.io/kind@${KIND_VERSION} (images/base/files, containerd config, default-cni.yaml)`,
    rootfs: nodeRootfs.source,
    'component-image-base': componentBase.source,
    restrict_oom_score_adj: 'set at node boot only when the node container lacks CAP_SYS_RESOURCE (/kind/bin/kth-restrict-oom-score-adj.sh)',
  };
  for (const b of binaries.filter((b) => NODE_BINARY_DIRS[b.name])) components[b.name] = `${b.reported} (${b.source})`;
  for (const image of images.images) components[`image ${image.tags.join(' ')}`] = `${image.binary.reported} (${image.binary.source})`;

  const rootfsDir = join(nodeImageCacheDir(), 'work', `node-rootfs-${process.pid}`);
  try {
    await step(log, 'lay out node rootfs', () => layOutNodeRootfs({ dir: rootfsDir, tarball: nodeRootfs.tarball, kind, binaries }));
    const expectedImages = images.images.flatMap((i) => i.tags);
    await assembleNodeImage({ ref, key: recipeHash(), rootfsDir, archive: images.archive, expectedImages, label: JSON.stringify(components), log });
  } finally {
    await rm(rootfsDir, { recursive: true, force: true });
  }
  await pruneOlderBuilds({ ref, archive: images.archive, log });
  return components;
}

async function labelOf(ref: string): Promise<Record<string, string>> {
  try {
    return JSON.parse((await imageLabel(ref, NODE_IMAGE_LABEL)) ?? '{}') as Record<string, string>;
  } catch {
    return {};
  }
}
