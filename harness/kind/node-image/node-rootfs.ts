import { chmod, copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { run } from '../../core/exec.ts';
import { KUBERNETES_VERSION, NODE_BINARY_DIRS } from './components.ts';
import type { BuiltBinary } from './go-binaries.ts';
import type { KindSources } from './kind-files.ts';

/** The harness's own additions to kind's files (the containerd drop-in for hosts short of CAP_SYS_RESOURCE). */
const ownFilesDir = new URL('./node-files/', import.meta.url).pathname;

/**
 * Lays out the node's root filesystem in `dir` as kind's base Dockerfile and `kind build
 * node-image` would: Debian rootfs, kind's images/base/files (scripts 0755, the rest 0644), its
 * systemd pruning and unit enabling (run in a chroot, offline), the runtime and Kubernetes
 * binaries, /etc/containerd/cri-base.json, /kind/version and the default CNI manifest.
 */
export async function layOutNodeRootfs(options: { dir: string; tarball: string; kind: KindSources; binaries: readonly BuiltBinary[] }): Promise<void> {
  const { dir } = options;
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await run(['tar', '--numeric-owner', '--xattrs', '-C', dir, '-xf', options.tarball], { purpose: 'unpack the node rootfs' });
  await copyTree(options.kind.baseFilesDir, dir, isKindScript);
  await copyTree(ownFilesDir, dir, (path) => path.endsWith('.sh'));
  // kind's Dockerfile RUN steps, verbatim in effect (the package install is debootstrap's).
  await run(['chroot', dir, 'sh', '-euc', [
    'find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete',
    'rm -f /lib/systemd/system/multi-user.target.wants/*',
    'rm -f /etc/systemd/system/*.wants/*',
    'rm -f /lib/systemd/system/local-fs.target.wants/*',
    'rm -f /lib/systemd/system/sockets.target.wants/*udev*',
    'rm -f /lib/systemd/system/sockets.target.wants/*initctl*',
    'rm -f /lib/systemd/system/basic.target.wants/*',
    'echo "ReadKMsg=no" >> /etc/systemd/journald.conf',
    '[ -e /sbin/init ] || ln -s /usr/lib/systemd/systemd /sbin/init',
    'systemctl enable kubelet.service containerd.service undo-mount-hacks.service',
    'systemctl mask systemd-binfmt.service',
    'mkdir -p /etc/kubernetes/manifests /opt/cni/bin',
  ].join('\n')], { purpose: 'systemd set-up of the node rootfs (chroot)' });
  for (const binary of options.binaries) {
    const sub = NODE_BINARY_DIRS[binary.name];
    if (!sub) continue;
    await mkdir(join(dir, sub), { recursive: true, mode: 0o755 });
    await copyFile(binary.path, join(dir, sub, binary.name));
    await chmod(join(dir, sub, binary.name), 0o755);
  }
  await writeFile(join(dir, 'etc/containerd/cri-base.json'), `${JSON.stringify(await criBaseSpec(join(dir, 'usr/local/bin/ctr')), null, 2)}\n`, { mode: 0o644 });
  await writeFile(join(dir, 'kind/version'), KUBERNETES_VERSION, { mode: 0o644 });
  await mkdir(join(dir, 'kind/manifests'), { recursive: true, mode: 0o755 });
  await writeFile(join(dir, 'kind/manifests/default-cni.yaml'), options.kind.defaultCniManifest, { mode: 0o644 });
}

/** In kind's Dockerfile, files under usr/local/bin and kind/bin are 0755, every other file 0644. */
function isKindScript(path: string): boolean {
  return path.startsWith('usr/local/bin/') || path.startsWith('kind/bin/');
}

async function copyTree(from: string, to: string, executable: (path: string) => boolean): Promise<void> {
  for (const entry of await readdir(from, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const source = join(entry.parentPath, entry.name);
    const path = relative(from, source);
    const target = join(to, path);
    await mkdir(dirname(target), { recursive: true, mode: 0o755 });
    await chmod(dirname(target), 0o755); // the module cache's directories are read-only
    await copyFile(source, target);
    await chmod(target, executable(path) ? 0o755 : 0o644);
  }
}

/**
 * containerd's default OCI spec (`ctr oci spec`) with kind's two changes: the mount-product-files
 * createContainer hook, and no rlimits (they would override the node's own).
 */
async function criBaseSpec(ctr: string): Promise<unknown> {
  const spec = JSON.parse((await run([ctr, 'oci', 'spec'], { purpose: 'ctr oci spec' })).stdout) as {
    hooks?: { createContainer?: { path: string }[] };
    process?: { rlimits?: unknown };
  };
  spec.hooks = { ...spec.hooks, createContainer: [...(spec.hooks?.createContainer ?? []), { path: '/kind/bin/mount-product-files.sh' }] };
  if (spec.process) delete spec.process.rlimits;
  return spec;
}
