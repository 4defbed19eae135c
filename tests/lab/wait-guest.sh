#!/bin/bash
# wait-guest.sh - wait until a make-guest.sh guest is ready: its console WORKDIR/NAME.console
# shows "guest: up" (fresh boot) or "guest: tick" (e.g. after a restore). libvirt truncates the
# console at every start, so call this after starting the domain.
# Prints "NAME up after S s" (exit 0), or the last console lines on timeout (exit 1).
set -euo pipefail
usage() { echo "usage: $0 NAME WORKDIR [TIMEOUT_SECONDS]   (default 60)" >&2; exit 2; }
[ $# -ge 2 ] && [ $# -le 3 ] || usage
NAME=$1 CONSOLE=$2/$1.console TIMEOUT=${3:-60}
[[ $TIMEOUT =~ ^[0-9]+$ ]] || usage
now_us() { echo "${EPOCHREALTIME/[.,]/}"; }
t0=$(now_us)
end=$((t0 + TIMEOUT * 1000000))
until grep -aqE 'guest: (up|tick)' "$CONSOLE" 2>/dev/null; do
    if [ "$(now_us)" -ge $end ]; then
        echo "wait-guest: $NAME not up after $TIMEOUT s; console tail:" >&2
        tail -n 5 "$CONSOLE" >&2 2>/dev/null || echo "  (no $CONSOLE)" >&2
        exit 1
    fi
    sleep 0.05
done
ms=$(( ($(now_us) - t0) / 1000 ))
printf '%s up after %d.%03d s\n' "$NAME" $((ms / 1000)) $((ms % 1000))
