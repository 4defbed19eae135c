#!/bin/bash
# guest-tick.sh - read a lab guest's console on host nI (WORKDIR/nI/var-log-libvirt/qemu/NAME.console)
# and print "BOOT K" of a tick line ("guest: tick K uptime U boot=BOOT").
#   guest-tick.sh WORKDIR I NAME
#       the newest tick line on nI (exit 1 if there is none); it may be old: consoles are appended to
#   guest-tick.sh --live [--wait S] WORKDIR I NAME
#       a tick happening now: waits (at most S s, default 30) for a tick line newer than the newest
#       one seen at the call; exit 1 if none comes
#   guest-tick.sh --wait S --boot BOOT --after K WORKDIR I NAME
#       waits at most S s for a tick of boot BOOT with a number > K on nI: after a live migration
#       to nI this shows the guest kept running (same boot, later tick); exit 1 on timeout
set -euo pipefail
usage() { echo "usage: $0 [--live] [--wait S] [--boot BOOT --after K] WORKDIR I NAME" >&2; exit 2; }
live=; wait=; boot=; after=
while [ $# -gt 0 ]; do case $1 in
    --live) live=1; shift ;;
    --wait) [ $# -ge 2 ] || usage; wait=$2; shift 2 ;;
    --boot) [ $# -ge 2 ] || usage; boot=$2; shift 2 ;;
    --after) [ $# -ge 2 ] || usage; after=$2; shift 2 ;;
    -*) usage ;;
    *) break ;;
esac; done
[ $# -eq 3 ] || usage
[ -z "$boot" ] || [ -n "$after" ] || usage
[ -z "$live" ] || [ -z "$boot" ] || usage
f=$1/n$2/var-log-libvirt/qemu/$3.console
newest() {
    [ -r "$f" ] || return 1
    tail -c 8192 "$f" | tr -d '\r' |
        awk '$1 == "guest:" && $2 == "tick" && $6 ~ /^boot=/ { l = substr($6, 6) " " $3 } END { if (l == "") exit 1; print l }'
}
now() { date +%s%N; }
if [ -n "$live" ]; then
    end=$(( $(now) + ${wait:-30} * 1000000000 ))
    first=$(newest || echo "none 0")
    while [ "$(now)" -lt $end ]; do
        l=$(newest || echo "none 0")
        [ "$l" != "$first" ] && [ "$l" != "none 0" ] && { echo "$l"; exit 0; }
        sleep 0.1
    done
    echo "guest-tick: no new tick of $3 on n$2 within ${wait:-30} s (newest: $first)" >&2; exit 1
fi
if [ -n "$boot" ]; then
    end=$(( $(now) + ${wait:-0} * 1000000000 ))
    while :; do
        if l=$(newest); then
            set -- $l "$@"
            [ "$1" = "$boot" ] && [ "$2" -gt "$after" ] && { echo "$l"; exit 0; }
            shift 2
        fi
        [ "$(now)" -lt $end ] || break
        sleep 0.1
    done
    echo "guest-tick: no tick of boot $boot after $after on n$2 within ${wait:-0} s (newest: ${l:-none})" >&2; exit 1
fi
newest || { echo "guest-tick: no tick line in $f" >&2; exit 1; }
