import type { KubernetesObject } from '@kubernetes/client-node';
import { apply, connect, waitForReadyEndpoints } from '../kube/cluster.ts';
import { COREDNS_VERSION } from '../setup/versions.ts';
import { labNetwork } from './addressing.ts';

/**
 * The lab's cluster DNS, as kubeadm installs it: CoreDNS (built by setup from its Go module; the
 * lab maps its image to that binary) in kube-system behind the `kube-dns` Service at the service
 * CIDR's tenth address, which the node agents name in ClusterFirst pods' resolv.conf
 * (agent/pod-dns.ts). Opt-in (`kth lab up --dns`; every `kth lab e2e` lab): the harness itself
 * reaches Services by address, and a lab without DNS starts sooner and runs one pod fewer.
 * The Corefile is kubeadm's less `forward` and `loop`: no lab namespace has a route out, so
 * names outside the cluster have nowhere to go.
 */
export const corednsImage = `registry.k8s.io/coredns/coredns:${COREDNS_VERSION}`;

const corefile = `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes ${labNetwork.clusterDomain} in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    cache 30
    reload
    loadbalance
}
`;

export function clusterDnsObjects(): KubernetesObject[] {
  const labels = { 'k8s-app': 'kube-dns', 'app.kubernetes.io/managed-by': 'kube-traffic-harness-lab' };
  const metadata = (name: string) => ({ name, namespace: 'kube-system', labels });
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: metadata('coredns') },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'system:coredns', labels },
      rules: [
        { apiGroups: [''], resources: ['endpoints', 'services', 'pods', 'namespaces'], verbs: ['list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
      ],
    } as KubernetesObject,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'system:coredns', labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:coredns' },
      subjects: [{ kind: 'ServiceAccount', name: 'coredns', namespace: 'kube-system' }],
    } as KubernetesObject,
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: metadata('coredns'), data: { Corefile: corefile } } as KubernetesObject,
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: metadata('coredns'),
      spec: {
        replicas: 1,
        selector: { matchLabels: { 'k8s-app': 'kube-dns' } },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: 'coredns',
            // CoreDNS resolves for the cluster; it must not ask itself.
            dnsPolicy: 'Default',
            priorityClassName: 'system-cluster-critical',
            containers: [
              {
                name: 'coredns',
                image: corednsImage,
                args: ['-conf', '/etc/coredns/Corefile'],
                ports: [
                  { name: 'dns', containerPort: 53, protocol: 'UDP' },
                  { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
                  { name: 'metrics', containerPort: 9153, protocol: 'TCP' },
                ],
                readinessProbe: { httpGet: { path: '/ready', port: 8181 }, periodSeconds: 2 },
                livenessProbe: { httpGet: { path: '/health', port: 8080 }, initialDelaySeconds: 60, timeoutSeconds: 5, failureThreshold: 5 },
                // The lab provides projected volumes: the ConfigMap comes in as one.
                volumeMounts: [{ name: 'config-volume', mountPath: '/etc/coredns', readOnly: true }],
              },
            ],
            volumes: [{ name: 'config-volume', projected: { sources: [{ configMap: { name: 'coredns', items: [{ key: 'Corefile', path: 'Corefile' }] } }] } }],
          },
        },
      },
    } as KubernetesObject,
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { ...metadata('kube-dns'), labels: { ...labels, 'kubernetes.io/name': 'CoreDNS' } },
      spec: {
        selector: { 'k8s-app': 'kube-dns' },
        clusterIP: labNetwork.clusterDnsIp,
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
          { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
        ],
      },
    } as KubernetesObject,
  ];
}

/** Installs the cluster DNS and returns once `kube-dns` has a ready endpoint. */
export async function deployClusterDns(kubeconfig: string, timeoutMs: number): Promise<void> {
  const cluster = connect(kubeconfig);
  await apply(cluster, clusterDnsObjects());
  await waitForReadyEndpoints(cluster, 'kube-system', 'kube-dns', 1, timeoutMs);
}
