/**
 * Pinned upstream programs, built from Go modules by `npm run setup`. Change a pin here and the
 * next setup builds into a fresh cache directory; the old one stays until deleted.
 *
 * Any pin can be overridden for one run with KTH_PIN_<GROUP> (e.g. KTH_PIN_K6=v1.7.0), which is
 * how a user tries a newer release before proposing it here.
 */
export interface BuildGroup {
  /** Stable id, also the KTH_PIN_<ID> override name. */
  readonly id: 'kubernetes' | 'etcd' | 'k6' | 'kind' | 'ghz' | 'actionlint' | 'traefik' | 'cilium' | 'e2e' | 'coredns';
  /** The Go module that is required at `version`. */
  readonly module: string;
  readonly version: string;
  /** Main packages to build, each into a binary named after its last path element. */
  readonly packages: readonly string[];
  /** Packages whose tests are compiled into a test binary (`go test -c`), named `<last element>.test`. */
  readonly testPackages?: readonly string[];
  /**
   * Built only when asked for (`kth setup-binaries --only <id>`, setup.sh --e2e), not by a plain
   * setup. Such a group stays out of the binary directory's pins key: its binaries are checked
   * against their recorded module@version like every other.
   */
  readonly onRequest?: boolean;
  /** Another group whose KTH_PIN_ override this group follows too (it builds from the same module). */
  readonly followsPin?: BuildGroup['id'];
  /** What the harness uses it for, shown by `kth doctor` and in setup progress. */
  readonly purpose: string;
  /** Arguments that make the binary print its version (setup runs them to verify the build). */
  readonly versionArgs: readonly string[];
  /** Per-binary exceptions to `versionArgs`, for a group whose programs disagree on how to ask. */
  readonly binaryVersionArgs?: Readonly<Partial<Record<BinaryName, readonly string[]>>>;
  /**
   * Link-time `-X` settings that stamp the version where the upstream release process would.
   * `{version}` is the pin (v1.2.3), `{bare}` the pin without its v, `{major}`/`{minor}` its parts.
   * Values may contain spaces (the build quotes them).
   */
  readonly versionVariables?: Readonly<Record<string, string>>;
  /**
   * Extra `replace` lines for the wrapper's go.mod (`old => new version`): the upstream module's
   * own replaces (which a dependency's go.mod cannot carry) and fixes for pins the proxy refuses.
   */
  readonly replaces?: readonly string[];
  /** `exclude` lines for the wrapper's go.mod: the upstream module's own (a dependency's go.mod cannot carry them). */
  readonly excludes?: readonly string[];
  /**
   * Modules the pin needs in a form the Go module proxy does not serve (a fork, a nested module),
   * made in the wrapper from what it does serve: each explained where it is declared.
   */
  readonly substitutes?: readonly ModuleSubstitute[];
  /** `go build -tags`, as the upstream release build sets them. */
  readonly buildTags?: readonly string[];
  /** Non-Go files of the module the programs need at run time, copied next to the binaries. */
  readonly assets?: readonly ModuleAsset[];
}

/**
 * A local module the wrapper builds with in place of `module` (module-substitutes.ts): a copy of a
 * served module (`copyOf`, tests left out) with `edits` applied, then the files of
 * harness/setup/go-substitutes/<files> added — or those files alone.
 */
export interface ModuleSubstitute {
  readonly module: string;
  readonly copyOf?: { readonly module: string; readonly version: string };
  /** Directory inside the wrapper module. */
  readonly dir: string;
  /** Literal replacements in a file of the copy, each of which must find its text. */
  readonly edits?: readonly { readonly file: string; readonly replace: readonly (readonly [string, string])[] }[];
  readonly files?: string;
}

/** A directory of the pinned module copied into the binary directory by setup. */
export interface ModuleAsset {
  /** Directory inside the module (e.g. `bpf`). */
  readonly from: string;
  /** Directory relative to the binary directory (e.g. `cilium-lib/bpf`). */
  readonly to: string;
  /** Copy only files with this extension (`.yaml`); every file, recursively, when absent. */
  readonly extension?: string;
}

export const KUBERNETES_VERSION = 'v1.36.3';
export const TRAEFIK_VERSION = 'v3.7.13';
/** test/images/agnhost/VERSION at KUBERNETES_VERSION: the agnhost image tag its e2e tests run. */
export const AGNHOST_VERSION = '2.63.0';
/** What kubeadm lists for KUBERNETES_VERSION: the lab's cluster DNS and the kind node image's. */
export const COREDNS_VERSION = 'v1.14.2';
/** The pause image tag of KUBERNETES_VERSION's e2e image manifest (test/utils/image/manifest.go). */
export const PAUSE_IMAGE_VERSION = '3.10.2';

/** The two places lego's generated registry names a DNS provider: its import and its case. */
function droppedDnsProvider(name: string): [string, string][] {
  const aliases: Record<string, string> = { edgedns: '"edgedns", "fastdns"' };
  return [
    [`\t"github.com/go-acme/lego/v5/providers/dns/${name}"\n`, ''],
    [`\tcase ${aliases[name] ?? `"${name}"`}:\n\t\treturn ${name}.NewDNSProvider()\n`, ''],
  ];
}

/** Cilium's lib dir (`cilium-agent --lib-dir`, holding `bpf/`), relative to the binary directory. */
export const CILIUM_LIB_SUBDIR = 'cilium-lib';
/** Cilium's CRD manifests (`v2/*.yaml`, `v2alpha1/*.yaml`), relative to the binary directory. */
export const CILIUM_CRDS_SUBDIR = 'cilium-crds';
/**
 * The clang the agent compiles its datapath with: Debian's clang-19 (19.1.7, the LLVM release
 * Cilium's own image ships; Cilium needs >= 18.1). The agent runs `clang` from PATH, so the lab
 * starts it with PATH=CILIUM_CLANG_DIR:$PATH.
 */
export const CILIUM_CLANG_DIR = '/usr/lib/llvm-19/bin';
export const CILIUM_CLANG_MIN_MAJOR = 18;

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
  {
    // Lints the example nightly workflow (.github/workflows/nightly.yml) in the tests; runs
    // shellcheck on its run: scripts only where shellcheck is on PATH.
    id: 'actionlint',
    module: 'github.com/rhysd/actionlint',
    version: 'v1.7.12',
    packages: ['github.com/rhysd/actionlint/cmd/actionlint'],
    purpose: 'lint of the example nightly workflow (tests only)',
    versionArgs: ['-version'],
    // GoReleaser stamps the bare version; unstamped, a dependency build would report the wrapper's "(devel)".
    versionVariables: { 'github.com/rhysd/actionlint.version': '{bare}' },
  },
  {
    // The lab's Ingress controller: a real Traefik v3, with its Kubernetes Ingress provider. Traefik's
    // go.mod points at modules the Go module proxy refuses; each substitute below stands in for
    // one, made from what the proxy serves (README: "What the Traefik build substitutes").
    id: 'traefik',
    module: 'github.com/traefik/traefik/v3',
    version: TRAEFIK_VERSION,
    packages: ['github.com/traefik/traefik/v3/cmd/traefik'],
    purpose: 'lab Ingress controller (Kubernetes Ingress provider)',
    versionArgs: ['version'],
    versionVariables: { 'github.com/traefik/traefik/v3/pkg/version.Version': '{bare}' },
    // Traefik's own: tencentcloud's monorepo publishes overlapping modules.
    excludes: ['github.com/tencentcloud/tencentcloud-sdk-go v3.0.83+incompatible'],
    substitutes: [
      // A nested module of Traefik's repository (./pkg/config/dynamic/ext in its go.mod), left out
      // of the module zip and not published on its own: empty extension types, as upstream's.
      { module: 'github.com/traefik/traefik/dynamic/ext', dir: 'substitutes/traefik-dynamic-ext', files: 'traefik-dynamic-ext' },
      // containous/mux (Traefik's fork) is not served: gorilla/mux v1.8.1 plus the fork's routing path.
      {
        module: 'github.com/gorilla/mux',
        copyOf: { module: 'github.com/gorilla/mux', version: 'v1.8.1' },
        dir: 'substitutes/gorilla-mux',
        edits: [
          { file: 'mux.go', replace: [['\tuseEncodedPath bool\n', '\tuseEncodedPath bool\n\n\t// Path matchers read the path under RoutingPathKey when set (routing_path.go).\n\tuseRoutingPath bool\n']] },
          { file: 'route.go', replace: [['\t\tuseEncodedPath: r.useEncodedPath,\n', '\t\tuseEncodedPath: r.useEncodedPath,\n\t\tuseRoutingPath: r.useRoutingPath,\n']] },
          {
            file: 'regexp.go',
            replace: [
              ['\tstrictSlash    bool\n\tuseEncodedPath bool\n}', '\tstrictSlash    bool\n\tuseEncodedPath bool\n\tuseRoutingPath bool\n}'],
              ['\tif r.options.useEncodedPath {\n\t\tpath = req.URL.EscapedPath()\n\t}\n', '\tif r.options.useEncodedPath {\n\t\tpath = req.URL.EscapedPath()\n\t}\n\tpath = routingPathOf(req, path, r.options.useRoutingPath)\n'],
              ['\tif r.useEncodedPath {\n\t\tpath = req.URL.EscapedPath()\n\t}\n', '\tif r.useEncodedPath {\n\t\tpath = req.URL.EscapedPath()\n\t}\n\tpath = routingPathOf(req, path, r.useRoutingPath)\n'],
            ],
          },
        ],
        files: 'gorilla-mux',
      },
      // containous/go-http-auth (Traefik's fork) is not served: abbot/go-http-auth v0.4.0 plus the two functions the fork adds.
      { module: 'github.com/abbot/go-http-auth', copyOf: { module: 'github.com/abbot/go-http-auth', version: 'v0.4.0' }, dir: 'substitutes/go-http-auth', files: 'go-http-auth' },
      // The ACME DNS-01 providers of six clouds need SDK versions the proxy refuses; the lab issues
      // no certificates. They leave lego's provider registry (naming one is "unrecognized DNS provider").
      {
        module: 'github.com/go-acme/lego/v5',
        copyOf: { module: 'github.com/go-acme/lego/v5', version: 'v5.4.1' },
        dir: 'substitutes/lego',
        edits: [{ file: 'providers/dns/zz_gen_dns_providers.go', replace: (['edgedns', 'huaweicloud', 'oraclecloud', 'sakuracloud', 'ucloud', 'yandexcloud'] as const).flatMap((name) => droppedDnsProvider(name)) }],
      },
    ],
  },
  {
    // `kth lab e2e`: Kubernetes' own e2e suite (test/e2e compiled as upstream's e2e.test is), the
    // agnhost program its network tests run as pods (the lab maps the agnhost image to it) and the
    // kubectl those tests exec with. Built from the same module and pin as the control plane.
    id: 'e2e',
    module: 'k8s.io/kubernetes',
    version: KUBERNETES_VERSION,
    packages: ['k8s.io/kubernetes/test/images/agnhost', 'k8s.io/kubernetes/cmd/kubectl'],
    testPackages: ['k8s.io/kubernetes/test/e2e'],
    onRequest: true,
    followsPin: 'kubernetes',
    purpose: 'kth lab e2e (upstream e2e suite, agnhost, kubectl)',
    versionArgs: ['--version'],
    binaryVersionArgs: { kubectl: ['version', '--client'] },
    versionVariables: {
      'k8s.io/component-base/version.gitVersion': '{version}',
      'k8s.io/component-base/version.gitMajor': '{major}',
      'k8s.io/component-base/version.gitMinor': '{minor}',
      'k8s.io/component-base/version.gitTreeState': 'clean',
      'main.Version': AGNHOST_VERSION,
    },
  },
  {
    // The lab's cluster DNS (`kth lab up --dns`, and every `kth lab e2e` lab: Kubernetes' network
    // tests reach Services by name). The version kubeadm lists for KUBERNETES_VERSION, which the
    // kind node image carries too (its component list reuses this group). Keys in this order:
    // the node image caches its build under a hash of the group as kind sees it.
    id: 'coredns',
    module: 'github.com/coredns/coredns',
    version: COREDNS_VERSION,
    packages: ['github.com/coredns/coredns'],
    purpose: 'lab cluster DNS (kth lab up --dns, kth lab e2e)',
    versionArgs: ['-version'],
    // The upstream Makefile's default tag set (no OpenTelemetry tracing in gRPC).
    buildTags: ['grpcnotrace'],
    versionVariables: { 'github.com/coredns/coredns/coremain.GitCommit': '{version}' },
    onRequest: true,
  },
  {
    // Last: by far the longest build (~10 min cold on 2 cores). The lab's `cilium` proxy mode:
    // the agent (kube-proxy replacement), the CNI plugin the node agent calls, and the debug CLI.
    id: 'cilium',
    module: 'github.com/cilium/cilium',
    version: 'v1.20.2',
    packages: ['github.com/cilium/cilium/daemon', 'github.com/cilium/cilium/plugins/cilium-cni', 'github.com/cilium/cilium/cilium-dbg'],
    purpose: 'lab cilium proxy mode (agent per node, CNI plugin, debug CLI)',
    // cilium-cni prints its version (on stderr, exit 0) whenever CNI_COMMAND is unset, whatever
    // the arguments; cilium-dbg has no --version flag, only a `version` command.
    versionArgs: ['--version'],
    binaryVersionArgs: { 'cilium-dbg': ['version'] },
    // What Makefile.defs stamps: "<version> <git revision> <author date>"; the agent appends the
    // Go version and parses the whole (pkg/version FromString wants all the fields).
    versionVariables: { 'github.com/cilium/cilium/pkg/version.ciliumVersion': '{bare} {version} 2026-09-15T20:03:11Z' },
    replaces: [
      // Cilium's own replace (for a code generator outside every built package's import graph).
      'sigs.k8s.io/controller-tools => github.com/cilium/controller-tools v0.21.0-1',
      // The pinned pseudo-version (5 commits before v4.7.0) is refused by the module proxy; the
      // diff to v4.7.0 touches only unexported BFD code.
      'github.com/osrg/gobgp/v4 => github.com/osrg/gobgp/v4 v4.7.0',
    ],
    buildTags: ['osusergo'],
    assets: [
      { from: 'bpf', to: `${CILIUM_LIB_SUBDIR}/bpf` },
      { from: 'pkg/k8s/apis/cilium.io/client/crds/v2', to: `${CILIUM_CRDS_SUBDIR}/v2`, extension: '.yaml' },
      { from: 'pkg/k8s/apis/cilium.io/client/crds/v2alpha1', to: `${CILIUM_CRDS_SUBDIR}/v2alpha1`, extension: '.yaml' },
    ],
  },
];

/** The binary a main package builds into: the last path element, except where the program's name differs. */
export function binaryNameOf(pkg: string): string {
  if (pkg === 'go.etcd.io/etcd/server/v3') return 'etcd';
  if (pkg === 'github.com/cilium/cilium/daemon') return 'cilium-agent';
  if (pkg === 'go.k6.io/k6') return 'k6';
  if (pkg === 'sigs.k8s.io/kind') return 'kind';
  return pkg.split('/').at(-1) as string;
}

/** Every binary a group builds: its main packages', then its test binaries (`e2e.test`). */
export function groupBinaryNames(group: BuildGroup): string[] {
  return [...group.packages.map(binaryNameOf), ...(group.testPackages ?? []).map(testBinaryNameOf)];
}

export function testBinaryNameOf(pkg: string): string {
  return `${pkg.split('/').at(-1) as string}.test`;
}

export type BinaryName =
  | 'kube-apiserver'
  | 'kube-controller-manager'
  | 'kube-scheduler'
  | 'kube-proxy'
  | 'etcd'
  | 'k6'
  | 'kind'
  | 'ghz'
  | 'actionlint'
  | 'traefik'
  | 'cilium-agent'
  | 'cilium-cni'
  | 'cilium-dbg'
  | 'agnhost'
  | 'kubectl'
  | 'e2e.test'
  | 'coredns';

/** The arguments that make this binary of the group print its version. */
export function versionArgsOf(group: BuildGroup, binary: string): readonly string[] {
  return group.binaryVersionArgs?.[binary as BinaryName] ?? group.versionArgs;
}

/** The pins in force: the table above with any KTH_PIN_<ID> overrides applied. */
export function effectiveGroups(env: NodeJS.ProcessEnv = process.env): BuildGroup[] {
  return buildGroups.map((group) => {
    const pinOf = (id: string) => env[`KTH_PIN_${id.toUpperCase()}`];
    const override = pinOf(group.id) ?? (group.followsPin ? pinOf(group.followsPin) : undefined);
    return override ? { ...group, version: override } : group;
  });
}
