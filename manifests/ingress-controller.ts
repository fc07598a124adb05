import type { KubernetesObject, V1Deployment, V1Ingress, V1Service } from '@kubernetes/client-node';
import { TRAEFIK_VERSION } from '../harness/setup/versions.ts';
import { ManagedByLabel, managedByValue, NameLabel, RunIdLabel } from './names.ts';

/**
 * A Traefik v3 Ingress controller for one run's namespace: its ServiceAccount, the Role its
 * Kubernetes Ingress provider needs, the Deployment and its Service. Everything is namespaced
 * (deleted with the namespace, and creatable with namespace rights alone, as on a cluster the user
 * does not own): the controller watches only its namespace, reads no cluster-scoped resource, and
 * serves the Ingresses that name its class in the `kubernetes.io/ingress.class` annotation (an
 * IngressClass would be cluster-scoped). The image is the published `traefik:<pin>`: kind and
 * existing clusters pull it; the lab runs the Traefik setup built from the same release.
 */
export interface IngressControllerParams {
  namespace: string;
  runId: string;
  /** @default 'traefik' */
  name?: string;
  /** @default 1 */
  replicas?: number;
  /** @default 'ClusterIP' */
  serviceType?: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  externalTrafficPolicy?: 'Cluster' | 'Local';
  /** 'hostname': replicas on different nodes (maxSkew 1, DoNotSchedule). @default 'none' */
  spread?: 'none' | 'hostname';
  /** Only these nodes (by name) may run the controller: a required node affinity. */
  nodeNames?: readonly string[];
  /** @default `traefik:${TRAEFIK_VERSION}` */
  image?: string;
  /**
   * 'native': every request goes to the backend Service's ClusterIP (Traefik's nativeLB), so the
   * cluster's proxy picks a pod per controller connection; 'round-robin': Traefik picks a pod per
   * request itself. @default 'round-robin'
   */
  lb?: 'round-robin' | 'native';
}

/** Where the controller listens in its pods: the web entry point (HTTP) and Traefik's own (ping). */
export const ingressPorts = { web: 8000, ping: 8080 } as const;

const classPrefix = 'kth-';

/** The class an Ingress names (annotation `kubernetes.io/ingress.class`) to be served by this controller. */
export const ingressClassOf = (params: Pick<IngressControllerParams, 'name'>): string => `${classPrefix}${params.name ?? 'traefik'}`;

/** The inverse: the controller (its Deployment and Service name) serving a class, when the harness made it. */
export const controllerOfClass = (className: string | undefined): string | undefined =>
  className?.startsWith(classPrefix) ? className.slice(classPrefix.length) : undefined;

export function ingressControllerObjects(params: IngressControllerParams): KubernetesObject[] {
  const name = params.name ?? 'traefik';
  const className = ingressClassOf(params);
  const selector = { [NameLabel]: name, [RunIdLabel]: params.runId };
  const labels = { ...selector, [ManagedByLabel]: managedByValue };
  const meta = { name, namespace: params.namespace, labels };
  const deployment: V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta,
    spec: {
      replicas: params.replicas ?? 1,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: name,
          ...(params.nodeNames
            ? { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [...params.nodeNames] }] }] } } } }
            : {}),
          ...(params.spread === 'hostname'
            ? { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: selector } }] }
            : {}),
          containers: [
            {
              name: 'traefik',
              image: params.image ?? `traefik:${TRAEFIK_VERSION}`,
              args: [
                `--entryPoints.web.address=:${ingressPorts.web}`,
                `--entryPoints.traefik.address=:${ingressPorts.ping}`,
                '--ping=true',
                '--providers.kubernetesingress=true',
                `--providers.kubernetesingress.namespaces=${params.namespace}`,
                `--providers.kubernetesingress.ingressclass=${className}`,
                '--providers.kubernetesingress.disableclusterscoperesources=true',
                ...(params.lb === 'native' ? ['--providers.kubernetesingress.nativeLBByDefault=true'] : []),
                // Nothing leaves a lab; elsewhere a measuring run should not phone home either.
                '--global.checknewversion=false',
                '--global.sendanonymoususage=false',
                '--log.level=INFO',
              ],
              ports: [
                { name: 'web', containerPort: ingressPorts.web },
                { name: 'ping', containerPort: ingressPorts.ping },
              ],
              readinessProbe: { httpGet: { path: '/ping', port: ingressPorts.ping }, periodSeconds: 1, failureThreshold: 1 },
            },
          ],
        },
      },
    },
  };
  const service: V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta,
    spec: {
      type: params.serviceType ?? 'ClusterIP',
      ...(params.externalTrafficPolicy ? { externalTrafficPolicy: params.externalTrafficPolicy } : {}),
      selector,
      ports: [{ name: 'web', port: 80, targetPort: ingressPorts.web }],
    },
  };
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta } as KubernetesObject,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta,
      // What Traefik's Kubernetes Ingress provider reads in a namespace (its documented RBAC, less the cluster scope).
      rules: [
        { apiGroups: [''], resources: ['services', 'secrets'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
        { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['networking.k8s.io'], resources: ['ingresses/status'], verbs: ['update'] },
      ],
    } as KubernetesObject,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: params.namespace }],
    } as KubernetesObject,
    deployment,
    service,
  ];
}

/** An Ingress sending every path to one Service port, through the controller of `className`. */
export function ingressTo(params: { name: string; namespace: string; runId: string; className: string; service: string; port: number }): V1Ingress {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: params.name,
      namespace: params.namespace,
      labels: { [RunIdLabel]: params.runId, [ManagedByLabel]: managedByValue },
      annotations: { 'kubernetes.io/ingress.class': params.className },
    },
    spec: {
      rules: [{ http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: params.service, port: { number: params.port } } } }] } }],
    },
  };
}
