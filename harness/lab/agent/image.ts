import { join } from 'node:path';
import type { V1Container } from '@kubernetes/client-node';
import type { BinaryName } from '../../setup/versions.ts';
import { type ImageFile, resolveUpstreamImage } from './upstream-images.ts';

/**
 * Image → local command mapping. The lab has no container runtime: the harness's own images run
 * the harness's CLI from this checkout (with the ENTRYPOINT, WORKDIR and ENV their Dockerfile
 * gives them), the upstream images of upstream-images.ts run the binaries setup built, and any
 * other image runs the container's `command` + `args` as a program on the host's filesystem.
 */
export const harnessImageTargets = ['http-server', 'grpc-server', 'load-driver', 'http-server-go', 'grpc-server-go'] as const;
export type HarnessImageTarget = (typeof harnessImageTargets)[number];

/**
 * What harness/workloads/image/Dockerfile gives each target: the program (the harness CLI on
 * Node.js, or the Go sample server), its ENTRYPOINT arguments, and ENV. A unit test reads the
 * Dockerfile and checks this table against it.
 */
export const harnessImageDefinitions: Record<HarnessImageTarget, { program: 'kth' | 'go-server'; entrypoint: readonly string[]; env: Readonly<Record<string, string>> }> = {
  'http-server': { program: 'kth', entrypoint: ['serve', 'http'], env: { NODE_ENV: 'production', KTH_HOST: '0.0.0.0', KTH_PORT: '8080' } },
  'grpc-server': { program: 'kth', entrypoint: ['serve', 'grpc'], env: { NODE_ENV: 'production', KTH_HOST: '0.0.0.0', KTH_PORT: '9090', KTH_METRICS_PORT: '9091' } },
  'load-driver': { program: 'kth', entrypoint: ['load'], env: { NODE_ENV: 'production' } },
  'http-server-go': { program: 'go-server', entrypoint: ['http'], env: { KTH_HOST: '0.0.0.0', KTH_PORT: '8080' } },
  'grpc-server-go': { program: 'go-server', entrypoint: ['grpc'], env: { KTH_HOST: '0.0.0.0', KTH_PORT: '9090', KTH_METRICS_PORT: '9091' } },
};

// [registry[:port]/][any/path/]kube-traffic-harness/<target>[:tag][@sha256:digest]
const harnessImagePattern = /^(?:.+\/)?kube-traffic-harness\/(http-server(?:-go)?|grpc-server(?:-go)?|load-driver)(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$/;

export function harnessImageTarget(image: string): HarnessImageTarget | undefined {
  const match = harnessImagePattern.exec(image.trim());
  return match ? (match[1] as HarnessImageTarget) : undefined;
}

export interface ContainerCommand {
  kind: 'harness' | 'host';
  /** The program and its arguments, before $(VAR) expansion. */
  argv: string[];
  /** The image's own environment (Dockerfile ENV); the container's env overrides it. */
  imageEnv: Record<string, string>;
  /** Working directory when the container sets none (the image's WORKDIR). */
  defaultWorkingDir: string | undefined;
  /** What containerStatuses[].imageID reports. */
  imageId: string;
  /** Files of the image the container sees at their paths (the upstream images' own programs). */
  imageFiles?: ImageFile[];
}

export type CommandResolution = { ok: true; command: ContainerCommand } | { ok: false; reason: string; message: string };

export interface ImageContext {
  repoRoot: string;
  /** The Node.js that runs harness images (this process's). */
  nodeExecPath: string;
  /** The CLI harness images run (this process's: the sources, or the bundle in a guest). Default: harness/bin/kth.mjs. */
  kthEntry?: string;
  /** The Go sample server binary (the `-go` images); undefined when setup has not built it. */
  goServerPath?: string;
  /** Upstream programs setup built, for the upstream images the lab provides (upstream-images.ts). */
  upstreamBinaries?: Partial<Record<BinaryName, string>>;
  harnessVersion: string;
}

/**
 * Resolves what to run for a container, with Docker's rules: `command` replaces the ENTRYPOINT,
 * `args` replaces the CMD (the harness images have no CMD).
 */
export function resolveContainerCommand(container: Pick<V1Container, 'name' | 'image' | 'command' | 'args'>, context: ImageContext): CommandResolution {
  const image = container.image ?? '';
  const command = container.command ?? [];
  const args = container.args ?? [];
  const target = harnessImageTarget(image);
  if (target) {
    const definition = harnessImageDefinitions[target];
    if (definition.program === 'go-server' && command.length === 0 && !context.goServerPath) {
      return {
        ok: false,
        reason: 'CreateContainerError',
        message: `container ${container.name}: image '${image}' runs the Go sample server, which is not built on this host: run npm run setup (or use runtime node)`,
      };
    }
    const program = definition.program === 'kth' ? [context.nodeExecPath, context.kthEntry ?? join(context.repoRoot, 'harness/bin/kth.mjs')] : [context.goServerPath as string];
    const entrypoint = command.length > 0 ? command : [...program, ...definition.entrypoint];
    return {
      ok: true,
      command: {
        kind: 'harness',
        argv: [...entrypoint, ...args],
        imageEnv: { ...definition.env },
        defaultWorkingDir: context.repoRoot,
        imageId: `kth-lab://kube-traffic-harness/${target}@${context.harnessVersion}`,
      },
    };
  }
  const upstream = resolveUpstreamImage(container, context.upstreamBinaries ?? {});
  if (upstream?.ok === false) return { ok: false, reason: 'CreateContainerError', message: upstream.message };
  if (upstream) return { ok: true, command: { kind: 'host', argv: upstream.argv, imageEnv: {}, defaultWorkingDir: undefined, imageId: upstream.imageId, imageFiles: upstream.imageFiles } };
  const argv = [...command, ...args];
  if (argv.length === 0 || argv[0] === '') {
    return {
      ok: false,
      reason: 'CreateContainerError',
      message:
        `container ${container.name}: image '${image}' is not a kube-traffic-harness image, and the lab runs other images as host programs: ` +
        `set the container's command (and args) to a program on the host, e.g. command: ["python3", "-m", "http.server", "8080"]`,
    };
  }
  return { ok: true, command: { kind: 'host', argv, imageEnv: {}, defaultWorkingDir: undefined, imageId: `kth-lab://host/${image}` } };
}
