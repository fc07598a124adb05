import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { environmentError } from '../../core/errors.ts';
import { run } from '../../core/exec.ts';
import { nodeImageCacheDir } from './cache.ts';
import { DEBIAN_SUITE } from './components.ts';
import { type Log, shortHash, step } from './steps.ts';

export interface Rootfs {
  /** A tarball of the root filesystem, as `docker import` takes it. */
  tarball: string;
  source: string;
}

/**
 * A Debian root filesystem from debootstrap (minbase + `packages`), cached as a tarball named after
 * the suite, mirror and package list: debootstrap needs the network and ~1 min, a cached one seconds.
 */
export async function debianRootfs(name: string, packages: readonly string[], log: Log): Promise<Rootfs> {
  const mirror = debianMirror();
  const key = shortHash(DEBIAN_SUITE, mirror, [...packages].sort().join(' '));
  const dir = join(nodeImageCacheDir(), 'rootfs');
  const tarball = join(dir, `${name}-${DEBIAN_SUITE}-${key}.tar`);
  const source = `debootstrap --variant=minbase ${DEBIAN_SUITE} ${mirror} + ${packages.join(' ')}`;
  if (existsSync(tarball)) {
    log(`[node-image] rootfs ${name}: cached (${tarball})`);
    return { tarball, source };
  }
  if (!existsSync('/usr/sbin/debootstrap')) {
    throw environmentError('debootstrap is not installed', { where: 'kind node image: rootfs', hint: 'apt-get install -y debootstrap' });
  }
  await step(log, `debootstrap ${name} (${DEBIAN_SUITE}, ${packages.length} packages)`, async () => {
    await mkdir(dir, { recursive: true });
    const target = join(dir, `.${name}-${key}.building`);
    await rm(target, { recursive: true, force: true });
    try {
      await run(['debootstrap', '--variant=minbase', `--include=${packages.join(',')}`, DEBIAN_SUITE, target, mirror], {
        purpose: `debootstrap of the ${name} rootfs`,
        timeoutMs: 1_200_000,
      });
      // What an image never needs: package lists and downloaded .debs (kind's clean-install does the same).
      await run(['sh', '-c', 'rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/archives/*.deb "$1"/var/cache/debconf/*-old "$1"/var/log/*.log', 'sh', target]);
      const staged = `${tarball}.partial`;
      await run(['tar', '--numeric-owner', '--xattrs', '-C', target, '-cf', staged, '.'], { purpose: 'tar of the rootfs' });
      await rename(staged, tarball);
    } finally {
      await rm(target, { recursive: true, force: true });
    }
  });
  return { tarball, source };
}

/** The Debian mirror apt is configured with (deb822 or one-line sources), so debootstrap uses the same. */
export function debianMirror(): string {
  const files = ['/etc/apt/sources.list', ...listDir('/etc/apt/sources.list.d').map((f) => join('/etc/apt/sources.list.d', f))];
  for (const file of files) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const match of text.matchAll(/(?:^URIs:\s*|^deb\s+(?:\[[^\]]*\]\s+)?)(\S+)/gm)) {
      const uri = match[1] as string;
      if (/\/debian\/?$/.test(uri)) return uri.replace(/\/$/, '');
    }
  }
  return 'http://deb.debian.org/debian';
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}
