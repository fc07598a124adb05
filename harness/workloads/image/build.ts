import { run } from '../../core/exec.ts';
import { requireGoServer } from '../runtime.ts';
import { buildBaseImage } from './base-image.ts';
import { stageBuildContext } from './context.ts';
import { buildkitEnv, imageLabel, requireDocker } from './docker.ts';
import { contextFingerprint, contextLabel } from './fingerprint.ts';
import { defaultImageTag, type ImageTarget, imageRef, imageTargets } from './names.ts';

export { buildBaseImage } from './base-image.ts';
export { imageRef, imageTargets, type ImageTarget } from './names.ts';

export interface BuildImagesOptions {
  /** @default the harness version */
  tag?: string;
  /** Base image for the build (`BASE_IMAGE`). @default a local one made by buildBaseImage() */
  baseImage?: string;
  /** @default every target (the -go ones need the Go sample server built by setup) */
  targets?: readonly ImageTarget[];
}

export interface BuiltImages {
  baseImage: string;
  images: Partial<Record<ImageTarget, string>>;
  /** Every image already carried the fingerprint of this tree: nothing was built. */
  reused: boolean;
}

/**
 * Builds the sample images from the one multi-target Dockerfile with a local Docker engine, on
 * top of a base image that needs no registry. The kind provider loads the results into its nodes.
 */
export async function buildImages(options: BuildImagesOptions = {}): Promise<BuiltImages> {
  await requireDocker('building the sample images');
  const baseImage = options.baseImage ?? (await buildBaseImage());
  const tag = options.tag ?? defaultImageTag();
  const env = await buildkitEnv();
  const targets = options.targets ?? imageTargets;
  const needsGo = targets.some((target) => target.endsWith('-go'));
  const goServer = needsGo ? requireGoServer() : undefined;
  const baseImageId = (await run(['docker', 'image', 'inspect', '--format', '{{.Id}}', baseImage], { purpose: `inspect ${baseImage}` })).stdout.trim();
  // Each target's own inputs: the Node.js ones do not change with the Go binary.
  const nodeFingerprint = await contextFingerprint({ baseImageId });
  const goFingerprint = goServer ? await contextFingerprint({ goServer, baseImageId }) : undefined;
  const fingerprintOf = (target: ImageTarget) => (target.endsWith('-go') ? (goFingerprint as string) : nodeFingerprint);
  const images: BuiltImages['images'] = Object.fromEntries(targets.map((target) => [target, imageRef(target, tag)]));
  const stale: ImageTarget[] = [];
  for (const target of targets) if ((await imageLabel(imageRef(target, tag), contextLabel)) !== fingerprintOf(target)) stale.push(target);
  if (stale.length === 0) return { baseImage, images, reused: true };
  await using context = await stageBuildContext(undefined, goServer ? { goServer } : {});
  for (const target of stale) {
    const ref = imageRef(target, tag);
    await run(
      ['docker', 'build', '--build-arg', `BASE_IMAGE=${baseImage}`, '--label', `${contextLabel}=${fingerprintOf(target)}`, '--target', target, '--tag', ref, '--file', context.dockerfile, context.dir],
      { env, purpose: `build image ${ref}`, timeoutMs: 600_000 },
    );
  }
  return { baseImage, images, reused: false };
}
