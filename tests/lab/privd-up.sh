#!/bin/bash
# privd-up.sh - a private libvirtd (for fault injection, networks, LXC) in its own mount and
# network namespace, all state kept under DIR. Inside, these are bind mounts of DIR subdirs:
#   /run <- DIR/run    /var/lib/libvirt <- DIR/lib    /var/cache/libvirt <- DIR/cache
#   /var/log/libvirt <- DIR/log    /etc/libvirt <- DIR/etc (copy of the host's, made once,
#   without defined domains, pools or autostart links)
# The netns has only lo (up); /sys/fs/cgroup/unified is unmounted there (LXC needs that).
# A `sleep infinity` holder (pid in DIR/holder.pid) keeps the namespaces alive; libvirtd-up.sh
# then runs inside. Several DIRs can run at the same time. Idempotent.
#   inside:  privd-exec.sh DIR virsh -c qemu:///system ...
#   outside: virsh -c 'qemu+unix:///system?socket=DIR/run/libvirt/libvirt-sock' ...
set -euo pipefail
usage() { echo "usage: $0 DIR [TIMEOUT_SECONDS]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
LAB=$(cd "$(dirname "$0")" && pwd -P)
mkdir -p "$1"
DIR=$(realpath "$1")
TIMEOUT=${2:-60}
[[ $TIMEOUT =~ ^[0-9]+$ ]] || usage
SOCK=$DIR/run/libvirt/libvirt-sock
[ ${#SOCK} -lt 108 ] || { echo "privd-up: $SOCK is too long for a unix socket path (max 107)" >&2; exit 1; }

holder_ok() {   # holder.pid names a `sleep` in another mount namespace than ours
    local p
    p=$(cat "$DIR/holder.pid" 2>/dev/null) || return 1
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = sleep ] &&
        [ "$(readlink "/proc/$p/ns/mnt" 2>/dev/null)" != "$(readlink /proc/self/ns/mnt)" ]
}

exec 9>"$DIR/.privd.lock"
flock -w "$TIMEOUT" 9 || { echo "privd-up: $DIR/.privd.lock busy" >&2; exit 1; }
if ! holder_ok; then
    # a fresh namespace has no daemons yet: forget the pid files of earlier runs
    rm -f "$DIR"/holder.pid "$DIR"/holder.pid.new "$DIR"/run/*.pid "$DIR"/run/lab-libvirtd.started
    mkdir -p "$DIR"/{run/lock,lib,cache,log,etc}
    chmod 755 "$DIR" "$DIR"/{run,lib,cache,log,etc}
    chmod 1777 "$DIR/run/lock"
    if [ ! -e "$DIR/etc/libvirtd.conf" ]; then
        cp -a /etc/libvirt/. "$DIR/etc/"
        rm -f "$DIR"/etc/qemu/*.xml "$DIR"/etc/lxc/*.xml "$DIR"/etc/storage/*.xml \
              "$DIR"/etc/{qemu,lxc,storage,qemu/networks}/autostart/*.xml
    fi
    # warm qemu capability cache: saves the ~2 s probe (libvirt revalidates it anyway)
    [ -n "$(ls -A "$DIR/cache")" ] || cp -a /var/cache/libvirt/. "$DIR/cache/" 2>/dev/null || true
    cd /
    setsid unshare --mount --propagation private --net --fork -- bash -c '
        set -e
        D=$1
        mount --bind "$D/run" /run
        mount --bind "$D/lib" /var/lib/libvirt
        mount --bind "$D/cache" /var/cache/libvirt
        mount --bind "$D/log" /var/log/libvirt
        mount --bind "$D/etc" /etc/libvirt
        if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified; fi
        ip link set lo up
        echo $$ > "$D/holder.pid.new"
        exec sleep infinity' privd-holder "$DIR" </dev/null >"$DIR/holder.log" 2>&1 9>&- &
    deadline=$((SECONDS + 10))
    until [ -s "$DIR/holder.pid.new" ] && mv -f "$DIR/holder.pid.new" "$DIR/holder.pid" && holder_ok; do
        if [ $SECONDS -ge $deadline ] || ! kill -0 $! 2>/dev/null; then
            echo "privd-up: namespace setup failed:" >&2; cat "$DIR/holder.log" >&2; exit 1
        fi
        sleep 0.02
    done
fi
nsenter -t "$(cat "$DIR/holder.pid")" -m -n -- "$LAB/libvirtd-up.sh" "$TIMEOUT" 9>&-
echo "privd-up: $DIR ready; outside: virsh -c 'qemu+unix:///system?socket=$SOCK'"
