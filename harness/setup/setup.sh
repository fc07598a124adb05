#!/usr/bin/env bash
# One idempotent setup behind both README commands (the main job and the tests):
#   1. Debian packages the lab and the tests use,
#   2. npm dependencies (npm ci, skipped while package-lock.json is unchanged, and when run from an
#      installed package: the depending project installed them),
#   3. the pinned upstream binaries built from Go modules into ~/.cache/kube-traffic-harness
#      (reused when present; KTH_BIN_DIR points at binaries you already have),
#   4. with --kind (the test command): the kind node image, built without any registry (reused when present),
#   5. with --e2e (the test command): Kubernetes' e2e suite, agnhost and kubectl, and CoreDNS, for kth lab e2e.
# Each step says what it does; a failure names the step and the command to rerun.
set -euo pipefail
cd "$(dirname "$0")/../.."
started=$SECONDS
want_kind=0
want_e2e=0
for arg in "$@"; do
  case "$arg" in
    --kind) want_kind=1 ;;
    --e2e) want_e2e=1 ;;
    *) echo "[setup] unknown option: $arg (known: --kind, --e2e)" >&2; exit 2 ;;
  esac
done

fail() {
  echo "[setup] FAILED at step: $1" >&2
  echo "[setup] rerun: $2" >&2
  exit 3
}

# 1. Debian packages. Only what is missing is installed, so a ready host skips apt entirely.
# clang-19/llvm-19: the Cilium agent compiles its BPF datapath with clang (>= 18.1; Debian's 19.1.7
# is what Cilium's own image ships), run from /usr/lib/llvm-19/bin; bpftool inspects what it
# attached. ipset: kube-proxy's ipvs mode. qemu-system-x86, linux-image-amd64 (files under /boot and
# /lib/modules only), busybox-static, ipvsadm, xz-utils and cpio: the guest kernel that runs ipvs mode
# where the host kernel has no IP_VS (harness/lab/guest/). chromium: the browser test of the HTML report
# (test/integration/report/browser.test.ts) drives it headless through playwright-core. jq: the OCI
# runtime wrapper of the harness's dockerd (harness/docker/runtime-wrapper.ts). debootstrap,
# build-essential, pkg-config, libseccomp-dev: the kind node image (a Debian rootfs, runc with seccomp,
# a static pause). netcat-openbsd, bind9-dnsutils: the nc and nslookup that Kubernetes' e2e tests run in agnhost pods (kth lab e2e),
# which the lab runs as host programs.
packages=(iptables nftables iproute2 conntrack kmod procps openssl ca-certificates docker.io clang-19 llvm-19 bpftool ipset
  qemu-system-x86 linux-image-amd64 busybox-static ipvsadm xz-utils cpio curl chromium
  jq debootstrap build-essential pkg-config libseccomp-dev netcat-openbsd bind9-dnsutils)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    fail "debian packages (${missing[*]})" "sudo apt-get install -y ${missing[*]}"
  fi
  echo "[setup 1/3] installing Debian packages: ${missing[*]}"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } ||
    fail "debian packages" "apt-get update && apt-get install -y ${missing[*]}"
else
  echo "[setup 1/3] Debian packages present"
fi

# 2. npm dependencies, pinned by package-lock.json.
command -v node >/dev/null || fail "node" "install Node.js >= 20.18 (Debian: apt-get install nodejs npm)"
# Run from an installed package (node_modules/kube-traffic-harness/harness/setup/setup.sh in a project
# that depends on it) there is nothing to install here: the depending project's own npm installed
# our dependencies, hoisted into its node_modules, and node finds them by walking up. The signal is
# the lockfile itself, not a node_modules path segment: npm pack never ships package-lock.json, so no
# installed copy has one (registry, tarball or git dependency, npm or pnpm layout), while this
# repository always does, wherever it is checked out (a path under a node_modules directory, or an
# `npm link`ed checkout, is still a repository whose npm ci is right). It is also exactly what
# npm ci needs: without a lockfile it could only fail.
if [[ ! -f package-lock.json ]]; then
  echo "[setup 2/3] npm dependencies: skipped, run from an installed package ($PWD has no package-lock.json); they are the depending project's (its npm ci)"
else
  lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [[ -f node_modules/.kth-lock.sha256 && $(cat node_modules/.kth-lock.sha256) == "$lock_sum" ]]; then
    echo "[setup 2/3] npm dependencies present"
  else
    echo "[setup 2/3] npm ci"
    npm ci --no-audit --no-fund --loglevel=error || fail "npm ci" "npm ci"
    echo "$lock_sum" > node_modules/.kth-lock.sha256
  fi
fi

# 3. Upstream binaries from Go modules.
if [[ -z "${KTH_BIN_DIR:-}" ]]; then
  command -v go >/dev/null || fail "go toolchain" "install Go >= 1.26 and put it on PATH (or set KTH_BIN_DIR to prebuilt binaries)"
fi
echo "[setup 3/3] upstream binaries"
node harness/bin/kth.mjs setup-binaries || fail "upstream binaries" "node harness/bin/kth.mjs setup-binaries"

if ((want_kind)); then
  echo "[setup kind] node image for --provider kind"
  node harness/bin/kth.mjs kind build-node-image >/dev/null || fail "kind node image" "node harness/bin/kth.mjs kind build-node-image"
fi

if ((want_e2e)); then
  echo "[setup e2e] Kubernetes' e2e suite, agnhost, kubectl and CoreDNS for kth lab e2e"
  node harness/bin/kth.mjs setup-binaries --only e2e,coredns || fail "e2e binaries" "node harness/bin/kth.mjs setup-binaries --only e2e,coredns"
fi

echo "[setup] done in $((SECONDS - started))s"
