#!/bin/bash
# hosts-down.sh - tear down the multihost lab under WORKDIR; idempotent, and safe after a run that
# died halfway (no lab.env, stale pid files, namespaces left over): it only ever
#   - runs virsh destroy inside the lab's hosts (bounded),
#   - SIGKILLs a host's init whose pid is verified to sit in the lab's network namespace (the kernel
#     then ends every process of that host: libvirtd, virtlogd, qemu),
#   - SIGKILLs processes that are still in one of the lab's network namespaces $PREFIX-br/-nI,
#   - deletes those network namespaces.
# Nothing outside the lab is touched. Logs stay under WORKDIR/nI/ unless --purge, which also
# deletes the hosts' state and the guest files (WORKDIR/n*, hosts, guest/).
# Without WORKDIR/lab.env, PREFIX (env, default vdm) names the namespaces to clean up.
set -euo pipefail
[ $# -ge 1 ] && [ $# -le 2 ] && { [ $# = 1 ] || [ "$2" = --purge ]; } ||
    { echo "usage: $0 WORKDIR [--purge]   (env PREFIX=vdm if WORKDIR/lab.env is gone)" >&2; exit 2; }
. "$(dirname "$0")/lib.sh"
need_root
W=$1; purge=${2:-}
if [ -f "$W/lab.env" ]; then load_env "$W"; else PREFIX=${PREFIX:-vdm}; N=0; fi
[ -d "$W" ] && W=$(cd "$W" && pwd)
hosts=$( { seq 1 "$N"; lab_netns | sed -n "s/^$PREFIX-n//p"; } | sort -nu)

# 1. gracefully (a frozen libvirtd thawed first): destroy the guests (libvirt cleans up after them), bounded
for i in $hosts; do
    p=$(host_pid "$i") || continue
    timeout 30 nsenter -t "$p" -n -m -u -p -- sh -c '
        p=$(cat /run/libvirtd.pid 2>/dev/null) && kill -CONT "$p" 2>/dev/null   # a frozen one
        for dom in $(timeout 10 virsh -q -c qemu:///system list --name 2>/dev/null); do
            timeout 10 virsh -q -c qemu:///system destroy "$dom" >/dev/null 2>&1 || true
        done' || echo "n$i: destroying the guests failed or timed out; killing the host" >&2
done
# 2. power off every host: SIGKILL to its init ends its whole PID namespace
for i in $hosts; do
    p=$(host_pid "$i") || continue
    kill -KILL "$p" 2>/dev/null || true
done
# 3. whatever is still in a lab namespace (nsenter'd commands, a host without init), then the namespaces
for ns in $(lab_netns); do
    empty() { [ -z "$(ip netns pids "$ns" 2>/dev/null)" ]; }
    if ! wait_for 10 empty; then
        left=$(ip netns pids "$ns" | tr '\n' ' ')
        echo "$ns: processes left: $left- SIGKILL" >&2
        kill -KILL $left 2>/dev/null || true
        wait_for 10 empty || die "$ns: processes survive SIGKILL: $(ip netns pids "$ns" | tr '\n' ' ')"
    fi
    ip netns del "$ns"
done
rm -f "$W/lab.env" "$W"/n[0-9]*/init.pid "$W"/n[0-9]*/ready 2>/dev/null || true
[ "$purge" != --purge ] || rm -rf "${W:?}"/n[0-9]* "$W/hosts" "$W/guest"
echo "lab $PREFIX under $W down after $(el) s"
