import type { V1Ingress, V1Pod, V1Service } from '@kubernetes/client-node';
import { controllerView, describeIngressPath, ingressClassName, ingressesTo } from '../../../harness/inspect/ingress.ts';
import { controllerOfClass } from '../../../manifests/ingress-controller.ts';
import { ingressClassOf, ingressControllerObjects, ingressTo } from '../../../manifests/ingress-controller.ts';

const pod = (name: string, node: string, podIP: string, ready = true): V1Pod => ({
  metadata: { name },
  spec: { nodeName: node, containers: [] },
  status: { podIP, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});

describe('the Ingress layer of kth inspect service', () => {
  const ours = ingressTo({ name: 'web', namespace: 'ns', runId: 'r', className: ingressClassOf({ name: 'ingress' }), service: 'web', port: 80 });

  it('GIVEN the harness\'s Ingress THEN it routes to its Service, and its class leads to the controller\'s Service (the one manifests/ingress-controller.ts names)', () => {
    expect(ingressesTo('web', [ours]).map(({ routes }) => routes)).toEqual([[{ path: '/', port: 80 }]]);
    expect(ingressesTo('other', [ours])).toEqual([]);
    const service = ingressControllerObjects({ name: 'ingress', namespace: 'ns', runId: 'r' }).find((object) => object.kind === 'Service');
    expect(controllerOfClass(ingressClassName(ours))).toBe(service?.metadata?.name);
    expect(controllerOfClass('nginx')).toBeUndefined();
  });

  it('GIVEN host rules, a default backend and ingressClassName THEN each route to the Service is listed', () => {
    const ingress: V1Ingress = {
      metadata: { name: 'shop' },
      spec: {
        ingressClassName: 'nginx',
        defaultBackend: { service: { name: 'web', port: { name: 'http' } } },
        rules: [{ host: 'a.example', http: { paths: [{ path: '/api', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 8080 } } } }, { path: '/x', pathType: 'Prefix', backend: { service: { name: 'x', port: { number: 1 } } } }] } }],
      },
    };
    expect(ingressClassName(ingress)).toBe('nginx');
    expect(ingressesTo('web', [ingress])[0]?.routes).toEqual([{ path: '(default backend)', port: 'http' }, { host: 'a.example', path: '/api', port: 8080 }]);
  });

  it('GIVEN two replicas on one node THEN the view groups them by node and the tree says all traffic crosses it; a replica not Ready is marked', () => {
    const service: V1Service = { metadata: { name: 'ingress' }, spec: { type: 'LoadBalancer', clusterIP: '10.96.0.9', externalTrafficPolicy: 'Cluster' }, status: { loadBalancer: { ingress: [{ ip: '10.250.0.1' }] } } };
    const view = controllerView(service, [pod('ingress-b', 'node-1', '10.2.0.6', false), pod('ingress-a', 'node-1', '10.2.0.5')]);
    expect(view).toEqual({
      service: 'ingress', type: 'LoadBalancer', clusterIP: '10.96.0.9', loadBalancer: ['10.250.0.1'], externalTrafficPolicy: 'Cluster',
      nodes: [{ node: 'node-1', pods: [{ name: 'ingress-a', podIP: '10.2.0.5', ready: true }, { name: 'ingress-b', podIP: '10.2.0.6', ready: false }] }],
    });
    expect(describeIngressPath({ ingress: 'web', className: 'kth-ingress', routes: [{ path: '/', port: 80 }], controller: view })).toEqual({
      text: 'Ingress web (class kth-ingress): */ → :80',
      children: [
        'controller Service ingress (LoadBalancer, externalTrafficPolicy Cluster): LoadBalancer 10.250.0.1 · ClusterIP 10.96.0.9',
        'node-1: ingress-a 10.2.0.5, ingress-b 10.2.0.6 NOT READY → each request to a pod of this Service',
        'every replica runs on node-1: all traffic through this Ingress crosses that node',
      ],
    });
  });
});
