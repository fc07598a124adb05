import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import type { Cluster } from '../../harness/kube/cluster.ts';

/**
 * A kubeconfig for a ServiceAccount of a (lab) cluster, with a short-lived token from the
 * TokenRequest API: a user with exactly the rights RBAC gives that account, as on a shared cluster.
 */
export async function serviceAccountKubeconfig(cluster: Cluster, options: { name: string; namespace?: string; path: string }): Promise<string> {
  const namespace = options.namespace ?? 'default';
  await cluster.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: options.name } } }).catch((error: { code?: number }) => {
    if (error.code !== 409) throw error;
  });
  const token = await cluster.core.createNamespacedServiceAccountToken({ name: options.name, namespace, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
  const server = cluster.kubeconfig.getCurrentCluster();
  if (!server || !token.status?.token) throw new Error('no cluster or no token');
  const context = `${options.name}@lab`;
  await writeFile(options.path, stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'lab', cluster: { server: server.server, 'certificate-authority-data': server.caData } }],
    users: [{ name: options.name, user: { token: token.status.token } }],
    contexts: [{ name: context, context: { cluster: 'lab', user: options.name } }],
    'current-context': context,
  }), { mode: 0o600 });
  return context;
}
