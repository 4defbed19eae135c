#!/bin/bash
# libvirtd-up.sh - start virtlogd + libvirtd without systemd, if not already running, and
# wait until qemu:///system answers. What it starts is recorded in /run/lab-libvirtd.started
# ("NAME PID" lines), so libvirtd-down.sh stops only that. The daemons run under subreaper.py
# (setsid, stdio on /dev/null): exited qemu processes are reaped at once.
# libvirtd logs warnings+errors to /var/log/libvirt/libvirtd.log (LIBVIRT_LOG_OUTPUTS overrides).
# Also used inside a private namespace by privd-up.sh (there /run is private).
set -euo pipefail
usage() { echo "usage: $0 [TIMEOUT_SECONDS]   (default 60)" >&2; exit 2; }
[ $# -le 1 ] || usage
TIMEOUT=${1:-60}
[[ $TIMEOUT =~ ^[0-9]+$ ]] || usage
LAB=$(cd "$(dirname "$0")" && pwd -P)
STATE=/run/lab-libvirtd.started

exec 9>/run/lab-libvirtd.lock
flock -w "$TIMEOUT" 9 || { echo "libvirtd-up: /run/lab-libvirtd.lock busy" >&2; exit 1; }

# running NAME: /run/NAME.pid names a live process called NAME in our mount namespace
# (the pid namespace is shared with private instances: a stale pid may now be another one's daemon)
running() {
    local pid
    pid=$(cat "/run/$1.pid" 2>/dev/null) || return 1
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] &&
        [ "$(readlink "/proc/$pid/ns/mnt" 2>/dev/null)" = "$(readlink /proc/self/ns/mnt)" ]
}
answers() { timeout 5 virsh -q -c qemu:///system version >/dev/null 2>&1; }

start=()
running virtlogd || start+=(virtlogd)
if ! running libvirtd; then
    if answers; then
        echo "libvirtd-up: a libvirtd without /run/libvirtd.pid answers; not starting another" >&2
    else
        start+=(libvirtd)
    fi
fi
if [ ${#start[@]} -eq 0 ]; then
    echo "libvirtd-up: already running (libvirtd pid $(cat /run/libvirtd.pid 2>/dev/null || echo '?'))"
    exit 0
fi

mkdir -p /var/log/libvirt
script=""
for d in "${start[@]}"; do
    case $d in
        virtlogd) script+="virtlogd -d; " ;;
        libvirtd) script+="LIBVIRT_LOG_OUTPUTS='${LIBVIRT_LOG_OUTPUTS:-3:file:/var/log/libvirt/libvirtd.log}' libvirtd -d; " ;;
    esac
done
t0=${EPOCHREALTIME/[.,]/}
cd /
setsid "$LAB/subreaper.py" sh -c "$script" </dev/null >/dev/null 2>&1 9>&- &
reaper=$!

deadline=$((SECONDS + TIMEOUT))
until running virtlogd && running libvirtd && answers; do
    if [ $SECONDS -ge $deadline ]; then
        echo "libvirtd-up: no answer from libvirtd after $TIMEOUT s (see /var/log/libvirt/libvirtd.log)" >&2
        exit 1
    fi
    sleep 0.1
done
for d in "${start[@]}"; do echo "$d $(cat "/run/$d.pid")" >> "$STATE"; done
echo "subreaper $reaper" >> "$STATE"
ms=$(( (${EPOCHREALTIME/[.,]/} - t0) / 1000 ))
printf 'libvirtd-up: started %s (libvirtd pid %s) in %d.%03d s\n' "${start[*]}" \
    "$(cat /run/libvirtd.pid)" $((ms / 1000)) $((ms % 1000))
