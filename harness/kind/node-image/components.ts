import { type BuildGroup, buildGroups, KUBERNETES_VERSION } from '../../setup/versions.ts';

/**
 * Every pin of the kind node image, in one place. They follow kind v0.33.0's own choices
 * (images/base/Dockerfile, pkg/build/nodeimage/*.go) and what `kubeadm config images list`
 * prints for KUBERNETES_VERSION; image-list.ts fails the build when kubeadm disagrees.
 */

/** The kind release whose node layout (files, containerd config, CNI manifest) this image follows. */
export const KIND_VERSION = buildGroups.find((g) => g.id === 'kind')?.version ?? 'v0.33.0';

/**
 * A build group of the node image. Same shape as setup's, but its id is free text: these groups
 * never enter setup's pin table (that would change the host bin dir key). The kubernetes group
 * keeps the id 'kubernetes' because buildGoGroup maps k8s.io/kubernetes's staging modules by it.
 */
export type NodeBuildGroup = Omit<BuildGroup, 'id'> & {
  readonly id: string;
  /** Go environment over buildGoGroup's default (CGO for runc). */
  readonly env?: Readonly<Record<string, string>>;
};

const kubernetesGroup = buildGroups.find((g) => g.id === 'kubernetes') as BuildGroup;
const corednsGroup = buildGroups.find((g) => g.id === 'coredns') as BuildGroup;

/** A setup group as a node-image group: what only setup reads (when to build it) is not part of the image's build. */
function withoutSetupFields(group: BuildGroup): Omit<BuildGroup, 'onRequest' | 'followsPin'> {
  const { onRequest: _onRequest, followsPin: _followsPin, ...rest } = group;
  return rest;
}

/**
 * Setup's own groups whose binaries the image carries as they are: the control plane, kube-proxy
 * and etcd are the lab's, at the pins kubeadm lists (image-list.ts checks), so each is built once.
 */
export const setupGroupsInImage: readonly BuildGroup[] = buildGroups.filter((g) => g.id === 'kubernetes' || g.id === 'etcd');

export const nodeBuildGroups: readonly NodeBuildGroup[] = [
  {
    // Same module, pin and version stamps as setup's kubernetes group (so kubeadm reports the
    // release and lists its images): the node's own programs, which the lab does not run.
    ...kubernetesGroup,
    id: 'kubernetes',
    packages: ['k8s.io/kubernetes/cmd/kubelet', 'k8s.io/kubernetes/cmd/kubeadm', 'k8s.io/kubernetes/cmd/kubectl'],
    purpose: 'kind node: kubelet, kubeadm, kubectl',
  },
  // Setup's own coredns group (the lab's cluster DNS), as the node image's coredns image.
  { ...withoutSetupFields(corednsGroup), id: 'coredns', purpose: 'kind node: coredns image' },
  {
    // Kubernetes 1.36 needs containerd ≥ 2.2 (Debian's 1.6 is too old); kind v0.33.0 pins v2.3.4.
    id: 'containerd',
    module: 'github.com/containerd/containerd/v2',
    version: 'v2.3.4',
    packages: [
      'github.com/containerd/containerd/v2/cmd/containerd',
      'github.com/containerd/containerd/v2/cmd/ctr',
      'github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2',
    ],
    purpose: 'kind node: container runtime',
    versionArgs: ['--version'],
    // kind builds without the snapshotters it never selects; urfave_cli_no_docs as upstream's Makefile.
    buildTags: ['no_aufs', 'no_zfs', 'no_btrfs', 'no_devmapper', 'urfave_cli_no_docs'],
    versionVariables: {
      'github.com/containerd/containerd/v2/version.Version': '{version}',
      'github.com/containerd/containerd/v2/version.Package': 'github.com/containerd/containerd/v2',
    },
  },
  {
    // runc needs cgo (nsenter) and libseccomp (tag seccomp): linked against the host's
    // libseccomp.so.2, which the node's bookworm libseccomp2 provides at run time.
    id: 'runc',
    module: 'github.com/opencontainers/runc',
    version: 'v1.4.3',
    packages: ['github.com/opencontainers/runc'],
    purpose: 'kind node: OCI runtime',
    versionArgs: ['--version'],
    buildTags: ['seccomp', 'urfave_cli_no_docs'],
    versionVariables: { 'main.gitCommit': '{version}' },
    env: { CGO_ENABLED: '1' },
  },
  {
    id: 'crictl',
    module: 'sigs.k8s.io/cri-tools',
    version: 'v1.36.0',
    packages: ['sigs.k8s.io/cri-tools/cmd/crictl'],
    purpose: 'kind node: CRI debugging CLI',
    versionArgs: ['--version'],
    versionVariables: { 'sigs.k8s.io/cri-tools/pkg/version.Version': '{version}' },
  },
  {
    id: 'cni-plugins',
    module: 'github.com/containernetworking/plugins',
    version: 'v1.9.1',
    packages: [
      'github.com/containernetworking/plugins/plugins/ipam/host-local',
      'github.com/containernetworking/plugins/plugins/main/loopback',
      'github.com/containernetworking/plugins/plugins/main/ptp',
      'github.com/containernetworking/plugins/plugins/meta/portmap',
    ],
    purpose: 'kind node: CNI plugins kindnet configures',
    versionArgs: ['--version'],
    versionVariables: { 'github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion': '{version}' },
  },
];

/**
 * kind's CNI image. Its module (sigs.k8s.io/kind/images/kindnetd) is not served by the Go module
 * proxy this project may use (no tagged version; pseudo-versions refused), so the image carries the
 * harness's own minimal kindnetd (./kindnetd): same image name, same manifest, same CNI config shape.
 */
export const KINDNETD_IMAGE = 'docker.io/kindest/kindnetd:v20260820-69b56db7';

/** kind v0.33.0's containerd config names this sandbox image; kubeadm lists pause:3.10.2. Both tags are loaded. */
export const KIND_SANDBOX_IMAGE = 'registry.k8s.io/pause:3.10';

export const DEBIAN_SUITE = 'bookworm'; // systemd 252: trixie's systemd (257) refuses cgroup v1.

/**
 * kind's base-image package list, minus nfs-common, open-iscsi (storage e2e tests only) and curl;
 * plus systemd-sysv (/sbin/init) and dbus (the system bus tools that talk to systemd expect).
 */
export const NODE_PACKAGES = [
  'systemd', 'systemd-sysv', 'dbus',
  'conntrack', 'iptables', 'nftables', 'iproute2', 'ethtool', 'util-linux', 'mount', 'kmod',
  'libseccomp2', 'pigz', 'fuse-overlayfs', 'e2fsprogs', 'bash', 'ca-certificates', 'jq', 'procps',
];

/** Userland of the kube-proxy and kindnetd images: both program netfilter through these tools. */
export const NETFILTER_PACKAGES = ['iptables', 'nftables', 'conntrack', 'iproute2', 'kmod'];

/** Where each built program goes in the node's filesystem (kind's layout); the rest go into images. */
export const NODE_BINARY_DIRS: Readonly<Record<string, string>> = {
  kubelet: 'usr/bin',
  kubeadm: 'usr/bin',
  kubectl: 'usr/bin',
  containerd: 'usr/local/bin',
  ctr: 'usr/local/bin',
  'containerd-shim-runc-v2': 'usr/local/bin',
  crictl: 'usr/local/bin',
  runc: 'usr/local/sbin',
  'host-local': 'opt/cni/bin',
  loopback: 'opt/cni/bin',
  ptp: 'opt/cni/bin',
  portmap: 'opt/cni/bin',
};

/** How to ask each program its version, for the image label (default: the group's versionArgs). */
export const VERSION_ARGS: Readonly<Record<string, readonly string[]>> = {
  kubelet: ['--version'],
  kubeadm: ['version', '-o', 'short'],
  kubectl: ['version', '--client'],
  ctr: ['--version'],
  'containerd-shim-runc-v2': ['-v'],
  // CNI plugins print "CNI <name> plugin <version>" when CNI_COMMAND is unset, exiting non-zero.
  'host-local': [],
  loopback: [],
  ptp: [],
  portmap: [],
};

export { KUBERNETES_VERSION };
