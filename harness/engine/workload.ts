import { toMs } from '../core/duration.ts';
import type { KubernetesObject } from '@kubernetes/client-node';
import { sampleDisruptionBudget } from '../../manifests/disruption-budget.ts';
import { ingressClassOf, ingressControllerObjects, ingressTo } from '../../manifests/ingress-controller.ts';
import { type SampleServiceParams, sampleServiceObjects } from '../../manifests/sample-service.ts';
import type { Duration, IngressSpec, WorkloadSpec } from './types.ts';

const ms = (value: Duration | undefined, where: string): number | undefined => (value === undefined ? undefined : toMs(value, where));

/** The sample Service a scenario's workload asks for, as manifests/sample-service.ts renders it. */
export function workloadParams(workload: WorkloadSpec, names: { name: string; namespace: string; runId: string }, nodeNames: readonly string[] = []): SampleServiceParams {
  const settings: Record<string, number> = {};
  const keepAlive = ms(workload.keepAliveTimeout, 'workload.keepAliveTimeout');
  if (keepAlive !== undefined && workload.server === 'http') settings.keepAliveTimeoutMs = keepAlive;
  if (workload.maxRequestsPerConnection !== undefined && workload.server === 'http') settings.maxRequestsPerConnection = workload.maxRequestsPerConnection;
  const delay = ms(workload.responseDelay, 'workload.responseDelay');
  if (delay !== undefined && workload.server === 'http') settings.responseDelayMs = delay;
  const age = ms(workload.maxConnectionAge, 'workload.maxConnectionAge');
  if (age !== undefined) settings.maxConnectionAgeMs = age;
  const grace = ms(workload.maxConnectionAgeGrace, 'workload.maxConnectionAgeGrace');
  if (grace !== undefined && workload.server === 'grpc') settings.maxConnectionAgeGraceMs = grace;
  const preStop = ms(workload.preStopSleep, 'workload.preStopSleep');
  const termination = ms(workload.terminationGracePeriod, 'workload.terminationGracePeriod');
  const toleration = ms(workload.notReadyToleration, 'workload.notReadyToleration');
  return {
    ...names,
    server: workload.server,
    ...(workload.runtime ? { runtime: workload.runtime } : {}),
    replicas: workload.replicas,
    // Spread over nodes as a real Deployment of a Service usually is: node-local effects show.
    topologySpread: {},
    service: { type: workload.serviceType ?? 'ClusterIP', ...(workload.externalTrafficPolicy ? { externalTrafficPolicy: workload.externalTrafficPolicy } : {}) },
    ...(preStop ? { preStop: { seconds: Math.ceil(preStop / 1000) } } : {}),
    ...(termination !== undefined ? { terminationGracePeriodSeconds: Math.ceil(termination / 1000) } : {}),
    ...(Object.keys(settings).length > 0 ? { settings } : {}),
    ...(workload.maxSurge !== undefined || workload.maxUnavailable !== undefined
      ? { rollingUpdate: { ...(workload.maxSurge !== undefined ? { maxSurge: workload.maxSurge } : {}), ...(workload.maxUnavailable !== undefined ? { maxUnavailable: workload.maxUnavailable } : {}) } }
      : {}),
    ...(toleration !== undefined ? { notReadyTolerationSeconds: Math.ceil(toleration / 1000) } : {}),
    ...(workload.nodes ? { nodeNames: workload.nodes.map((n) => nodeNames[n - 1] ?? `node ${n} (the cluster has ${nodeNames.length})`) } : {}),
  };
}

/** The scenario's PodDisruptionBudget, when it declares one. */
export function workloadObjects(workload: WorkloadSpec, names: { name: string; namespace: string; runId: string }, nodeNames: readonly string[] = [], imagePrefix?: string): KubernetesObject[] {
  const objects: KubernetesObject[] = sampleServiceObjects({ ...workloadParams(workload, names, nodeNames), ...(imagePrefix ? { imagePrefix } : {}) });
  if (workload.pdb) objects.push(sampleDisruptionBudget({ ...names, ...workload.pdb }));
  return objects;
}

/** The run's Ingress controller: its Deployment and Service carry this name, next to the workload's. */
export const ingressControllerName = 'ingress';

/**
 * The controller a workload's `ingress` asks for, its PodDisruptionBudget, and the Ingress that
 * sends every path to the workload's Service (`service`, port 80).
 */
export function ingressObjects(ingress: IngressSpec, names: { namespace: string; runId: string; service: string }, nodeNames: readonly string[] = []): KubernetesObject[] {
  const name = ingressControllerName;
  const objects: KubernetesObject[] = ingressControllerObjects({
    name,
    namespace: names.namespace,
    runId: names.runId,
    replicas: ingress.replicas ?? 1,
    serviceType: ingress.serviceType ?? 'ClusterIP',
    ...(ingress.externalTrafficPolicy ? { externalTrafficPolicy: ingress.externalTrafficPolicy } : {}),
    spread: ingress.spread ?? 'none',
    ...(ingress.lb ? { lb: ingress.lb } : {}),
    ...(ingress.nodes ? { nodeNames: ingress.nodes.map((n) => nodeNames[n - 1] ?? `node ${n} (the cluster has ${nodeNames.length})`) } : {}),
  });
  if (ingress.pdb) objects.push(sampleDisruptionBudget({ name, namespace: names.namespace, runId: names.runId, ...ingress.pdb }));
  objects.push(ingressTo({ name: names.service, namespace: names.namespace, runId: names.runId, className: ingressClassOf({ name }), service: names.service, port: 80 }));
  return objects;
}
