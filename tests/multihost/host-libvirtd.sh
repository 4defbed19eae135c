#!/bin/bash
# host-libvirtd.sh - stop, start or restart only the libvirtd of simulated host nI (its guests
# keep running; a started libvirtd reconnects to them), or tell whether it runs; freeze/thaw
# SIGSTOP/SIGCONT it: clients then connect (the kernel accepts) but never get an answer.
# stop: SIGTERM by its pid file (in-host pid, signalled inside the host), at most 10 s;
# start: waits at most 30 s until it answers.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 WORKDIR I stop|start|restart|freeze|thaw|status" >&2; exit 2; }
. "$(dirname "$0")/lib.sh"
drop_inherited_fds
need_root
load_env "$1"; i=$2; what=$3
stop() {
    X "$i" sh -c 'p=$(cat /run/libvirtd.pid 2>/dev/null) && kill -CONT "$p" 2>/dev/null; p=$(cat /run/libvirtd.pid 2>/dev/null) && kill -0 "$p" 2>/dev/null || exit 0
        kill -TERM "$p"
        for t in $(seq 1 100); do kill -0 "$p" 2>/dev/null || exit 0; sleep 0.1; done
        echo "libvirtd $p still there after 10 s: SIGKILL" >&2; kill -KILL "$p"; sleep 0.2' || return 1
    # libvirtd may leave its socket file behind: clients then get "Connection refused"
    echo "n$i: libvirtd stopped after $(el) s"
}
running() { X "$i" sh -c 'p=$(cat /run/libvirtd.pid 2>/dev/null) && kill -0 "$p" 2>/dev/null'; }
answers() { X "$i" timeout 10 virsh -q -c qemu:///system version >/dev/null 2>&1; }
start() {
    running || X "$i" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root libvirtd -d --listen
    wait_for 30 answers || die "n$i: libvirtd does not answer after 30 s"
    echo "n$i: libvirtd answers after $(el) s"
}
signal() { X "$i" sh -c 'p=$(cat /run/libvirtd.pid 2>/dev/null) && kill -'"$1"' "$p"' || die "n$i: no libvirtd to signal"; }
case $what in
    freeze) signal STOP ;;
    thaw) signal CONT ;;
    stop) stop ;;
    start) start ;;
    restart) stop; start ;;
    status) if running; then echo running; else echo stopped; exit 3; fi ;;
    *) echo "usage: $0 WORKDIR I stop|start|restart|freeze|thaw|status" >&2; exit 2 ;;
esac
