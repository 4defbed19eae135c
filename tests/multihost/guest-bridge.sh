#!/bin/bash
# guest-bridge.sh - the network of host nI's guest nodes: bridge br-guest inside the host's network
# namespace with address $GUESTNET.1/24 (env GUESTNET, default 192.168.123). Guests attach with
# <interface type='bridge'><source bridge='br-guest'/> (libvirtd makes the tap or the veth); the
# network exists only inside that host. Idempotent.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 WORKDIR I   (env GUESTNET=192.168.123)" >&2; exit 2; }
. "$(dirname "$0")/lib.sh"
need_root
load_env "$1"; i=$2; ns=$PREFIX-n$i
GUESTNET=${GUESTNET:-192.168.123}
host_pid "$i" >/dev/null || die "host n$i is not running"
ip -n "$ns" link show br-guest >/dev/null 2>&1 || ip -n "$ns" link add br-guest type bridge stp_state 0 forward_delay 0
ip -n "$ns" addr replace "$GUESTNET.1/24" dev br-guest
ip -n "$ns" link set br-guest up
echo "n$i: br-guest $GUESTNET.1/24"
