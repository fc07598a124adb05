/**
 * Pinned upstream programs, built from Go modules by `npm run setup`. Change a pin here and the
 * next setup builds into a fresh cache directory; the old one stays until deleted.
 *
 * Any pin can be overridden for one run with KTH_PIN_<GROUP> (e.g. KTH_PIN_K6=v1.7.0), which is
 * how a user tries a newer release before proposing it here.
 */
export interface BuildGroup {
  /** Stable id, also the KTH_PIN_<ID> override name. */
  readonly id: 'kubernetes' | 'etcd' | 'k6' | 'kind' | 'ghz';
  /** The Go module that is required at `version`. */
  readonly module: string;
  readonly version: string;
  /** Main packages to build, each into a binary named after its last path element. */
  readonly packages: readonly string[];
  /** What the harness uses it for, shown by `kth doctor` and in setup progress. */
  readonly purpose: string;
  /** Arguments that make the binary print its version (setup runs them to verify the build). */
  readonly versionArgs: readonly string[];
  /** Link-time `-X` settings that stamp the version where the upstream release process would. */
  readonly versionVariables?: Readonly<Record<string, string>>;
}

export const KUBERNETES_VERSION = 'v1.36.3';

export const buildGroups: readonly BuildGroup[] = [
  {
    id: 'kubernetes',
    module: 'k8s.io/kubernetes',
    version: KUBERNETES_VERSION,
    packages: [
      'k8s.io/kubernetes/cmd/kube-apiserver',
      'k8s.io/kubernetes/cmd/kube-controller-manager',
      'k8s.io/kubernetes/cmd/kube-scheduler',
      'k8s.io/kubernetes/cmd/kube-proxy',
    ],
    purpose: 'lab control plane and per-node kube-proxy',
    versionArgs: ['--version'],
    versionVariables: {
      'k8s.io/component-base/version.gitVersion': '{version}',
      'k8s.io/component-base/version.gitMajor': '{major}',
      'k8s.io/component-base/version.gitMinor': '{minor}',
      'k8s.io/component-base/version.gitTreeState': 'clean',
    },
  },
  {
    // 3.6 is what k8s 1.36 is tested with; Debian's 3.4 lacks the watch features the API server uses.
    id: 'etcd',
    module: 'go.etcd.io/etcd/server/v3',
    version: 'v3.6.8',
    packages: ['go.etcd.io/etcd/server/v3'],
    purpose: 'lab control-plane storage',
    versionArgs: ['--version'],
  },
  {
    id: 'k6',
    module: 'go.k6.io/k6',
    version: 'v1.8.1',
    packages: ['go.k6.io/k6'],
    purpose: 'k6 load scenarios (scenarios/k6)',
    versionArgs: ['version'],
  },
  {
    id: 'kind',
    module: 'sigs.k8s.io/kind',
    version: 'v0.33.0',
    packages: ['sigs.k8s.io/kind'],
    purpose: 'kind provider',
    versionArgs: ['version'],
  },
  {
    id: 'ghz',
    module: 'github.com/bojand/ghz',
    version: 'v0.120.0',
    packages: ['github.com/bojand/ghz/cmd/ghz'],
    purpose: 'gRPC benchmark peer (bench/ only)',
    versionArgs: ['--version'],
    versionVariables: { 'main.version': '{version}' },
  },
];

/** The binary a main package builds into: the last path element, except etcd's module root. */
export function binaryNameOf(pkg: string): string {
  if (pkg === 'go.etcd.io/etcd/server/v3') return 'etcd';
  if (pkg === 'go.k6.io/k6') return 'k6';
  if (pkg === 'sigs.k8s.io/kind') return 'kind';
  return pkg.split('/').at(-1) as string;
}

export type BinaryName =
  | 'kube-apiserver'
  | 'kube-controller-manager'
  | 'kube-scheduler'
  | 'kube-proxy'
  | 'etcd'
  | 'k6'
  | 'kind'
  | 'ghz';

/** The pins in force: the table above with any KTH_PIN_<ID> overrides applied. */
export function effectiveGroups(env: NodeJS.ProcessEnv = process.env): BuildGroup[] {
  return buildGroups.map((group) => {
    const override = env[`KTH_PIN_${group.id.toUpperCase()}`];
    return override ? { ...group, version: override } : group;
  });
}
