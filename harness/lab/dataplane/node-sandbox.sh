#!/usr/bin/env bash
# What a real node gives an eBPF data plane, for one lab node sharing the host's kernel:
#   - its own mount namespace, with its own bpffs at /sys/fs/bpf and its own tmpfs at /run/cilium
#     (Cilium hard-codes paths there: its API socket, deleteQueue, pid file);
#   - its own cgroup2 subtree <cgroup2>/kth/<lab>/<node>, mounted at /run/cilium/cgroupv2 (where
#     Cilium attaches socket load balancing), and a cgroup namespace rooted at it, so
#     /proc/self/cgroup reads 0::/ inside, as on a node.
# Every process of the node (Cilium agent, lab node agent and so its pods) lives in all of that.
#
#   node-sandbox.sh hold <lab> <node> <pidfile>     the holder: sets it up, then waits (like a pause container)
#   node-sandbox.sh enter <lab> <node> <pidfile> -- <argv…>   runs argv inside the holder's sandbox
#
# Both run under `ip netns exec <node netns>`, so the network namespace is the node's already; that
# mount namespace is a slave of the host's, and so is the holder's: host mounts (pod network
# namespaces under /run/netns) still propagate in, and nothing mounted here leaks out. When the
# holder and everything that entered are gone, the kernel drops the mounts (and bpffs pins with
# them); the cgroup directory is removed by `lab down` (harness/lab/dataplane/node-cgroup.ts).
set -euo pipefail

die() {
  echo "node-sandbox: $*" >&2
  exit 1
}

cmd=${1:-}
lab=${2:-}
node=${3:-}
pidfile=${4:-}
[[ -n $cmd && -n $lab && -n $node && -n $pidfile ]] || die "usage: $0 hold|enter <lab> <node> <pidfile> [-- argv…]"
cgroup_rel="kth/$lab/$node"

case $cmd in
hold)
  # A mount namespace of our own (slave: receives the host's mounts, sends none back).
  exec unshare --mount --propagation slave -- bash "$0" hold-inside "$lab" "$node" "$pidfile"
  ;;
hold-inside)
  mkdir -p /run/cilium # the one path made on the host's /run (an empty directory; lab down removes it when unused)
  mount -t tmpfs -o mode=0755,size=256m "kth-$lab-$node" /run/cilium
  mkdir -p /run/cilium/.cgroup2 /run/cilium/cgroupv2
  # The whole cgroup2 hierarchy, only long enough to make the node's subtree and bind it in place.
  mount -t cgroup2 none /run/cilium/.cgroup2
  mkdir -p "/run/cilium/.cgroup2/$cgroup_rel"
  echo $$ >"/run/cilium/.cgroup2/$cgroup_rel/cgroup.procs"
  mount --bind "/run/cilium/.cgroup2/$cgroup_rel" /run/cilium/cgroupv2
  umount /run/cilium/.cgroup2
  rmdir /run/cilium/.cgroup2
  mount -t bpf bpf /sys/fs/bpf
  echo $$ >"$pidfile.tmp" && mv "$pidfile.tmp" "$pidfile"
  # The cgroup namespace last, now that we sit in the node's cgroup: it becomes the namespace root.
  exec unshare --cgroup -- sleep infinity
  ;;
enter)
  [[ ${5:-} == -- ]] || die "enter: expected -- before the command"
  shift 5
  [[ -s $pidfile ]] || die "enter: no sandbox for node $node yet ($pidfile missing)"
  holder=$(<"$pidfile")
  [[ -d /proc/$holder ]] || die "enter: the sandbox holder of node $node (pid $holder) is gone"
  # Mount namespace first (to see /run/cilium/cgroupv2), move into the node's cgroup while still
  # outside its cgroup namespace, then enter that namespace and run the command.
  exec nsenter --target "$holder" --mount -- /bin/sh -c \
    'echo $$ >/run/cilium/cgroupv2/cgroup.procs && exec nsenter --target "$0" --cgroup -- "$@"' "$holder" "$@"
  ;;
*)
  die "unknown command '$cmd'"
  ;;
esac
