import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DEBIAN_SUITE, KIND_VERSION, KINDNETD_IMAGE, KUBERNETES_VERSION, NETFILTER_PACKAGES, NODE_PACKAGES, nodeBuildGroups, setupGroupsInImage } from './components.ts';
import { shortHash } from './steps.ts';

const recipeDir = new URL('.', import.meta.url).pathname;

/**
 * The hash that names the node image: every pin (including the Kubernetes ones imported from
 * setup's versions.ts) and the text of every file of the recipe (this directory: TypeScript, the
 * kindnetd stand-in, the node files). Any change to either makes a new ref, so a stale image is
 * never reused; the intermediates are cached under their own, narrower keys.
 */
export function recipeHash(): string {
  const pins = JSON.stringify({ KUBERNETES_VERSION, KIND_VERSION, KINDNETD_IMAGE, DEBIAN_SUITE, NODE_PACKAGES, NETFILTER_PACKAGES, nodeBuildGroups, setupGroupsInImage });
  const files = readdirSync(recipeDir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
  return shortHash(pins, ...files.flatMap((file) => [relative(recipeDir, file), readFileSync(file, 'utf8')]));
}

/** The ref the current recipe produces: `kube-traffic-harness/kind-node:v1.36.3-<8 hex>`. */
export function nodeImageRef(): string {
  return `kube-traffic-harness/kind-node:${KUBERNETES_VERSION}-${recipeHash()}`;
}
