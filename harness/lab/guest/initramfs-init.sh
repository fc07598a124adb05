#!/bin/busybox sh
# The guest's first program (in the initramfs the harness builds): load the virtio, 9p and overlay
# modules Debian builds as modules, mount the host's root read-only with a tmpfs overlay on top,
# and hand over to the harness's guest init on that root. Kernel arguments the kernel does not
# know (kth_init=…) arrive here as environment variables.
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /lower /rw /newroot
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for module in $(cat /modules/order); do
  insmod "/modules/$module.ko" || echo "kth-guest: insmod $module failed"
done
# A KVM probe boot (see lab-guest.ts) stops here: the kernel ran the initramfs, so KVM boots it.
if [ -n "$kth_probe" ]; then echo "kth-guest: probe ok"; poweroff -f; fi
# msize: 9p's default 8 KiB message turns every file read into many round trips under emulation.
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=1048576 hostroot /lower || { echo "kth-guest: cannot mount the host root"; poweroff -f; }
mount -t tmpfs -o mode=0755 rw /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot || { echo "kth-guest: overlay failed"; poweroff -f; }
mkdir -p /newroot/proc /newroot/sys /newroot/dev
umount /proc /sys /dev
echo "kth-guest: root ready, starting $kth_init"
exec switch_root /newroot "$kth_init"
