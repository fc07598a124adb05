import { stringify } from 'yaml';

/**
 * What `--provider existing` does on a cluster, as RBAC rules: the one list the pre-flight checks
 * (SelfSubjectAccessReview, before anything is created) and `kth existing rbac` prints, so the two
 * can never disagree. Everything is namespaced to the run's own namespace except creating and
 * deleting that namespace, and reading nodes and kube-system's proxy ConfigMaps (what the cluster is).
 */
export interface Permission {
  group: string;
  resource: string;
  verbs: string[];
  /** Cluster-scoped, or read in kube-system: not inside the run's namespace. */
  scope: 'cluster' | 'namespace' | 'kube-system';
  why: string;
  /** Needed only by some scenarios (node-drain). */
  optional?: string;
}

export const requiredPermissions: readonly Permission[] = [
  { group: '', resource: 'namespaces', verbs: ['get', 'list', 'create', 'patch', 'delete'], scope: 'cluster', why: 'one labelled namespace per run, removed after it (and those a crashed run on this host left)' },
  { group: '', resource: 'nodes', verbs: ['get', 'list'], scope: 'cluster', why: 'node names and addresses (placement, cross-node hops)' },
  { group: '', resource: 'configmaps', verbs: ['get'], scope: 'kube-system', why: "the proxy mode (kube-proxy's or Cilium's ConfigMap)" },
  { group: '', resource: 'pods', verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'], scope: 'namespace', why: 'sample servers, the client and load pods' },
  { group: '', resource: 'pods/log', verbs: ['get'], scope: 'namespace', why: "load pods' results come back through their logs" },
  { group: '', resource: 'services', verbs: ['get', 'create', 'patch'], scope: 'namespace', why: 'the Service under test' },
  { group: 'apps', resource: 'deployments', verbs: ['get', 'list', 'watch', 'create', 'patch'], scope: 'namespace', why: 'the sample servers; rollouts and scaling' },
  { group: 'apps', resource: 'deployments/scale', verbs: ['patch'], scope: 'namespace', why: 'scale events' },
  { group: 'apps', resource: 'replicasets', verbs: ['get', 'list'], scope: 'namespace', why: 'rollout progress' },
  { group: 'discovery.k8s.io', resource: 'endpointslices', verbs: ['get', 'list', 'watch'], scope: 'namespace', why: 'endpoint changes on the run clock' },
  { group: 'policy', resource: 'poddisruptionbudgets', verbs: ['get', 'create', 'patch'], scope: 'namespace', why: 'workload.pdb', optional: 'scenarios with workload.pdb' },
  { group: '', resource: 'pods/eviction', verbs: ['create'], scope: 'namespace', why: 'node-drain evicts the run\'s pods', optional: 'node-drain with --allow-cluster-chaos' },
  { group: '', resource: 'nodes', verbs: ['patch'], scope: 'cluster', why: 'node-drain cordons a node, node-uncordon undoes it', optional: 'node-drain with --allow-cluster-chaos' },
];

/** A ClusterRole with every rule and a binding for `subject`, as YAML a cluster admin applies. */
export function rbacManifest(subject: { kind: 'User' | 'Group' | 'ServiceAccount'; name: string; namespace?: string }): string {
  const name = 'kube-traffic-harness';
  const rules = requiredPermissions.map((p) => ({ apiGroups: [p.group], resources: [p.resource], verbs: p.verbs }));
  const role = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules };
  const binding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
    subjects: [subject.kind === 'ServiceAccount' ? { kind: 'ServiceAccount', name: subject.name, namespace: subject.namespace ?? 'default' } : { apiGroup: 'rbac.authorization.k8s.io', kind: subject.kind, name: subject.name }],
  };
  const why = requiredPermissions.map((p) => `#   ${p.group || 'core'}/${p.resource} ${p.verbs.join(',')}: ${p.why}${p.optional ? ` (only ${p.optional})` : ''}`).join('\n');
  return `# What kth run --provider existing needs (a ClusterRole: the run's namespace does not exist before the run).\n${why}\n---\n${stringify(role)}---\n${stringify(binding)}`;
}
