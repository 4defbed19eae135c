#!/bin/bash
# guest-bridge.sh - the network of host nI's guest nodes: bridge br-guest inside the host's network
# namespace with address $GUESTNET.I/24 (env GUESTNET, default 192.168.123), joined by a veth
# (nI-g in $PREFIX-br, enslaved to its bridge brg) to the br-guest of every other host that ran
# this script: one guest network for the whole lab, so a guest keeps its address when it moves to
# another host, and no route out of the lab. Guests attach with
# <interface type='bridge'><source bridge='br-guest'/> (libvirtd makes the tap or the veth);
# guest addresses: $GUESTNET.10 and up. Idempotent.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 WORKDIR I   (env GUESTNET=192.168.123)" >&2; exit 2; }
. "$(dirname "$0")/lib.sh"
need_root
load_env "$1"; i=$2; ns=$PREFIX-n$i; br=$PREFIX-br
GUESTNET=${GUESTNET:-192.168.123}
[[ $i =~ ^[1-9]$ ]] || die "I must be 1..9"
host_pid "$i" >/dev/null || die "host n$i is not running"
ip -n "$br" link show brg >/dev/null 2>&1 || ip -n "$br" link add brg type bridge stp_state 0 forward_delay 0
ip -n "$br" link set brg up
ip -n "$ns" link show br-guest >/dev/null 2>&1 || ip -n "$ns" link add br-guest type bridge stp_state 0 forward_delay 0
if ! ip -n "$ns" link show gup >/dev/null 2>&1; then
    ip -n "$br" link add "n$i-g" type veth peer name gup netns "$ns"
    ip -n "$br" link set "n$i-g" master brg up
    ip -n "$ns" link set gup master br-guest up
fi
ip -n "$ns" addr replace "$GUESTNET.$i/24" dev br-guest
ip -n "$ns" link set br-guest up
echo "n$i: br-guest $GUESTNET.$i/24 (joined to brg in $br)"
