#!/bin/bash
# host-start.sh - boot simulated host nI of a lab made by hosts-up.sh: a new mount+UTS+PID
# namespace inside network namespace $PREFIX-nI whose PID 1 is host-init.sh, then virtlogd and
# libvirtd (TCP 16509 without auth, reachable only inside the lab network), and a bounded wait
# until libvirtd answers. First boot writes the host's config under WORKDIR/nI:
#   etc-libvirt/  the machine's /etc/libvirt/*.conf (+ nwfilter), no domains, networks or secrets;
#                 libvirtd.conf gets listen_tcp, auth_tcp none, a host_uuid of its own, a log file
#   var-lib-libvirt/ var-cache-libvirt/ (seeded with the machine's qemu capability cache: saves
#                 the probe) var-log-libvirt/ (libvirtd.log, qemu/NAME.log, qemu/NAME.console)
#   pacemaker/ corosync/ etc-corosync/  the host's /var/lib/pacemaker, /var/lib/corosync and
#                 /etc/corosync (pcmk-up.sh writes corosync.conf there; pcs reads it)
#   etc-pacemaker/  the host's /etc/pacemaker: authkey = WORKDIR/authkey (made on the lab's first
#                 boot, the same on every host and in the remote guests: remote-guest-make.sh)
#   etc-libvirt/hooks/qemu  refuses incoming migrations while /etc/libvirt/refuse-migrations
#                 exists on the host (a target that says no, for failed-migration tests)
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 WORKDIR I" >&2; exit 2; }
. "$(dirname "$0")/lib.sh"
drop_inherited_fds
need_root
load_env "$1"; i=$2
[[ $i =~ ^[0-9]+$ ]] && [ "$i" -ge 1 ] && [ "$i" -le "$N" ] || die "I must be 1..$N"
ns=$PREFIX-n$i; d=$W/n$i
host_pid "$i" >/dev/null && die "n$i is already running"

if [ ! -e "$d/etc-libvirt/libvirtd.conf" ]; then
    mkdir -p "$d"/{etc-libvirt,var-lib-libvirt,var-cache-libvirt,var-log-libvirt/qemu,log,corosync,etc-corosync} \
        "$d"/pacemaker/{cib,pengine,blackbox,cores}
    chown -R hacluster:haclient "$d/pacemaker" 2>/dev/null || true
    chmod 0750 "$d"/pacemaker/*
    cp -p /etc/libvirt/*.conf "$d/etc-libvirt/"
    [ ! -d /etc/libvirt/nwfilter ] || cp -a /etc/libvirt/nwfilter "$d/etc-libvirt/"
    mkdir -p "$d"/etc-libvirt/{qemu/networks/autostart,secrets,storage,hooks}
    chmod 0700 "$d/etc-libvirt/secrets"
    # libvirtd looks for hook scripts when it starts: this one is always there and says no to
    # "migrate begin" (the destination's first step) only while the flag file exists
    cat > "$d/etc-libvirt/hooks/qemu" <<'HOOK'
#!/bin/sh
if [ "$2" = migrate ] && [ "$3" = begin ] && [ -e /etc/libvirt/refuse-migrations ]; then
    echo "this host refuses incoming migrations (/etc/libvirt/refuse-migrations)" >&2
    exit 1
fi
exit 0
HOOK
    chmod 0755 "$d/etc-libvirt/hooks/qemu"
    [ ! -d /var/cache/libvirt/qemu/capabilities ] ||
        { mkdir -p "$d/var-cache-libvirt/qemu" && cp -a /var/cache/libvirt/qemu/capabilities "$d/var-cache-libvirt/qemu/"; }
    cat >> "$d/etc-libvirt/libvirtd.conf" <<CONF

# --- tests/multihost lab, host n$i ---
listen_tls = 0
listen_tcp = 1
auth_tcp = "none"
# every host its own UUID, else "Attempt to migrate guest to the same host"
host_uuid = "$(cat /proc/sys/kernel/random/uuid)"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
CONF
    printf '\n# --- tests/multihost lab ---\nlog_outputs = "3:file:/var/log/libvirt/virtlogd.log"\n' \
        >> "$d/etc-libvirt/virtlogd.conf"
fi

# Pacemaker Remote's shared key: one per lab, on every host (and in its remote guests)
if [ ! -s "$W/authkey" ]; then
    (umask 077; head -c 4096 /dev/urandom > "$W/authkey.tmp.$$") && mv "$W/authkey.tmp.$$" "$W/authkey"
fi
mkdir -p "$d/etc-pacemaker"
install -m 0640 -g haclient "$W/authkey" "$d/etc-pacemaker/authkey" 2>/dev/null ||
    install -m 0640 "$W/authkey" "$d/etc-pacemaker/authkey"

rm -f "$d/ready" "$d/init.pid"
# ip netns exec also mounts a fresh /sys: no cgroup hierarchy inside, so libvirt puts the guests
# in no cgroup (hosts would otherwise collide in the machine's /sys/fs/cgroup/machine)
cd /
setsid ip netns exec "$ns" unshare --mount --uts --pid --fork --mount-proc --propagation private \
    -- /bin/bash "$HERE/host-init.sh" "$W" "$i" > "$d/log/init.log" 2>&1 < /dev/null &
u=$!
wait_for 10 test -e "$d/ready" || { cat "$d/log/init.log" >&2; die "n$i: init not ready after 10 s"; }
init=$(cat /proc/$u/task/*/children 2>/dev/null | awk '{print $1; exit}')
[ -n "$init" ] || die "n$i: no init process under unshare $u"
echo "$init" > "$d/init.pid"
host_pid "$i" >/dev/null || die "n$i: init $init is not in $ns"

X "$i" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root \
    sh -c 'virtlogd -d && libvirtd -d --listen' ||
    die "n$i: libvirtd did not start; see $d/var-log-libvirt/libvirtd.log"
answers() { X "$i" timeout 10 virsh -q -c qemu:///system version >/dev/null 2>&1; }
wait_for 30 answers || die "n$i: libvirtd does not answer after 30 s; see $d/var-log-libvirt/libvirtd.log"
echo "n$i: up (init $init), libvirtd answers after $(el) s"
