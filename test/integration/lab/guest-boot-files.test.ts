import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../harness/core/exec.ts';
import { findGuestKernel, guestBootFiles, INITRAMFS_MODULES } from '../../../harness/lab/guest/kernel.ts';

/** The guest's kernel and initramfs, built from Debian's installed kernel package (setup installs it). */
(findGuestKernel() ? describe : describe.skip)('guest boot files', () => {
  let cache: string;
  const saved = process.env.KTH_CACHE_DIR;
  beforeAll(async () => {
    cache = await mkdtemp(join(tmpdir(), 'kth-guest-boot-'));
    process.env.KTH_CACHE_DIR = cache;
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.KTH_CACHE_DIR;
    else process.env.KTH_CACHE_DIR = saved;
    await rm(cache, { recursive: true, force: true });
  });

  it('GIVEN Debian\'s bzImage WHEN the boot files are prepared THEN an uncompressed ELF kernel and an initramfs with busybox, its init and the mount modules; a second call reuses them', async () => {
    const first = await guestBootFiles();
    expect(first.vmlinux.startsWith(cache)).toBe(true);
    expect((await readFile(first.vmlinux)).subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    const { stdout } = await run(['cpio', '-it', '--quiet', '-F', first.initramfs]);
    const entries = stdout.split('\n').map((line) => line.replace(/^\.\//, ''));
    expect(entries).toEqual(expect.arrayContaining(['init', 'bin/busybox', 'modules/order', ...INITRAMFS_MODULES.map((m) => `modules/${m}.ko`)]));
    const logged: string[] = [];
    const second = await guestBootFiles((line) => logged.push(line));
    expect(second).toEqual(first);
    expect(logged).toEqual([]);
  }, 120_000);
});
