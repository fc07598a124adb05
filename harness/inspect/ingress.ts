import type { V1Ingress, V1Pod, V1Service } from '@kubernetes/client-node';

/**
 * The Ingress layer in front of an inspected Service: which Ingresses route to it, and for the
 * harness's own controllers (class `kth-<name>`, manifests/ingress-controller.ts) the controller's
 * Service and its replicas per node — the path LB → controller pods per node → this Service.
 * Pure: API objects in, a view out.
 */
export interface IngressRouteView {
  host?: string;
  path: string;
  port: number | string;
}

export interface IngressControllerView {
  service: string;
  type: string;
  clusterIP?: string;
  loadBalancer: string[];
  externalTrafficPolicy?: string;
  /** The controller's pods by node (sorted), each with its address and readiness. */
  nodes: { node: string; pods: { name: string; podIP?: string; ready: boolean }[] }[];
}

export interface IngressPathView {
  ingress: string;
  className?: string;
  routes: IngressRouteView[];
  controller?: IngressControllerView;
  /** Why the controller is not shown (a class the harness did not deploy, or its Service missing). */
  note?: string;
}

/** The class an Ingress names: spec.ingressClassName, or the older annotation. */
export function ingressClassName(ingress: V1Ingress): string | undefined {
  return ingress.spec?.ingressClassName ?? ingress.metadata?.annotations?.['kubernetes.io/ingress.class'];
}

/** The routes of each Ingress that sends traffic to `service` (its rules' paths, or its default backend). */
export function ingressesTo(service: string, ingresses: readonly V1Ingress[]): { ingress: V1Ingress; routes: IngressRouteView[] }[] {
  return ingresses.flatMap((ingress) => {
    const routes: IngressRouteView[] = [];
    const backend = ingress.spec?.defaultBackend?.service;
    if (backend?.name === service) routes.push({ path: '(default backend)', port: backend.port?.number ?? backend.port?.name ?? '' });
    for (const rule of ingress.spec?.rules ?? []) {
      for (const path of rule.http?.paths ?? []) {
        const target = path.backend.service;
        if (target?.name !== service) continue;
        routes.push({ ...(rule.host ? { host: rule.host } : {}), path: path.path ?? '/', port: target.port?.number ?? target.port?.name ?? '' });
      }
    }
    return routes.length > 0 ? [{ ingress, routes }] : [];
  });
}

/** The controller's Service and its pods, per node. */
export function controllerView(service: V1Service, pods: readonly V1Pod[]): IngressControllerView {
  const nodes = new Map<string, IngressControllerView['nodes'][number]['pods']>();
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp) continue;
    const node = pod.spec?.nodeName ?? '(unscheduled)';
    const list = nodes.get(node) ?? [];
    list.push({ name: pod.metadata?.name ?? '', ...(pod.status?.podIP ? { podIP: pod.status.podIP } : {}), ready: pod.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' });
    nodes.set(node, list);
  }
  return {
    service: service.metadata?.name ?? '',
    type: service.spec?.type ?? 'ClusterIP',
    ...(service.spec?.clusterIP ? { clusterIP: service.spec.clusterIP } : {}),
    loadBalancer: (service.status?.loadBalancer?.ingress ?? []).flatMap((entry) => (entry.ip ?? entry.hostname ? [(entry.ip ?? entry.hostname) as string] : [])),
    ...(service.spec?.externalTrafficPolicy && service.spec.type !== 'ClusterIP' ? { externalTrafficPolicy: service.spec.externalTrafficPolicy } : {}),
    nodes: [...nodes].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })).map(([node, list]) => ({ node, pods: list.sort((a, b) => a.name.localeCompare(b.name)) })),
  };
}

/** One line per route and the controller as a path, for the rendered tree. */
export function describeIngressPath(view: IngressPathView): { text: string; children: string[] } {
  const routes = view.routes.map((route) => `${route.host ?? '*'}${route.path} → :${route.port}`).join(', ');
  const text = `Ingress ${view.ingress}${view.className ? ` (class ${view.className})` : ''}: ${routes}`;
  const controller = view.controller;
  if (!controller) return { text, children: [view.note ?? 'controller not identified'] };
  const entry = [
    controller.loadBalancer.length > 0 ? `LoadBalancer ${controller.loadBalancer.join(', ')}` : '',
    controller.clusterIP ? `ClusterIP ${controller.clusterIP}` : '',
  ].filter(Boolean).join(' · ');
  return {
    text,
    children: [
      `controller Service ${controller.service} (${controller.type}${controller.externalTrafficPolicy ? `, externalTrafficPolicy ${controller.externalTrafficPolicy}` : ''})${entry ? `: ${entry}` : ''}`,
      ...controller.nodes.map(({ node, pods }) => `${node}: ${pods.map((pod) => `${pod.name} ${pod.podIP ?? '(no IP)'}${pod.ready ? '' : ' NOT READY'}`).join(', ')} → each request to a pod of this Service`),
      ...(controller.nodes.length === 1 && controller.nodes[0]!.pods.length > 1 ? [`every replica runs on ${controller.nodes[0]!.node}: all traffic through this Ingress crosses that node`] : []),
    ],
  };
}
