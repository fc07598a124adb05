import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { environmentError } from '../../core/errors.ts';
import { run } from '../../core/exec.ts';
import { cacheRoot, repoRoot } from '../../core/paths.ts';

/**
 * The guest's kernel and initramfs. The kernel is Debian's stock `linux-image-amd64` (installed
 * by setup; only files under /boot and /lib/modules), booted uncompressed through its PVH entry:
 * under emulation, unpacking the xz kernel costs seconds at every boot. Both files are built
 * once per kernel version and cached; the initramfs is only busybox plus the modules that mount
 * the host's root (virtio, 9p, overlay), which Debian builds as modules.
 */
export const INITRAMFS_MODULES = ['virtio_ring', 'virtio', 'virtio_pci_modern_dev', 'virtio_pci_legacy_dev', 'virtio_pci', 'virtio_mmio',
  'netfs', 'fscache', '9pnet', '9pnet_virtio', '9p', 'overlay'] as const;

export interface GuestKernel {
  /** `uname -r` in the guest, e.g. 6.1.0-57-amd64. */
  release: string;
  /** The Debian package version it came from (for reports), e.g. 6.1.192-3. */
  packageVersion: string;
  vmlinuz: string;
  modulesDir: string;
}

/** The newest Debian kernel on this host that has the modules the guest needs (IP_VS included). */
export function findGuestKernel(): GuestKernel | undefined {
  if (!existsSync('/boot')) return undefined;
  const releases = readdirSync('/boot').filter((f) => /^vmlinuz-.+-amd64$/.test(f)).map((f) => f.slice('vmlinuz-'.length))
    .filter((release) => existsSync(join('/lib/modules', release, 'kernel/net/netfilter/ipvs/ip_vs.ko')) && existsSync(join('/lib/modules', release, 'kernel/fs/9p/9p.ko')))
    .sort(compareReleases);
  const release = releases.at(-1);
  if (!release) return undefined;
  return { release, packageVersion: debianPackageVersion(release), vmlinuz: join('/boot', `vmlinuz-${release}`), modulesDir: join('/lib/modules', release) };
}

function compareReleases(a: string, b: string): number {
  const nums = (r: string) => r.split(/[.-]/).map((p) => Number(p) || 0);
  const [x, y] = [nums(a), nums(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i += 1) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

/** dpkg's record of the package that installed this kernel; "unknown" when dpkg does not know it. */
function debianPackageVersion(release: string): string {
  try {
    const status = readFileSync('/var/lib/dpkg/status', 'utf8');
    const block = status.split('\n\n').find((b) => b.startsWith(`Package: linux-image-${release}\n`));
    return /\nVersion: (.+)/.exec(block ?? '')?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export interface GuestBootFiles {
  kernel: GuestKernel;
  vmlinux: string;
  initramfs: string;
}

/** The cached vmlinux and initramfs for the guest kernel, built when missing. */
export async function guestBootFiles(log: (line: string) => void = () => {}): Promise<GuestBootFiles> {
  const kernel = findGuestKernel();
  if (!kernel) {
    throw environmentError('no Debian kernel with IP_VS and 9p modules is installed for the lab guest', {
      hint: 'apt-get install linux-image-amd64 (setup does this; it only adds files under /boot and /lib/modules)',
    });
  }
  const init = await readFile(join(repoRoot, 'harness/lab/guest/initramfs-init.sh'));
  const key = createHash('sha256').update(kernel.release).update(init).update(INITRAMFS_MODULES.join(',')).digest('hex').slice(0, 12);
  const dir = join(cacheRoot(), 'guest', `${kernel.release}-${key}`);
  const files = { kernel, vmlinux: join(dir, 'vmlinux'), initramfs: join(dir, 'initramfs.cpio') };
  if (existsSync(files.vmlinux) && existsSync(files.initramfs)) return files;
  log(`guest: preparing kernel ${kernel.release} (once; cached in ${dir})`);
  await mkdir(dir, { recursive: true });
  await extractVmlinux(kernel.vmlinuz, files.vmlinux);
  await buildInitramfs(kernel, init, files.initramfs);
  return files;
}

const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);

/** The ELF kernel inside a bzImage: its xz payload, unpacked (what the kernel's extract-vmlinux does). */
async function extractVmlinux(bzImage: string, target: string): Promise<void> {
  const image = await readFile(bzImage);
  const temp = `${target}.tmp`;
  // The magic can also occur by chance before the payload: try each place until one unpacks to ELF.
  for (let offset = image.indexOf(XZ_MAGIC); offset >= 0; offset = image.indexOf(XZ_MAGIC, offset + 1)) {
    await run(['bash', '-c', 'tail -c +"$1" "$2" | xz -dc --single-stream > "$3" 2>/dev/null', 'extract-vmlinux', `${offset + 1}`, bzImage, temp], { nothrow: true });
    const head = existsSync(temp) ? readFileSync(temp).subarray(0, 4) : Buffer.alloc(0);
    if (head.equals(Buffer.from('\x7fELF', 'latin1'))) {
      await rename(temp, target);
      return;
    }
  }
  await rm(temp, { force: true });
  throw environmentError(`${bzImage} holds no xz-compressed ELF kernel`, { hint: 'the guest expects a Debian linux-image-amd64 kernel' });
}

async function buildInitramfs(kernel: GuestKernel, init: Buffer, target: string): Promise<void> {
  const staging = await mkdtemp(join(cacheRoot(), 'guest', 'initramfs-'));
  try {
    await mkdir(join(staging, 'bin'), { recursive: true });
    await mkdir(join(staging, 'modules'));
    const busybox = ['/bin/busybox', '/usr/bin/busybox'].find(existsSync);
    if (!busybox) throw environmentError('busybox is missing for the lab guest\'s initramfs', { hint: 'apt-get install busybox-static' });
    await copyFile(busybox, join(staging, 'bin/busybox'));
    await writeFile(join(staging, 'init'), init);
    await chmod(join(staging, 'init'), 0o755);
    const modulePaths = await moduleFiles(kernel);
    for (const name of INITRAMFS_MODULES) {
      const path = modulePaths.get(name);
      if (!path) throw environmentError(`kernel ${kernel.release} has no module ${name}`, { where: kernel.modulesDir });
      await copyFile(path, join(staging, 'modules', `${name}.ko`));
    }
    await writeFile(join(staging, 'modules/order'), `${INITRAMFS_MODULES.join('\n')}\n`);
    const temp = `${target}.tmp`;
    await run(['bash', '-c', 'cd "$1" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 > "$2"', 'initramfs', staging, temp], { purpose: 'pack the guest initramfs' });
    await rename(temp, target);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Module name → file, from the kernel's modules.dep (names there use '-' or '_' interchangeably). */
async function moduleFiles(kernel: GuestKernel): Promise<Map<string, string>> {
  const dep = await readFile(join(kernel.modulesDir, 'modules.dep'), 'utf8');
  const files = new Map<string, string>();
  for (const line of dep.split('\n')) {
    const path = line.split(':')[0];
    if (!path?.endsWith('.ko')) continue;
    const name = path.slice(path.lastIndexOf('/') + 1, -'.ko'.length).replaceAll('-', '_');
    files.set(name, join(kernel.modulesDir, path));
  }
  return files;
}
