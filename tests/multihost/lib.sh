# lib.sh - shared helpers of the multihost lab scripts (sourced, not run).
# Defaults: PREFIX=vdm (network namespaces vdm-br, vdm-n1..N), NET=10.213.7 (eth0 of nI = NET.I,
# name nI), MIGNET=10.213.107 (eth1 of nI = MIGNET.I, name nI-mig: a second "migration network").
# A lab's settings are written to WORKDIR/lab.env by hosts-up.sh and read back from there.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T0=$(date +%s%N)
# seconds since the script started, e.g. 1.23
el() { local d=$(( ($(date +%s%N) - T0) / 1000000 )); printf '%d.%02d' $((d / 1000)) $((d % 1000 / 10)); }
die() { echo "$(basename "$0"): $*" >&2; exit 1; }
# Closes what this script inherited beyond stdin/out/err: `flock LOCK cmd`
# passes its locked descriptor on, and a daemon started here would hold the
# lock for as long as the lab runs (a lab's libvirtd kept
# /tmp/vd-multihost.lock for 40 min, and its own next `flock` waited on it).
# Bash's own script descriptor (255 and up) stays.
drop_inherited_fds() {
    local fd
    for fd in $(ls /proc/$$/fd); do
        if [ "$fd" -gt 2 ] && [ "$fd" -lt 255 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
}
need_root() { [ "$(id -u)" = 0 ] || die "must run as root"; }
# load_env WORKDIR: sets W (absolute), N, PREFIX, NET, MIGNET from WORKDIR/lab.env
load_env() {
    [ -f "$1/lab.env" ] || die "no $1/lab.env (hosts-up.sh first)"
    W=$(cd "$1" && pwd)
    # shellcheck disable=SC1091
    . "$W/lab.env"
}
# host_pid I: the host's init (PID 1 of its PID namespace, seen from outside), checked to sit in
# the lab's network namespace (a stale pid file never makes us signal or enter a stranger)
host_pid() {
    local p
    p=$(cat "$W/n$1/init.pid" 2>/dev/null) || return 1
    [ -n "$p" ] && [ "$(ip netns identify "$p" 2>/dev/null)" = "$PREFIX-n$1" ] || return 1
    echo "$p"
}
# X I CMD...: run CMD on host nI
X() { local i=$1; shift; "$HERE/hosts-exec.sh" "$W" "$i" "$@"; }
# lab namespaces of PREFIX that exist now
lab_netns() { ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${PREFIX}-(br|n[0-9]+)\$" || true; }
# bounded wait: wait_for SECONDS CMD... (polls every 0.1 s)
wait_for() {
    local end=$(( $(date +%s%N) + $1 * 1000000000 )); shift
    until "$@"; do [ "$(date +%s%N)" -lt $end ] || return 1; sleep 0.1; done
}
# remote_guest_args WORKDIR NAME ADDR [PORT]: the arguments of remote-{guest,container}-make.sh,
# checked; sets W (absolute), NAME, ADDR, PORT (default 3121) and MAC, fixed per address: a guest
# restarted (or recovered) with a new random MAC would leave the hosts' ARP entries stale, and the
# cluster's first connection attempts would go nowhere (TCP SYN backoff: the guest node came back
# 30 s late, or its connection start timed out)
remote_guest_args() {
    [ $# -ge 3 ] && [ $# -le 4 ] || { echo "usage: $0 WORKDIR NAME ADDR [PORT]" >&2; exit 2; }
    W=$1; NAME=$2; ADDR=$3; PORT=${4:-3121}
    [[ $NAME =~ ^[a-z][a-z0-9-]{0,30}$ ]] || { echo "$0: bad NAME $NAME" >&2; exit 2; }
    [[ $ADDR =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || { echo "$0: bad ADDR $ADDR" >&2; exit 2; }
    [[ $PORT =~ ^[0-9]+$ ]] || { echo "$0: bad PORT $PORT" >&2; exit 2; }
    local o2 o3 o4
    IFS=. read -r _ o2 o3 o4 <<< "$ADDR"
    MAC=$(printf '52:54:%02x:%02x:%02x:%02x' 0 "$o2" "$o3" "$o4")
    [ -d "$W" ] || die "no directory $W"
    W=$(cd "$W" && pwd)
}
