import type { KubernetesObject, V1Deployment, V1Ingress, V1PodDisruptionBudget, V1Service } from '@kubernetes/client-node';
import { ingressControllerName, ingressObjects } from '../../../harness/engine/workload.ts';
import { TRAEFIK_VERSION } from '../../../harness/setup/versions.ts';

const byKind = <T extends KubernetesObject>(objects: readonly KubernetesObject[], kind: string) => objects.filter((object) => object.kind === kind) as T[];

describe('ingressObjects: the controller a scenario\'s workload.ingress asks for', () => {
  const names = { namespace: 'kth-x', runId: 'r1', service: 'web' };

  it('GIVEN replicas, hostname spread, a PDB and a Local LoadBalancer THEN the Deployment, its Service, the PDB over its pods and the Ingress to the workload say so', () => {
    const objects = ingressObjects({ replicas: 2, spread: 'hostname', pdb: { minAvailable: 1 }, serviceType: 'LoadBalancer', externalTrafficPolicy: 'Local' }, names, ['n1', 'n2', 'n3']);
    const [deployment] = byKind<V1Deployment>(objects, 'Deployment');
    expect(deployment?.metadata?.name).toBe(ingressControllerName);
    expect(deployment?.spec?.replicas).toBe(2);
    expect(deployment?.spec?.template.spec?.containers[0]?.image).toBe(`traefik:${TRAEFIK_VERSION}`);
    expect(deployment?.spec?.template.spec?.topologySpreadConstraints).toEqual([{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: deployment?.spec?.selector.matchLabels } }]);
    expect(deployment?.spec?.template.spec?.affinity).toBeUndefined();
    const [service] = byKind<V1Service>(objects, 'Service');
    expect(service?.spec).toMatchObject({ type: 'LoadBalancer', externalTrafficPolicy: 'Local', selector: deployment?.spec?.selector.matchLabels });
    const [pdb] = byKind<V1PodDisruptionBudget>(objects, 'PodDisruptionBudget');
    expect(pdb?.spec).toEqual({ selector: { matchLabels: deployment?.spec?.selector.matchLabels }, minAvailable: 1 });
    const [ingress] = byKind<V1Ingress>(objects, 'Ingress');
    expect(ingress?.metadata?.annotations?.['kubernetes.io/ingress.class']).toBe(`kth-${ingressControllerName}`);
    expect(ingress?.spec?.rules?.[0]?.http?.paths[0]?.backend.service).toEqual({ name: 'web', port: { number: 80 } });
  });

  it('GIVEN nodes THEN a required node affinity on their names, and the defaults: one replica, ClusterIP, no spread, no PDB', () => {
    const objects = ingressObjects({ nodes: [1] }, names, ['n1', 'n2', 'n3']);
    const [deployment] = byKind<V1Deployment>(objects, 'Deployment');
    expect(deployment?.spec?.replicas).toBe(1);
    expect(deployment?.spec?.template.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms).toEqual([{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['n1'] }] }]);
    expect(deployment?.spec?.template.spec?.topologySpreadConstraints).toBeUndefined();
    expect(byKind<V1Service>(objects, 'Service')[0]?.spec?.type).toBe('ClusterIP');
    expect(byKind(objects, 'PodDisruptionBudget')).toEqual([]);
    expect(deployment?.spec?.template.spec?.containers[0]?.args).not.toContain('--providers.kubernetesingress.nativeLBByDefault=true');
  });

  it('GIVEN lb native THEN Traefik sends every route to the Service\'s ClusterIP (nativeLB for the provider\'s Services)', () => {
    const [deployment] = byKind<V1Deployment>(ingressObjects({ lb: 'native' }, names), 'Deployment');
    expect(deployment?.spec?.template.spec?.containers[0]?.args).toContain('--providers.kubernetesingress.nativeLBByDefault=true');
  });
});
