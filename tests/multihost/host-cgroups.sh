#!/bin/bash
# host-cgroups.sh - cgroups for libvirt's LXC driver on simulated host nI.
#   host-cgroups.sh WORKDIR I mount   the machine's cgroup v1 controllers under the host's
#                                     /sys/fs/cgroup (empty there: `ip netns exec` mounts a fresh
#                                     sysfs), without the empty cgroup2 "unified" mount that
#                                     libvirt_lxc cannot use; without them lxc:/// says
#                                     "no cgroup backend available". Idempotent.
#   host-cgroups.sh WORKDIR clean NAME...   removes the cgroups libvirt left for containers NAME
#                                     (machine/lxc-PID-NAME.libvirt-lxc in every controller) after
#                                     the host was killed under a running container (seen here);
#                                     a container stopped through libvirt leaves none.
# The hierarchies are the machine's (cgroup v1 is global): containers of the lab appear under
# /sys/fs/cgroup/CONTROLLER/machine/lxc-PID-NAME.libvirt-lxc while they run; qemu guests stay in no cgroup.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 WORKDIR I mount | $0 WORKDIR clean NAME..." >&2; exit 2; }
. "$(dirname "$0")/lib.sh"
need_root
if [ "$2" = clean ]; then
    shift 2
    for n in "$@"; do
        [[ $n =~ ^[A-Za-z0-9_.-]+$ ]] || die "bad NAME $n"
        # libvirt 9 names them lxc-PID-NAME.libvirt-lxc (older ones NAME.libvirt-lxc)
        for d in /sys/fs/cgroup/*/machine/lxc-*-"$n".libvirt-lxc /sys/fs/cgroup/*/machine/"$n".libvirt-lxc \
                 /sys/fs/cgroup/machine/lxc-*-"$n".libvirt-lxc /sys/fs/cgroup/machine/"$n".libvirt-lxc; do
            [ -d "$d" ] || continue
            # children first; a cgroup with processes stays (rmdir fails: EBUSY)
            find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || echo "host-cgroups: $d still busy" >&2
        done
    done
    exit 0
fi
[ $# -eq 3 ] && [ "$3" = mount ] || { echo "usage: $0 WORKDIR I mount" >&2; exit 2; }
load_env "$1"; i=$2
CTRLS=$(awk '$3 == "cgroup" {print $2}' /proc/mounts | xargs -rn1 basename | tr '\n' ' ')
if [ -z "$CTRLS" ]; then
    # a machine with only the unified hierarchy: mount that (untested here: this machine has v1)
    grep -q ' cgroup2 ' /proc/mounts || die "the machine has no cgroup hierarchy (libvirt's LXC driver needs one)"
    X "$i" sh -c 'mountpoint -q /sys/fs/cgroup || mount -t cgroup2 cgroup2 /sys/fs/cgroup'
    echo "n$i: cgroup2 mounted"; exit 0
fi
X "$i" env CTRLS="$CTRLS" sh -c '
    mountpoint -q /sys/fs/cgroup || mount -t tmpfs -o mode=755 cgroup_root /sys/fs/cgroup
    for c in $CTRLS; do
        mountpoint -q "/sys/fs/cgroup/$c" && continue
        mkdir -p "/sys/fs/cgroup/$c"
        case $c in
            systemd) mount -t cgroup -o none,name=systemd cgroup "/sys/fs/cgroup/$c" ;;
            *) mount -t cgroup -o "$(echo "$c" | tr -d " ")" cgroup "/sys/fs/cgroup/$c" ;;
        esac
    done'
echo "n$i: cgroup v1 controllers mounted: $CTRLS"
