import { harnessVersion } from '../../core/version.ts';

/** Targets of the one multi-target Dockerfile, and the repositories they are tagged into. */
export const imageTargets = ['http-server', 'grpc-server', 'load-driver', 'http-server-go', 'grpc-server-go'] as const;
export type ImageTarget = (typeof imageTargets)[number];

export const imageRepository = (target: ImageTarget): string => `kube-traffic-harness/${target}`;

/** Images are tagged with the harness version unless a caller picks a tag. */
export const defaultImageTag = (): string => harnessVersion();

export const imageRef = (target: ImageTarget, tag = defaultImageTag()): string => `${imageRepository(target)}:${tag}`;

/** The image under a registry prefix (`ghcr.io/me` → `ghcr.io/me/kube-traffic-harness/<target>:<tag>`); no prefix: imageRef. */
export const prefixedImageRef = (target: ImageTarget, prefix: string | undefined, tag = defaultImageTag()): string =>
  `${prefix ? `${prefix.replace(/\/+$/, '')}/` : ''}${imageRef(target, tag)}`;

/** The local base image made from this machine's Node.js runtime (see base-image.ts). */
export const baseImageRef = (nodeVersion = process.versions.node): string => `kube-traffic-harness/node-base:${nodeVersion}`;
