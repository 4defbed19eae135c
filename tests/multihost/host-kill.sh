#!/bin/bash
# host-kill.sh - power off simulated host nI at once: SIGKILL to its init, the PID 1 of the host's
# PID namespace, so the kernel ends every process of the host together (corosync, pacemaker,
# libvirtd, its guests' qemu), as a power loss or a fence would. The network namespace and the
# host's "disk" (WORKDIR/nI/*) stay; host-start.sh powers it on again (then pcmk-up.sh WORKDIR I
# to rejoin the cluster).
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 WORKDIR I" >&2; exit 2; }
. "$(dirname "$0")/lib.sh"
need_root
load_env "$1"; i=$2
p=$(host_pid "$i") || die "n$i is not running"
kill -KILL "$p"
gone() { ! kill -0 "$p" 2>/dev/null; }
wait_for 10 gone || die "n$i: init $p survives SIGKILL"
# every process of the host's PID namespace dies with its init; wait until none is left in its
# network namespace (the kernel reaps them asynchronously)
empty() { [ -z "$(ip netns pids "$PREFIX-n$i" 2>/dev/null)" ]; }
wait_for 10 empty || die "n$i: processes left after the power-off: $(ip netns pids "$PREFIX-n$i" | tr '\n' ' ')"
rm -f "$W/n$i/init.pid" "$W/n$i/ready"
echo "n$i: powered off after $(el) s"
