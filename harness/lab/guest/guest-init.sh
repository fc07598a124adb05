#!/bin/bash
# PID 1 of a lab guest, on the host's root (read-only, tmpfs overlay). It makes the guest a lab
# node host: the kernel mounts a Linux distribution's init would, the modules kube-proxy's modes
# use, the lab's state directory shared read-write with the host at the same path, the control
# link, and then the guest daemon the host's lab supervisor drives everything else through.
# PID 1 must never exit (that panics the kernel): when the daemon ends, the guest powers off.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
say() { echo "kth-guest: $*"; }

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
# /run of the guest's own: ip netns, lock files and pid files must not mix with the host's.
mount -t tmpfs -o mode=0755 run /run
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null || true
mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
mount --make-rshared /
mkdir -p "$kth_state"
# cache=none: the host reads what the guest writes (status, logs, pod state) the moment it is written.
mount -t 9p -o trans=virtio,version=9p2000.L,cache=none,msize=1048576 kthstate "$kth_state" || say "cannot mount the lab state share"

# Devices have no udev here: load the drivers of what qemu attached, then kube-proxy's modules
# (and netem, for the network fault's delay).
modprobe -a $(cat /sys/bus/*/devices/*/modalias 2>/dev/null | sort -u) 2>/dev/null
modprobe -a ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_sh ip_vs_mh ip_vs_sed ip_vs_nq ip_vs_dh ip_vs_lblc ip_vs_lblcr \
  nf_conntrack nf_nat br_netfilter veth bridge nf_tables nft_chain_nat nft_ct nft_compat xt_comment xt_mark xt_conntrack \
  xt_MASQUERADE xt_addrtype xt_nat xt_set ip_set ip_set_hash_ip ip_set_hash_ipport ip_set_hash_ipportip ip_set_hash_ipportnet \
  ip_set_hash_net ip_set_bitmap_port sch_netem 2>&1 | head -5
sysctl -q -w kernel.panic=-1 kernel.sysrq=1 net.ipv4.ip_forward=1 >/dev/null

ip link set lo up
ctl=$(ip -o link | awk -v mac="$kth_ctl_mac" '$0 ~ mac { sub(":", "", $2); print $2 }')
ip addr add "$kth_ctl_ip/30" dev "$ctl" && ip link set "$ctl" up || say "cannot address the control link ($kth_ctl_mac)"
ip route add "$kth_ctl_route" via "$kth_ctl_gw" dev "$ctl"

say "kernel $(uname -r) up in $(cut -d' ' -f1 /proc/uptime)s; starting the guest daemon"
cd "$kth_repo"
"$kth_node" --import tsx "$kth_repo/harness/lab/guest/daemon.ts" --listen "$kth_ctl_ip" --port "$kth_port" &
daemon=$!
wait "$daemon"
say "guest daemon exited ($?); powering off"
echo o > /proc/sysrq-trigger
sleep infinity
