#!/bin/bash
# hosts-up.sh - bring up N simulated libvirt hosts n1..nN (N = 1..9) on this machine, for live
# migration tests. Host nI: network namespace $PREFIX-nI with
#   eth0 = $NET.I/24     (name nI,     bridge br0 in namespace $PREFIX-br)
#   eth1 = $MIGNET.I/24  (name nI-mig, bridge br1: a separate "migration network" whose byte
#                         counters show what went over it)
# its own mount, UTS and PID namespaces (host-init.sh is PID 1), hostname nI, an /etc/hosts
# with every nI and nI-mig, and its own virtlogd + libvirtd, reachable as qemu+tcp://nJ/system
# (TCP, no auth) from every host and from nowhere else. The root network namespace, the
# machine's libvirtd, its domains and /etc/libvirt are not touched.
# A lab left over under WORKDIR or with the same PREFIX (a run that died) is torn down first;
# host state always starts fresh (WORKDIR/guest, the built guest files, is kept).
#   env: PREFIX (default vdm), NET (default 10.213.7), MIGNET (default 10.213.107)
# Then: hosts-exec.sh WORKDIR I CMD... ; teardown: hosts-down.sh WORKDIR [--purge]
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 N WORKDIR   (env PREFIX=vdm NET=10.213.7 MIGNET=10.213.107)" >&2; exit 2; }
. "$(dirname "$0")/lib.sh"
drop_inherited_fds
need_root
N=$1; W=$2
[[ $N =~ ^[1-9]$ ]] || die "N must be 1..9"
PREFIX=${PREFIX:-vdm}; NET=${NET:-10.213.7}; MIGNET=${MIGNET:-10.213.107}
[[ $PREFIX =~ ^[a-z][a-z0-9]{0,7}$ ]] || die "PREFIX must be 1-8 lower-case letters/digits"
for net in "$NET" "$MIGNET"; do [[ $net =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || die "bad network $net"; done
[ "$NET" != "$MIGNET" ] || die "NET and MIGNET must differ"
for b in ip nsenter unshare setsid virsh libvirtd virtlogd qemu-system-x86_64; do
    command -v "$b" >/dev/null || die "$b is missing (tests/lab/install-deps.sh)"
done

mkdir -p "$W"; W=$(cd "$W" && pwd)
# qemu runs as libvirt-qemu and reads the guest's kernel under WORKDIR
p=$W; while [ "$p" != / ]; do
    [ $(( 0$(stat -c %a "$p") & 1 )) = 1 ] || die "$p is not world-searchable (o+x): qemu could not read $W/guest"
    p=$(dirname "$p"); done
if [ -e "$W/lab.env" ] || [ -n "$(lab_netns)" ]; then
    echo "an earlier lab ($PREFIX, $W) is still there: tearing it down"
    PREFIX=$PREFIX "$HERE/hosts-down.sh" "$W"
fi
rm -rf "${W:?}"/n[0-9]*
chmod 0755 "$W"

# a half-built lab is torn down again
trap 'rc=$?; [ $rc = 0 ] || { echo "hosts-up failed (rc $rc): tearing down" >&2; "$HERE/hosts-down.sh" "$W" >&2 || true; }' EXIT
printf 'N=%s\nPREFIX=%s\nNET=%s\nMIGNET=%s\n' "$N" "$PREFIX" "$NET" "$MIGNET" > "$W/lab.env"
# libvirt's migration URI carries the destination's hostname: names must resolve on every host
{ echo "127.0.0.1 localhost"; echo "::1 localhost ip6-localhost ip6-loopback"
  for i in $(seq 1 "$N"); do echo "$NET.$i n$i"; echo "$MIGNET.$i n$i-mig"; done; } > "$W/hosts"
chmod 0644 "$W/hosts"

br=$PREFIX-br
ip netns add "$br"
ip -n "$br" link set lo up
for b in br0 br1; do ip -n "$br" link add "$b" type bridge; ip -n "$br" link set "$b" up; done
for i in $(seq 1 "$N"); do
    ns=$PREFIX-n$i
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$br" link add "n$i-0" type veth peer name eth0 netns "$ns"
    ip -n "$br" link add "n$i-1" type veth peer name eth1 netns "$ns"
    ip -n "$br" link set "n$i-0" master br0 up
    ip -n "$br" link set "n$i-1" master br1 up
    ip -n "$ns" addr add "$NET.$i/24" dev eth0
    ip -n "$ns" addr add "$MIGNET.$i/24" dev eth1
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set eth1 up
done
for i in $(seq 1 "$N"); do "$HERE/host-start.sh" "$W" "$i"; done
for i in $(seq 1 "$N"); do for j in $(seq 1 "$N"); do for name in "n$j" "n$j-mig"; do
    h=$(X "$i" timeout 20 virsh -q -c "qemu+tcp://$name/system" hostname) || die "n$i cannot reach qemu+tcp://$name/system"
    [ "$h" = "n$j" ] || die "n$i: qemu+tcp://$name/system says hostname '$h'"
done; done; done
echo "lab $PREFIX: $N hosts up under $W, qemu+tcp://nJ/system and nJ-mig reachable from every host, after $(el) s"
