import { environmentError } from '../../core/errors.ts';
import { run } from '../../core/exec.ts';
import { KUBERNETES_VERSION, nodeBuildGroups, setupGroupsInImage } from './components.ts';

/**
 * What the built kubeadm will ask for (`kubeadm config images list`, offline with an explicit
 * version), checked against the pins: an image whose tag differs from what the recipe builds would
 * be pulled at cluster creation, which cannot work without a registry.
 */
export async function kubeadmImageList(kubeadm: string): Promise<string[]> {
  const result = await run([kubeadm, 'config', 'images', 'list', '--kubernetes-version', KUBERNETES_VERSION], { purpose: 'kubeadm config images list', timeoutMs: 60_000 });
  const images = result.stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const expected: Record<string, string> = {};
  for (const name of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy']) expected[name] = KUBERNETES_VERSION;
  const pin = (id: string) => [...setupGroupsInImage, ...nodeBuildGroups].find((g) => g.id === id)?.version ?? '?';
  expected.etcd = `${pin('etcd').replace(/^v/, '')}-0`;
  expected.coredns = pin('coredns');
  for (const image of images) {
    const [, repo = '', tag = ''] = /^(.*):([^:/]+)$/.exec(image) ?? [];
    const name = repo.split('/').at(-1) ?? '';
    if (name in expected && expected[name] !== tag) {
      throw environmentError(`kubeadm ${KUBERNETES_VERSION} wants ${image}, the recipe builds ${name} ${expected[name]}`, {
        where: 'harness/kind/node-image/components.ts',
        hint: `pin ${name} to the version kubeadm lists`,
      });
    }
  }
  return images;
}
