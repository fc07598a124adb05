import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { environmentError } from '../../core/errors.ts';
import { pinnedModuleDir } from '../../setup/go-module-build.ts';
import { type BuildGroup, buildGroups } from '../../setup/versions.ts';
import { nodeImageCacheDir } from './cache.ts';
import { KIND_SANDBOX_IMAGE, KIND_VERSION, KINDNETD_IMAGE } from './components.ts';

/**
 * What the node image takes from kind's own source (the module setup already downloads): the base
 * image's files, the default CNI manifest template and the sandbox image its containerd config names.
 * Read at build time and copied into the image; nothing of it is kept in this repository.
 */
export interface KindSources {
  moduleDir: string;
  /** images/base/files: copied into the node's root as kind's Dockerfile does. */
  baseFilesDir: string;
  /** /kind/manifests/default-cni.yaml: the template with its marker comments and {{ .PodSubnet }}. */
  defaultCniManifest: string;
}

export async function kindSources(): Promise<KindSources> {
  const group = buildGroups.find((g) => g.id === 'kind') as BuildGroup;
  const moduleDir = await pinnedModuleDir({ ...group, version: KIND_VERSION }, join(nodeImageCacheDir(), 'src', `kind-${KIND_VERSION}`));
  const where = `sigs.k8s.io/kind@${KIND_VERSION}`;
  const cniSource = await readFile(join(moduleDir, 'pkg/build/nodeimage/const_cni.go'), 'utf8');
  const image = /^const kindnetdImage = "([^"]+)"$/m.exec(cniSource)?.[1];
  const template = /^const defaultCNIManifest = `([^`]*(?:` \+ kindnetdImage \+ `[^`]*)*)`$/m.exec(cniSource)?.[1];
  if (!image || !template) throw layoutError(where, 'pkg/build/nodeimage/const_cni.go has no kindnetdImage / defaultCNIManifest');
  if (image !== KINDNETD_IMAGE) throw layoutError(where, `kind's CNI image is ${image}, the recipe builds ${KINDNETD_IMAGE}`);
  const config = await readFile(join(moduleDir, 'images/base/files/etc/containerd/config.toml'), 'utf8');
  const sandbox = /sandbox_image = "([^"]+)"/.exec(config)?.[1];
  if (sandbox !== KIND_SANDBOX_IMAGE) throw layoutError(where, `kind's containerd config names sandbox image ${sandbox}, the recipe loads ${KIND_SANDBOX_IMAGE}`);
  return {
    moduleDir,
    baseFilesDir: join(moduleDir, 'images/base/files'),
    defaultCniManifest: template.replaceAll('` + kindnetdImage + `', image),
  };
}

function layoutError(where: string, what: string) {
  return environmentError(`the kind node image recipe does not match ${where}: ${what}`, {
    where: 'harness/kind/node-image/components.ts',
    hint: 'update the pins in components.ts to what this kind release expects',
  });
}
