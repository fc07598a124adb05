import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import type { V1Pod, V1Volume, V1VolumeProjection } from '@kubernetes/client-node';
import { ContainerConfigError, type EnvLookups } from './container-env.ts';

/**
 * Projected volumes, as the kubelet writes them: the one kind of volume the lab provides, because
 * it is the one every pod gets — the ServiceAccount admission plugin adds `kube-api-access-*`
 * (a bound ServiceAccount token, the cluster CA from the `kube-root-ca.crt` ConfigMap, the
 * namespace) so that in-cluster clients (an Ingress controller, client-go's InClusterConfig) can
 * reach the API server. Files are written into a directory of the pod's own state, which the
 * container gets bind-mounted (read-only) at the mountPath; the token is rewritten before it
 * expires, as the kubelet does at 80 % of its lifetime.
 */
export type ProjectionLookups = Pick<EnvLookups, 'configMap' | 'secret' | 'serviceAccountToken'>;

export interface TokenRequestSpec {
  namespace: string;
  serviceAccount: string;
  audiences: string[];
  expirationSeconds: number;
  pod: { name: string; uid: string };
}

/** What a projected volume wrote, and when it must be written again (its earliest token refresh). */
export interface WrittenVolume {
  dir: string;
  refreshAt: Date | undefined;
}

/** The kubelet refreshes a projected token after 80 % of its lifetime (or 24 h, whichever is sooner). */
const REFRESH_FRACTION = 0.8;
const MAX_REFRESH_MS = 24 * 3600 * 1000;

export const isProjected = (volume: V1Volume): boolean => volume.projected !== undefined;

/** Writes every source of a projected volume into `dir` (files replaced atomically, so a reader never sees half a token). */
export async function writeProjectedVolume(volume: V1Volume, pod: V1Pod, dir: string, lookups: ProjectionLookups): Promise<WrittenVolume> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const mode = volume.projected?.defaultMode ?? 0o644;
  const files = new Map<string, { content: string; mode: number }>();
  let refreshAt: Date | undefined;
  const where = `volume ${volume.name}`;
  for (const source of volume.projected?.sources ?? []) {
    for (const [path, content, itemMode] of await projectSource(source, pod, namespace, lookups, where)) files.set(path, { content, mode: itemMode ?? mode });
    const token = source.serviceAccountToken;
    if (token) {
      const expirationSeconds = token.expirationSeconds ?? 3600;
      const issued = await requestToken(lookups, { namespace, serviceAccount: pod.spec?.serviceAccountName ?? 'default', audiences: token.audience ? [token.audience] : [], expirationSeconds, pod: { name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' } }, where);
      files.set(safePath(token.path, where), { content: issued.token, mode });
      const lifetime = issued.expiresAt.getTime() - Date.now();
      const at = new Date(Date.now() + Math.min(lifetime * REFRESH_FRACTION, MAX_REFRESH_MS));
      if (!refreshAt || at < refreshAt) refreshAt = at;
    }
  }
  await mkdir(dir, { recursive: true });
  for (const [path, { content, mode: fileMode }] of files) {
    const target = join(dir, path);
    await mkdir(dirname(target), { recursive: true });
    const staged = `${target}.kth-tmp`;
    await writeFile(staged, content);
    await chmod(staged, fileMode);
    await rename(staged, target);
  }
  return { dir, refreshAt };
}

async function projectSource(source: V1VolumeProjection, pod: V1Pod, namespace: string, lookups: ProjectionLookups, where: string): Promise<[string, string, number | undefined][]> {
  if (source.configMap || source.secret) {
    const ref = (source.configMap ?? source.secret)!;
    const kind = source.configMap ? 'ConfigMap' : 'Secret';
    const data = source.configMap ? await lookups.configMap(namespace, ref.name ?? '') : await lookups.secret(namespace, ref.name ?? '');
    if (!data) {
      if (ref.optional) return [];
      throw new ContainerConfigError(`${where}: ${kind.toLowerCase()} "${ref.name}" not found`);
    }
    if (!ref.items) return Object.entries(data).map(([key, value]) => [safePath(key, where), value, undefined]);
    return ref.items.flatMap((item): [string, string, number | undefined][] => {
      const value = data[item.key];
      if (value === undefined) {
        if (ref.optional) return [];
        throw new ContainerConfigError(`${where}: ${kind.toLowerCase()} "${ref.name}" has no key "${item.key}"`);
      }
      return [[safePath(item.path, where), value, item.mode]];
    });
  }
  if (source.downwardAPI) {
    return (source.downwardAPI.items ?? []).map((item) => {
      if (!item.fieldRef) throw new ContainerConfigError(`${where}: downwardAPI item ${item.path}: only fieldRef is provided by the lab (resourceFieldRef is not)`);
      return [safePath(item.path, where), fieldValue(pod, item.fieldRef.fieldPath, where), item.mode];
    });
  }
  if (source.serviceAccountToken) return []; // requested by the caller, which also schedules its refresh
  throw new ContainerConfigError(`${where}: a projected source of a kind the lab does not provide (${Object.keys(source).join(', ')})`);
}

function fieldValue(pod: V1Pod, fieldPath: string, where: string): string {
  const meta = pod.metadata ?? {};
  const labelsOrAnnotations = (map: Record<string, string> | undefined) =>
    Object.entries(map ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
      .join('\n');
  switch (fieldPath) {
    case 'metadata.name':
      return meta.name ?? '';
    case 'metadata.namespace':
      return meta.namespace ?? 'default';
    case 'metadata.uid':
      return meta.uid ?? '';
    case 'metadata.labels':
      return labelsOrAnnotations(meta.labels);
    case 'metadata.annotations':
      return labelsOrAnnotations(meta.annotations);
    default:
      throw new ContainerConfigError(`${where}: downwardAPI fieldRef ${fieldPath} is not provided by the lab (metadata.name, namespace, uid, labels, annotations are)`);
  }
}

async function requestToken(lookups: ProjectionLookups, request: TokenRequestSpec, where: string): Promise<{ token: string; expiresAt: Date }> {
  if (!lookups.serviceAccountToken) throw new ContainerConfigError(`${where}: no API server to request a ServiceAccount token from`);
  try {
    return await lookups.serviceAccountToken(request);
  } catch (error) {
    throw new ContainerConfigError(`${where}: cannot request a token for ServiceAccount ${request.namespace}/${request.serviceAccount}: ${(error as Error).message}`);
  }
}

/** A relative path inside the volume: no absolute path, no `..` (as the API server validates). */
function safePath(path: string, where: string): string {
  const normalized = normalize(path);
  if (path.startsWith('/') || normalized.startsWith('..') || normalized === '.') throw new ContainerConfigError(`${where}: path ${JSON.stringify(path)} must stay inside the volume`);
  return normalized;
}
