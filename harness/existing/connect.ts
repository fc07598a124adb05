import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { AuthorizationV1Api, KubeConfig, VersionApi } from '@kubernetes/client-node';
import { badInput, environmentError } from '../core/errors.ts';
import { type Cluster, clusterOf } from '../kube/cluster.ts';
import { requiredPermissions } from './permissions.ts';

/**
 * Reaching a cluster the user owns, and refusing before anything is created when it cannot be
 * used: a missing kubeconfig or context (bad input, exit 2), an API server that does not answer
 * or permissions that are missing (environment, exit 3), each within seconds and with the fix.
 */
export interface ExistingTarget {
  cluster: Cluster;
  kubeconfigPath: string;
  context: string;
  server: string;
}

export function kubeconfigPathOf(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env.KUBECONFIG?.split(':')[0] ?? join(homedir(), '.kube', 'config');
}

export function loadTarget(options: { kubeconfig?: string; context?: string }): ExistingTarget {
  const path = kubeconfigPathOf(options.kubeconfig);
  if (!existsSync(path)) {
    throw badInput(`kubeconfig ${path} does not exist`, { where: options.kubeconfig ? '--kubeconfig' : '$KUBECONFIG / ~/.kube/config', hint: 'pass --kubeconfig <path> to a kubeconfig for the cluster (a lab\'s: kth lab up prints it)' });
  }
  const kubeconfig = new KubeConfig();
  try {
    kubeconfig.loadFromFile(path);
  } catch (error) {
    throw badInput(`kubeconfig ${path} cannot be read: ${(error as Error).message}`, { where: '--kubeconfig', hint: 'check the file with kubectl config view --kubeconfig <path>' });
  }
  const contexts = kubeconfig.getContexts().map((context) => context.name);
  if (options.context !== undefined) {
    if (!contexts.includes(options.context)) {
      throw badInput(`context '${options.context}' is not in ${path}`, { where: '--context', hint: contexts.length > 0 ? `use one of: ${contexts.join(', ')}` : 'the kubeconfig has no contexts' });
    }
    kubeconfig.setCurrentContext(options.context);
  }
  const context = kubeconfig.getCurrentContext();
  const server = kubeconfig.getCurrentCluster()?.server;
  if (!context || !server) throw badInput(`kubeconfig ${path} has no current context with a cluster`, { where: '--context', hint: contexts.length > 0 ? `pass --context, one of: ${contexts.join(', ')}` : 'add a context to the kubeconfig' });
  return { cluster: clusterOf(kubeconfig), kubeconfigPath: path, context, server };
}

function within<T>(ms: number, promise: Promise<T>, what: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(what()), ms)))]).finally(() => clearTimeout(timer));
}

/** The API server's version, or exit 3 within `timeoutMs` saying it could not be reached. */
export async function reachApi(target: ExistingTarget, timeoutMs = 5000): Promise<string> {
  const unreachable = (detail: string) => environmentError(`the API server of context '${target.context}' at ${target.server} cannot be reached: ${detail}`, {
    where: '--kubeconfig / --context',
    hint: 'check the address and that this machine can reach it (VPN, firewall, a stopped cluster); kubectl version --context <context> shows the same',
  });
  try {
    const version = await within(timeoutMs, target.cluster.kubeconfig.makeApiClient(VersionApi).getCode(), () => unreachable(`no answer within ${timeoutMs / 1000} s`));
    return version.gitVersion;
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('the API server of context')) throw error;
    throw unreachable((error as Error).message.split('\n')[0] ?? String(error));
  }
}

/** Every permission the run needs in `namespace` (it need not exist yet), checked by SelfSubjectAccessReview; exit 3 listing what is missing. */
export async function checkPermissions(target: ExistingTarget, namespace: string, options: { drain: boolean; pdb: boolean }): Promise<void> {
  const api = target.cluster.kubeconfig.makeApiClient(AuthorizationV1Api);
  const wanted = requiredPermissions.filter((p) => !p.optional || (p.optional.startsWith('node-drain') ? options.drain : options.pdb));
  const checks = wanted.flatMap((p) => p.verbs.map((verb) => ({ p, verb })));
  const missing: string[] = [];
  await Promise.all(checks.map(async ({ p, verb }) => {
    const [resource, subresource] = p.resource.split('/');
    const review = await api.createSelfSubjectAccessReview({
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: { group: p.group, resource, ...(subresource ? { subresource } : {}), verb, ...(p.scope === 'namespace' ? { namespace } : p.scope === 'kube-system' ? { namespace: 'kube-system' } : {}) } },
      },
    });
    if (!review.status?.allowed) missing.push(`${verb} ${p.group ? `${p.group}/` : ''}${p.resource}${p.scope === 'namespace' ? " in the run's namespace" : p.scope === 'kube-system' ? ' in kube-system' : ''} (${p.why})`);
  }));
  if (missing.length > 0) {
    throw environmentError(`context '${target.context}' may not do what the run needs:\n  - ${missing.sort().join('\n  - ')}`, {
      where: '--kubeconfig / --context',
      hint: 'ask a cluster admin to apply the output of `kth existing rbac --user <you>` (or use a context that has these rights)',
    });
  }
}
