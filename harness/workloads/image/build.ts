import { run } from '../../core/exec.ts';
import { requireGoServer } from '../runtime.ts';
import { buildBaseImage } from './base-image.ts';
import { stageBuildContext } from './context.ts';
import { buildkitEnv, requireDocker } from './docker.ts';
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
  await using context = await stageBuildContext(undefined, needsGo ? { goServer: requireGoServer() } : {});
  const images: BuiltImages['images'] = {};
  for (const target of targets) {
    const ref = imageRef(target, tag);
    await run(
      ['docker', 'build', '--build-arg', `BASE_IMAGE=${baseImage}`, '--target', target, '--tag', ref, '--file', context.dockerfile, context.dir],
      { env, purpose: `build image ${ref}`, timeoutMs: 600_000 },
    );
    images[target] = ref;
  }
  return { baseImage, images };
}
