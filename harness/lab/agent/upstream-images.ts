import type { V1Container } from '@kubernetes/client-node';
import { type BinaryName, TRAEFIK_VERSION } from '../../setup/versions.ts';

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
  /** The program's argv for a container of this image; undefined when it runs something else (a shell, say). */
  argv(program: string, command: readonly string[], args: readonly string[]): string[] | undefined;
}

const traefikSubcommands = new Set(['version', 'healthcheck']);

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
];

export type UpstreamResolution = { ok: true; argv: string[]; imageId: string } | { ok: false; message: string } | undefined;

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
  if (!program) return { ok: false, message: `container ${container.name}: image '${image}' runs ${row.name}, which is not built on this host: run npm run setup` };
  const argv = row.argv(program, container.command ?? [], container.args ?? []);
  return argv ? { ok: true, argv, imageId: `kth-lab://${row.name}@${row.version}` } : undefined;
}
