#!/bin/bash
# privd-down.sh - tear down the private libvirtd of DIR: SIGCONT a frozen daemon, destroy its
# qemu + LXC domains and networks, stop its daemons (libvirtd-down.sh inside), end the holder,
# then SIGKILL whatever is still in its network namespace. DIR itself is kept (config, cache,
# logs); privd-up.sh DIR starts it again. Idempotent.
set -euo pipefail
usage() { echo "usage: $0 DIR" >&2; exit 2; }
[ $# -eq 1 ] || usage
LAB=$(cd "$(dirname "$0")" && pwd -P)
DIR=$(realpath "$1")
p=$(cat "$DIR/holder.pid" 2>/dev/null) || { echo "privd-down: nothing running for $DIR"; exit 0; }
if [ "$(cat "/proc/$p/comm" 2>/dev/null)" != sleep ]; then
    echo "privd-down: holder $p already gone"; rm -f "$DIR/holder.pid"; exit 0
fi
NETNS=$(readlink "/proc/$p/ns/net")
in_ns() { nsenter -t "$p" -m -n -- "$@"; }

lp=$(cat "$DIR/run/libvirtd.pid" 2>/dev/null || true)
if [ -n "$lp" ] && [ "$(readlink "/proc/$lp/ns/net" 2>/dev/null)" = "$NETNS" ]; then
    kill -CONT "$lp" 2>/dev/null || true     # a frozen daemon must answer and see SIGTERM
fi
if in_ns timeout 10 virsh -q -c qemu:///system version >/dev/null 2>&1; then
    for uri in qemu:///system lxc:///system; do
        for d in $(in_ns timeout 10 virsh -q -c $uri list --name 2>/dev/null); do
            in_ns timeout 30 virsh -q -c $uri destroy "$d" >/dev/null && echo "privd-down: destroyed $d ($uri)"
        done
    done
    for n in $(in_ns timeout 10 virsh -q -c qemu:///system net-list --name 2>/dev/null); do
        in_ns timeout 30 virsh -q -c qemu:///system net-destroy "$n" >/dev/null && echo "privd-down: net-destroy $n"
    done
fi
in_ns "$LAB/libvirtd-down.sh" || true
kill -TERM "$p" 2>/dev/null || true

# leftovers (qemu of a crashed daemon, dnsmasq, ...) live in our netns: kill them. Our
# subreapers go last and normally exit by themselves, so the killed qemus are reaped at once.
deadline=$((SECONDS + 10))
while :; do
    left=() others=()
    for d in /proc/[0-9]*; do
        [ "$(readlink "$d/ns/net" 2>/dev/null)" = "$NETNS" ] || continue
        grep -q '^State:.*Z' "$d/status" 2>/dev/null && continue
        left+=("${d#/proc/}")
        [ "$(cat "$d/comm" 2>/dev/null)" = subreaper.py ] || others+=("${d#/proc/}")
    done
    [ ${#left[@]} -gt 0 ] && [ $SECONDS -lt $deadline ] || break
    victims=("${others[@]}")
    [ ${#others[@]} -gt 0 ] || [ $SECONDS -lt $((deadline - 8)) ] || victims=("${left[@]}")
    for q in "${victims[@]}"; do
        echo "privd-down: killing leftover $q ($(cat "/proc/$q/comm" 2>/dev/null))"
        kill -KILL "$q" 2>/dev/null || true
    done
    sleep 0.1
done
[ ${#left[@]} -eq 0 ] || { echo "privd-down: still alive after 10 s: ${left[*]}" >&2; exit 1; }
# empty cgroups of this instance's domains (a crashed daemon cannot remove them)
for f in "$DIR"/run/libvirt/qemu/*.xml; do
    [ -e "$f" ] || continue
    n=${f##*/}; n=${n%.xml}
    for c in /sys/fs/cgroup/*/machine/qemu-*-"$n".libvirt-qemu; do
        [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
done
rm -f "$DIR/holder.pid"
echo "privd-down: $DIR down"
