#!/bin/bash
# pcmk-down.sh - stop Pacemaker (it stops or moves its resources first) and then corosync on the
# hosts given (default: every host), as a clean node shutdown does. Bounded: pacemakerd gets
# PCMK_STOP_SECS (default 120) after SIGTERM, corosync 30 s; then SIGKILL. A host that is not
# running, or runs no cluster stack, is skipped.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 WORKDIR [I...]   (env PCMK_STOP_SECS=120)" >&2; exit 2; }
. "$(dirname "$0")/lib.sh"
need_root
load_env "$1"; shift
NODES=("$@"); [ ${#NODES[@]} -gt 0 ] || NODES=($(seq 1 "$N"))
# stop_daemon I PIDFILE SECS: SIGTERM, bounded wait, SIGKILL
stop_daemon() {
    host_pid "$1" >/dev/null || return 0
    X "$1" env PIDFILE="$2" SECS="$3" sh -c '
        p=$(cat "$PIDFILE" 2>/dev/null) && kill -0 "$p" 2>/dev/null || exit 0
        kill -TERM "$p"
        for t in $(seq 1 $((SECS * 10))); do kill -0 "$p" 2>/dev/null || exit 0; sleep 0.1; done
        echo "$PIDFILE: $p still there after $SECS s: SIGKILL" >&2; kill -KILL "$p"' || true
}
for i in "${NODES[@]}"; do stop_daemon "$i" /run/lab/pacemakerd.pid "${PCMK_STOP_SECS:-120}" & done; wait
for i in "${NODES[@]}"; do stop_daemon "$i" /run/lab/corosync.pid 30 & done; wait
echo "cluster stack stopped on $(printf 'n%s ' "${NODES[@]}")after $(el) s"
