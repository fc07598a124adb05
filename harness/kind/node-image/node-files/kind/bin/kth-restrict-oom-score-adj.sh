#!/bin/sh
# Added by kube-traffic-harness. On a host whose capability bounding set lacks CAP_SYS_RESOURCE
# (bit 24), no process in this node container may lower an oom_score_adj, so containerd must not
# ask runc to (every pod sandbox would fail: "failed to update /proc/self/oom_score_adj:
# Permission denied"). kind's entrypoint does the same for rootless nodes. Elsewhere: no change.
set -eu
mask=$(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/self/status)
if [ $(( (0x$mask >> 24) & 1 )) -eq 0 ]; then
  sed -i 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' /etc/containerd/config.toml
  echo "CapBnd $mask lacks CAP_SYS_RESOURCE: containerd restrict_oom_score_adj = true"
fi
