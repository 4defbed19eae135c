#!/bin/bash
# libvirtd-down.sh - stop the virtlogd/libvirtd that libvirtd-up.sh started, nothing else.
# SIGTERM (+SIGCONT, in case a test froze it), libvirtd first; SIGKILL after TIMEOUT.
# Running guests are not touched: qemu keeps running and a later libvirtd picks it up again.
set -euo pipefail
usage() { echo "usage: $0 [TIMEOUT_SECONDS]   (default 15, then SIGKILL)" >&2; exit 2; }
[ $# -le 1 ] || usage
TIMEOUT=${1:-15}
[[ $TIMEOUT =~ ^[0-9]+$ ]] || usage
STATE=/run/lab-libvirtd.started

exec 9>/run/lab-libvirtd.lock
flock -w 60 9 || { echo "libvirtd-down: /run/lab-libvirtd.lock busy" >&2; exit 1; }
if [ ! -s "$STATE" ]; then
    echo "libvirtd-down: libvirtd-up.sh started nothing; leaving any daemon alone"
    exit 0
fi
MNTNS=$(readlink /proc/self/ns/mnt)
alive() {   # alive NAME PID: PID is a live NAME in our mount namespace
    [ "$(cat "/proc/$2/comm" 2>/dev/null)" = "$1" ] && [ "$(readlink "/proc/$2/ns/mnt" 2>/dev/null)" = "$MNTNS" ] &&
        ! grep -q '^State:.*Z' "/proc/$2/status" 2>/dev/null
}

for name in libvirtd virtlogd; do
    for pid in $(awk -v n="$name" '$1 == n {print $2}' "$STATE"); do
        alive "$name" "$pid" || continue
        kill -TERM "$pid" 2>/dev/null || true
        kill -CONT "$pid" 2>/dev/null || true
        deadline=$((SECONDS + TIMEOUT))
        while alive "$name" "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
        if alive "$name" "$pid"; then
            echo "libvirtd-down: $name $pid still there after $TIMEOUT s: SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
            deadline=$((SECONDS + 10))
            while alive "$name" "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
        fi
        echo "libvirtd-down: stopped $name $pid"
    done
done
rm -f "$STATE"
