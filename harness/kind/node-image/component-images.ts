import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { environmentError } from '../../core/errors.ts';
import { nodeImageCacheDir } from './cache.ts';
import { KIND_SANDBOX_IMAGE, KINDNETD_IMAGE } from './components.ts';
import { buildImage, docker, removeImages } from './docker-cli.ts';
import type { BuiltBinary } from './go-binaries.ts';
import type { Rootfs } from './rootfs.ts';
import { type Log, shortHash, step } from './steps.ts';

export interface ComponentImage {
  /** Every tag it is loaded under in the node's containerd (as kubeadm / kind name it). */
  tags: string[];
  binary: BuiltBinary;
}

export interface ComponentImages {
  /** One `docker save` archive of all of them, as `ctr images import` takes it. */
  archive: string;
  images: ComponentImage[];
}

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The images kubeadm and kind's CNI manifest name, built from the harness's binaries: pause FROM
 * scratch (a static binary, USER 65535 as upstream); the rest on a Debian minbase with iptables,
 * nftables, conntrack and iproute2 (what kube-proxy and kindnetd drive; a shell and /tmp for the
 * others, instead of distroless). Debian's default iptables is the nft backend, as on the node.
 * Cached as one archive named after everything that goes into it; the engine keeps none of them.
 */
export async function componentImages(options: {
  imageList: readonly string[];
  binaries: ReadonlyMap<string, BuiltBinary>;
  pauseTag: string;
  base: Rootfs;
  log: Log;
}): Promise<ComponentImages> {
  const { binaries, log } = options;
  const images = planImages(options.imageList, binaries, options.pauseTag);
  const recipes = images.map((image) => ({ image, dockerfile: dockerfileFor(image) }));
  const key = shortHash(options.base.tarball, ...recipes.map((r) => `${r.image.tags.join(',')}\n${r.image.binary.path}\n${r.dockerfile}`));
  const archive = join(nodeImageCacheDir(), 'images', `components-${key}.tar`);
  if (existsSync(archive)) {
    log(`[node-image] component images: cached (${archive})`);
    return { archive, images };
  }
  const baseRef = `kube-traffic-harness/kind-component-base:${key}`;
  const tags = images.flatMap((i) => i.tags);
  try {
    await step(log, 'docker import component base', async () => {
      await docker(['import', '--change', `ENV PATH=${PATH}`, options.base.tarball, baseRef], 'docker import of the component base rootfs');
    });
    for (const { image, dockerfile } of recipes) {
      await step(log, `docker build ${image.tags.join(' ')}`, () =>
        buildImage({ tags: image.tags, dockerfile: dockerfile.replace('{{base}}', baseRef), files: [image.binary.path], purpose: `build of ${image.tags[0]}` }),
      );
    }
    await step(log, `docker save ${tags.length} component images`, async () => {
      await mkdir(join(archive, '..'), { recursive: true });
      await docker(['save', '--output', `${archive}.partial`, ...tags], 'docker save of the component images', 900_000);
      await rename(`${archive}.partial`, archive);
    });
  } finally {
    await rm(`${archive}.partial`, { force: true });
    // The engine keeps none of them: registry names on the host engine would shadow nothing useful.
    await removeImages([...tags, baseRef]);
  }
  return { archive, images };
}

/** Which binary each of kubeadm's images (plus kind's CNI and sandbox images) carries. */
function planImages(imageList: readonly string[], binaries: ReadonlyMap<string, BuiltBinary>, pauseTag: string): ComponentImage[] {
  const need = (name: string): BuiltBinary => {
    const binary = binaries.get(name);
    if (!binary) throw new Error(`no built binary ${name} for its image`);
    return binary;
  };
  const images: ComponentImage[] = [];
  for (const ref of imageList) {
    const repo = ref.replace(/:[^:/]+$/, '');
    const name = repo.split('/').at(-1) as string;
    if (name === 'pause') continue; // below, with kind's sandbox tag
    if (!binaries.has(name)) {
      throw environmentError(`kubeadm lists image ${ref}, which the node image recipe does not build`, {
        where: 'harness/kind/node-image/components.ts',
        hint: 'add a build group for it (kubeadm config images list shows what it needs)',
      });
    }
    images.push({ tags: [ref], binary: need(name) });
  }
  const pauseRefs = imageList.filter((ref) => /\/pause:/.test(ref));
  const pauseTags = [...new Set([...pauseRefs, KIND_SANDBOX_IMAGE, `registry.k8s.io/pause:${pauseTag}`])];
  images.push({ tags: pauseTags, binary: need('pause') });
  images.push({ tags: [KINDNETD_IMAGE], binary: need('kindnetd') });
  return images;
}

function dockerfileFor(image: ComponentImage): string {
  const file = image.binary.name;
  if (file === 'pause') {
    // As upstream's pause image: the static binary alone, run as nobody.
    return ['FROM scratch', `COPY ${file} /pause`, 'USER 65535:65535', 'ENTRYPOINT ["/pause"]', ''].join('\n');
  }
  const lines = ['FROM {{base}}', `COPY ${file} /usr/local/bin/${file}`];
  // kubeadm runs the control plane and kube-proxy by command; coredns and kindnetd by the image.
  if (file === 'coredns') lines.push('EXPOSE 53 53/udp', 'ENTRYPOINT ["/usr/local/bin/coredns"]');
  if (file === 'kindnetd') lines.push('CMD ["/usr/local/bin/kindnetd"]');
  return `${lines.join('\n')}\n`;
}
