import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { creditProxyReplicas } from '../analysis/proxy-replicas.ts';
import { type Cluster, podsOf, waitForDeploymentPods, waitForLoadBalancer } from '../kube/cluster.ts';
import type { RequestSample } from '../recorder/events.ts';
import type { RunReport } from '../report/model.ts';
import { TRAEFIK_VERSION } from '../setup/versions.ts';
import { runSelector } from '../../manifests/names.ts';
import type { IngressLb, IngressSpec } from './types.ts';
import { ingressControllerName } from './workload.ts';

/** A run's Ingress controller once it serves: its Service (with its LB address when external loads need it) and its pods. */
export interface IngressDeployment {
  service: V1Service;
  pods: V1Pod[];
  selector: string;
  lb: IngressLb;
}

/**
 * Waits until the run's controller (applied with the workload, workload.ts ingressObjects) is
 * Ready, and for its LoadBalancer address when external loads go through it.
 */
export async function awaitIngress(cluster: Cluster, where: { namespace: string; runId: string }, ingress: IngressSpec, externalLoads: boolean, startupScale: number): Promise<IngressDeployment> {
  const { namespace } = where;
  const selector = runSelector(ingressControllerName, where.runId);
  await waitForDeploymentPods(cluster, namespace, ingressControllerName, selector, 180_000 * startupScale);
  const service = externalLoads && ingress.serviceType === 'LoadBalancer'
    ? await waitForLoadBalancer(cluster, namespace, ingressControllerName, 60_000 * startupScale)
    : await cluster.core.readNamespacedService({ name: ingressControllerName, namespace });
  return { service, pods: await podsOf(cluster, namespace, selector), selector, lb: ingress.lb ?? 'round-robin' };
}

/**
 * The report's `ingress` — the controller, and each replica credited with the requests it carried
 * (those at the start, and any that replaced them during the run) — and metrics.ingressTopNodeShare
 * (undefined when no load went through the controller).
 */
export async function ingressReport(cluster: Cluster, namespace: string, deployment: IngressDeployment, throughIngress: readonly RequestSample[], aborted: boolean): Promise<{ ingress: NonNullable<RunReport['ingress']>; topNodeShare?: number | null }> {
  const now = aborted ? [] : await podsOf(cluster, namespace, deployment.selector).catch(() => []);
  const replicas = new Map([...deployment.pods, ...now]
    .filter((pod) => pod.status?.podIP)
    .map((pod) => [pod.status?.podIP as string, { pod: pod.metadata?.name ?? '', node: pod.spec?.nodeName ?? '', podIp: pod.status?.podIP as string }]));
  const carried = creditProxyReplicas([...replicas.values()], throughIngress);
  return {
    ingress: {
      controller: 'traefik',
      version: TRAEFIK_VERSION,
      image: deployment.pods[0]?.spec?.containers[0]?.image ?? '',
      lb: deployment.lb,
      replicas: carried.replicas,
      ...(carried.unknownPeer ? { unknownPeer: carried.unknownPeer } : {}),
    },
    ...(throughIngress.length > 0 ? { topNodeShare: carried.topNodeShare } : {}),
  };
}
