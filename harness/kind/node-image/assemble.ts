import { setTimeout as sleep } from 'node:timers/promises';
import { environmentError } from '../../core/errors.ts';
import { run } from '../../core/exec.ts';
import { buildImage, docker, removeImages } from './docker-cli.ts';
import { type Log, step } from './steps.ts';

export const NODE_IMAGE_LABEL = 'io.kube-traffic-harness.node-image';
const ENTRYPOINT = 'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]';

/**
 * Turns the laid-out node rootfs into the node image: `docker import` (ENV container=docker and
 * kind's entrypoint), a two-line classic build for what import cannot set (STOPSIGNAL, the
 * label), then kind's own preload: containerd started inside a throw-away container of it, the
 * component archive imported into namespace k8s.io pinned and unpacked later, and the container
 * committed with the entrypoint restored.
 */
export async function assembleNodeImage(options: {
  ref: string;
  key: string;
  rootfsDir: string;
  archive: string;
  expectedImages: readonly string[];
  label: string;
  log: Log;
}): Promise<void> {
  const { ref, key, log } = options;
  const importRef = `kube-traffic-harness/kind-node-build:${key}-rootfs`;
  const baseRef = `kube-traffic-harness/kind-node-build:${key}-base`;
  const container = `kth-node-image-build-${key}-${process.pid}`;
  try {
    await step(log, 'docker import node rootfs', async () => {
      await run(['bash', '-c', 'set -o pipefail; tar --numeric-owner --xattrs -C "$1" -c . | docker import --change "ENV container=docker" --change "$2" - "$3"', 'bash', options.rootfsDir, ENTRYPOINT, importRef], {
        purpose: 'docker import of the node rootfs',
        timeoutMs: 900_000,
      });
    });
    await step(log, 'docker build node base (STOPSIGNAL, label)', () =>
      buildImage({
        tags: [baseRef],
        // systemd exits on SIGRTMIN+3 (SIGTERM re-executes it); docker import cannot set STOPSIGNAL.
        dockerfile: `FROM ${importRef}\nSTOPSIGNAL SIGRTMIN+3\nLABEL ${NODE_IMAGE_LABEL}=${JSON.stringify(options.label)}\n`,
        purpose: 'build of the node base image',
      }),
    );
    await step(log, `preload ${options.expectedImages.length} images into the node's containerd`, async () => {
      // As `kind build node-image`: unprivileged, no network; containerd only needs its content store.
      await docker(['run', '-d', '--name', container, '--network', 'none', '--security-opt', 'seccomp=unconfined', '--entrypoint', 'sleep', baseRef, 'infinity'], 'start of the preload container');
      await docker(['cp', options.archive, `${container}:/kind/kth-images.tar`], 'copy of the component images into the preload container', 900_000);
      await docker(['exec', container, 'bash', '-c', 'nohup containerd >/tmp/kth-containerd.log 2>&1 & echo $! >/tmp/kth-containerd.pid'], 'start of containerd in the preload container');
      await waitForContainerd(container);
      await docker(['exec', container, 'ctr', '--namespace=k8s.io', 'images', 'import', '--label=io.cri-containerd.pinned=pinned', '--all-platforms', '--no-unpack', '--digests', '/kind/kth-images.tar'], 'ctr images import', 900_000);
      const listed = new Set((await docker(['exec', container, 'ctr', '--namespace=k8s.io', 'images', 'list', '-q'], 'ctr images list')).split('\n'));
      const missing = options.expectedImages.filter((image) => !listed.has(image));
      if (missing.length > 0) {
        throw environmentError(`the node's containerd lacks ${missing.join(', ')} after the import`, {
          where: 'kind node image preload',
          hint: `it has: ${[...listed].filter((i) => !i.startsWith('import-')).join(', ')}`,
        });
      }
      await docker(['exec', container, 'bash', '-c', stopContainerd], 'stop of containerd in the preload container');
    });
    await step(log, `docker commit ${ref}`, async () => {
      await docker(['commit', '--change', ENTRYPOINT, '--change', 'CMD []', container, ref], 'commit of the node image', 900_000);
    });
  } finally {
    await run(['docker', 'rm', '--force', '--volumes', container], { nothrow: true, timeoutMs: 120_000 });
    await removeImages([baseRef, importRef]);
  }
}

/**
 * Stops the preload containerd and removes the archive. `sleep` is the container's pid 1 and reaps
 * nothing, so the stopped containerd stays a zombie: wait for that state, not for the pid to vanish.
 */
const stopContainerd = `pid=$(cat /tmp/kth-containerd.pid); kill "$pid"
for _ in $(seq 600); do grep -q '^State:[[:space:]]*[ZX]' /proc/$pid/status 2>/dev/null || [ ! -e /proc/$pid ] && break; sleep 0.1; done
rm -f /kind/kth-images.tar /tmp/kth-containerd.*`;

async function waitForContainerd(container: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const result = await run(['docker', 'exec', container, 'ctr', 'version'], { nothrow: true, timeoutMs: 30_000 });
    if (result.exitCode === 0) return;
    if (Date.now() > deadline) {
      const log = await run(['docker', 'exec', container, 'tail', '-20', '/tmp/kth-containerd.log'], { nothrow: true });
      throw environmentError('containerd did not start in the preload container within 60 s', { where: 'kind node image preload', hint: log.stdout || result.stderr });
    }
    await sleep(250);
  }
}
