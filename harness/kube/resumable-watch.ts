import { type KubernetesObject, Watch } from '@kubernetes/client-node';
import type { Cluster } from './cluster.ts';

/**
 * A watch that outlives the API server ending it: resumed from the last resourceVersion seen, or
 * from now when that version is too old (410 Gone), at most 20 times. Bookmarks and error events
 * are not the caller's business. Returns a stop function.
 */
export async function resumableWatch<T extends KubernetesObject>(
  cluster: Cluster,
  path: string,
  query: Record<string, string>,
  onEvent: (type: 'ADDED' | 'MODIFIED' | 'DELETED', object: T) => void,
  fromResourceVersion?: string,
): Promise<() => void> {
  let stopped = false;
  let request: { abort(): void } | undefined;
  let resourceVersion = fromResourceVersion;
  let restarts = 0;
  const start = async (): Promise<void> => {
    if (stopped || restarts > 20) return;
    request = await new Watch(cluster.kubeconfig).watch(
      path,
      { ...query, ...(resourceVersion ? { resourceVersion } : {}) },
      (type: string, object: T) => {
        if (type === 'BOOKMARK' || type === 'ERROR') return;
        resourceVersion = object.metadata?.resourceVersion ?? resourceVersion;
        onEvent(type as 'ADDED' | 'MODIFIED' | 'DELETED', object);
      },
      (error: unknown) => {
        if (stopped) return;
        restarts++;
        if (error) resourceVersion = undefined;
        void start().catch(() => {});
      },
    );
  };
  await start();
  return () => {
    stopped = true;
    request?.abort();
  };
}
