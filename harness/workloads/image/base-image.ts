import { chmod, copyFile, mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { environmentError } from '../../core/errors.ts';
import { run } from '../../core/exec.ts';
import { imageExists, requireDocker } from './docker.ts';
import { baseImageRef } from './names.ts';

export interface BaseImageOptions {
  /** Image reference to create. @default kube-traffic-harness/node-base:<this Node.js version> */
  ref?: string;
  /** The Node.js binary to package. @default the one running now */
  nodeBinary?: string;
  /** Rebuild even when the image exists. */
  force?: boolean;
}

/** Extra programs in the base image: `sleep` for exec-style preStop hooks. */
const extraPrograms = ['/bin/sleep'];

/**
 * Makes a minimal base image from this machine's Node.js, since nothing can be pulled: the node
 * binary, the shared libraries `ldd` lists for it (and for `sleep`), a passwd entry for the
 * unprivileged user, and a writable /tmp (tsx caches compiled sources there). `docker import`
 * turns that file tree into an image. Reused when it already exists.
 */
export async function buildBaseImage(options: BaseImageOptions = {}): Promise<string> {
  const ref = options.ref ?? baseImageRef();
  await requireDocker('building the base image');
  if (!options.force && (await imageExists(ref))) return ref;

  const node = await realpath(options.nodeBinary ?? process.execPath);
  const root = await mkdtemp(join(tmpdir(), 'kth-base-'));
  try {
    await place(node, join(root, 'usr/bin/node'));
    for (const program of extraPrograms) await place(await realpath(program), join(root, program));
    for (const library of await sharedLibraries([node, ...extraPrograms])) await place(library, join(root, library));
    await mkdir(join(root, 'etc'), { recursive: true });
    await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n');
    await writeFile(join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
    await mkdir(join(root, 'tmp'));
    await chmod(join(root, 'tmp'), 0o1777);
    const tarball = join(root, '..', `${root.split('/').pop()}.tar`);
    await run(['tar', '--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cf', tarball, '.'], { purpose: 'pack the base image file tree' });
    try {
      await run(
        [
          'docker', 'import',
          '--change', 'ENV PATH=/usr/local/bin:/usr/bin:/bin',
          '--change', 'LABEL app.kubernetes.io/managed-by=kube-traffic-harness',
          '--message', `Node.js ${process.versions.node} from this host`,
          tarball, ref,
        ],
        { purpose: `import ${ref}`, timeoutMs: 300_000 },
      );
    } finally {
      await rm(tarball, { force: true });
    }
    return ref;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function place(source: string, target: string): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  await copyFile(source, target);
}

/**
 * Absolute paths of the shared libraries (and the dynamic loader) the binaries need, as `ldd`
 * reports them: `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)` and `/lib64/ld-linux-x86-64.so.2 (0x…)`.
 * Each is copied at the path the loader will look for it, with symlinks resolved to file contents.
 */
export async function sharedLibraries(binaries: readonly string[]): Promise<string[]> {
  const found = new Set<string>();
  for (const binary of binaries) {
    const { stdout, exitCode, stderr } = await run(['ldd', binary], { nothrow: true });
    if (exitCode !== 0) {
      throw environmentError(`ldd ${binary} failed: ${stderr.trim() || stdout.trim()}`, {
        where: binary,
        hint: 'the base image is made from a dynamically linked Node.js; install ldd (libc-bin) or pass another nodeBinary',
      });
    }
    for (const line of stdout.split('\n')) {
      const match = /(?:=>\s*)?(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
      if (match?.[1]) found.add(match[1]);
      if (/not found/.test(line)) throw environmentError(`ldd ${binary}: ${line.trim()}`, { where: binary });
    }
  }
  return [...found].sort();
}
