import type { V1Container } from '@kubernetes/client-node';
import { buildCommandFor } from '../../setup/binaries.ts';
import { AGNHOST_VERSION, type BinaryName, COREDNS_VERSION, PAUSE_IMAGE_VERSION, TRAEFIK_VERSION } from '../../setup/versions.ts';

/**
 * Upstream images the lab runs from the binaries setup builds, one row each: which references
 * match, which built program stands in for the image, and how the image's ENTRYPOINT/CMD turn a
 * container's `command`/`args` into that program's argv (as a container runtime would). On kind
 * and existing clusters the same manifests pull the published images.
 */
export interface UpstreamImage {
  /** The image's name as people write it, for messages. */
  name: string;
  /** References of this image the lab provides (name, optional registry, tag of the built major version). */
  provided: RegExp;
  /** References of this image with another version: refused, saying which version the lab has. */
  sameImage: RegExp;
  binary: BinaryName;
  version: string;
  /**
   * Where the image keeps its program, for images whose users exec it by that path (e2e tests run
   * `/agnhost connect …` in agnhost pods): the built binary is bind-mounted there in the
   * container's own mount namespace, over an empty placeholder the lab records and removes (as
   * for terminationMessagePath).
   */
  programPaths?: readonly string[];
  /** The program's argv for a container of this image; undefined when it runs something else (a shell, say). */
  argv(program: string, command: readonly string[], args: readonly string[]): string[] | undefined;
}

const traefikSubcommands = new Set(['version', 'healthcheck']);

/** The agnhost image's names for its own program: the ENTRYPOINT and the image's `agnhost-2` link. */
const agnhostProgram = /^\/?agnhost(?:-2)?$/;
const escaped = (version: string) => version.replaceAll('.', '\\.');

export const upstreamImages: readonly UpstreamImage[] = [
  {
    name: 'traefik',
    provided: /^(?:docker\.io\/)?(?:library\/)?traefik(?::(?:v?3(?:\.[\w.-]*)?|latest))?(?:@sha256:[0-9a-f]{64})?$/,
    sameImage: /^(?:docker\.io\/)?(?:library\/)?traefik(?::[\w.-]+)?(?:@sha256:[0-9a-f]{64})?$/,
    binary: 'traefik',
    version: TRAEFIK_VERSION,
    // The image: ENTRYPOINT ["/entrypoint.sh"], CMD ["traefik"]; the script prepends `traefik` to
    // arguments that are flags or traefik's own subcommands, and execs anything else as given.
    argv(program, command, args) {
      const isTraefik = (word: string | undefined) => word === 'traefik' || word === '/usr/local/bin/traefik';
      if (command.length > 0 && command[0] !== '/entrypoint.sh') return isTraefik(command[0]) ? [program, ...command.slice(1), ...args] : undefined;
      const words = command.length > 0 ? [...command.slice(1), ...args] : args.length > 0 ? args : ['traefik'];
      if (isTraefik(words[0])) return [program, ...words.slice(1)];
      if (words[0]?.startsWith('-') || traefikSubcommands.has(words[0] ?? '')) return [program, ...words];
      return undefined;
    },
  },
  {
    // Kubernetes' e2e test image (test/images/agnhost), built by setup from the pinned Kubernetes
    // module for `kth lab e2e`. The image: ENTRYPOINT ["/agnhost"], CMD ["pause"].
    name: 'agnhost',
    provided: new RegExp(`^(?:registry\\.k8s\\.io/e2e-test-images/)?agnhost:${escaped(AGNHOST_VERSION)}(?:@sha256:[0-9a-f]{64})?$`),
    sameImage: /^(?:registry\.k8s\.io\/e2e-test-images\/)?agnhost(?::[\w.-]+)?(?:@sha256:[0-9a-f]{64})?$/,
    binary: 'agnhost',
    version: AGNHOST_VERSION,
    programPaths: ['/agnhost'],
    argv(program, command, args) {
      if (command.length > 0) return agnhostProgram.test(command[0] as string) ? [program, ...command.slice(1), ...args] : undefined;
      return [program, ...(args.length > 0 ? args : ['pause'])];
    },
  },
  {
    // The lab's cluster DNS (cluster-dns.ts). The image: ENTRYPOINT ["/coredns"].
    name: 'coredns',
    provided: new RegExp(`^(?:registry\\.k8s\\.io/coredns/)?coredns:${escaped(COREDNS_VERSION)}(?:@sha256:[0-9a-f]{64})?$`),
    sameImage: /^(?:registry\.k8s\.io\/coredns\/)?coredns(?::[\w.-]+)?(?:@sha256:[0-9a-f]{64})?$/,
    binary: 'coredns',
    version: COREDNS_VERSION,
    argv(program, command, args) {
      if (command.length > 0) return command[0] === '/coredns' || command[0] === 'coredns' ? [program, ...command.slice(1), ...args] : undefined;
      return [program, ...args];
    },
  },
  {
    // A stand-in, not nginx: e2e tests (EndpointSlice's) run the e2e nginx image only as "a web
    // server on port 80". agnhost's netexec is one; a container that names its own command runs
    // that command from the host, like any image.
    name: 'registry.k8s.io/e2e-test-images/nginx',
    provided: /^(?:registry\.k8s\.io\/e2e-test-images\/)nginx:1\.15-4(?:@sha256:[0-9a-f]{64})?$/,
    sameImage: /^(?:registry\.k8s\.io\/e2e-test-images\/)nginx(?::[\w.-]+)?(?:@sha256:[0-9a-f]{64})?$/,
    binary: 'agnhost',
    version: '1.15-4',
    argv(program, command, args) {
      if (command.length > 0 || args.length > 0) return undefined;
      return [program, 'netexec', '--http-port=80', '--udp-port=-1'];
    },
  },
  {
    // The pod sandbox image, which e2e tests also run as a do-nothing container: agnhost's
    // `pause` does the same (sleeps until a signal, exits 0 on SIGTERM/SIGINT).
    name: 'pause',
    provided: new RegExp(`^(?:registry\\.k8s\\.io/)?pause:${escaped(PAUSE_IMAGE_VERSION)}(?:@sha256:[0-9a-f]{64})?$`),
    sameImage: /^(?:registry\.k8s\.io\/|k8s\.gcr\.io\/)?pause(?::[\w.-]+)?(?:@sha256:[0-9a-f]{64})?$/,
    binary: 'agnhost',
    version: PAUSE_IMAGE_VERSION,
    argv(program, command, args) {
      if (command.length > 0 || args.length > 0) return undefined;
      return [program, 'pause'];
    },
  },
];

export type UpstreamResolution = { ok: true; argv: string[]; imageId: string; imageFiles: ImageFile[] } | { ok: false; message: string } | undefined;

/** A host file a container sees at `target`, as if its image held it there. */
export interface ImageFile {
  source: string;
  target: string;
}

/**
 * What runs for a container of an upstream image the lab provides; undefined when the image is
 * none of them (or the container runs another program of it: the host's, like any other image).
 */
export function resolveUpstreamImage(container: Pick<V1Container, 'name' | 'image' | 'command' | 'args'>, binaries: Partial<Record<BinaryName, string>>): UpstreamResolution {
  const image = (container.image ?? '').trim();
  const row = upstreamImages.find((candidate) => candidate.sameImage.test(image));
  if (!row) return undefined;
  if (!row.provided.test(image)) {
    return { ok: false, message: `container ${container.name}: the lab runs ${row.name} ${row.version} for '${row.name}' images, and '${image}' asks for another version: use ${row.name}:${row.version}` };
  }
  const program = binaries[row.binary];
  if (!program) return { ok: false, message: `container ${container.name}: image '${image}' runs ${row.name}, which is not built on this host: run ${buildCommandFor(row.binary)}` };
  const argv = row.argv(program, container.command ?? [], container.args ?? []);
  const imageFiles = (row.programPaths ?? []).map((target) => ({ source: program, target }));
  return argv ? { ok: true, argv, imageId: `kth-lab://${row.name}@${row.version}`, imageFiles } : undefined;
}
