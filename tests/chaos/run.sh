#!/bin/bash
# run.sh - the chaos campaign: a fenced 3-host cluster (tests/multihost + the lab power switch and
# fence_vdlab), real guests with a heartbeat and a persisted counter, a seeded random fault schedule
# and a checker of the invariants every half second, for our agent, the anchor, or both.
#   bash tests/chaos/run.sh --seed N --minutes M --agent rust|heartbeat|both [--guests G]
#        [--kinds k1,k2] [--out DIR]
# Report: DIR/report.md (default /srv/vdx-chaos-out/seed-N-TIME/), events-AGENT.log,
# results-AGENT.json. Runs under flock /tmp/vd-multihost.lock (or $VD_CHAOS_LOCK: another lock lets
# the campaign run beside the default multihost lab, PREFIX vdm, whose names it does not share); the lab (PREFIX vdx, /srv/vdx-chaos,
# 10.213.11/111) is torn down at the end, also when killed. Pacemaker runs the installed
# /usr/lib/ocf/resource.d/rust/VirtualDomain. Exit 1 if our agent broke an invariant or the
# campaign could not run.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "run.sh: must run as root" >&2; exit 2; }
for t in python3 pcs corosync pacemakerd virsh qemu-system-x86_64 ip nsenter; do
    command -v "$t" >/dev/null || { echo "run.sh: missing tool $t" >&2; exit 3; }
done
[ -x /usr/lib/ocf/resource.d/rust/VirtualDomain ] || { echo "run.sh: ocf:rust:VirtualDomain not installed" >&2; exit 3; }
W=/srv/vdx-chaos
child=
cleanup() {
    [ -z "$child" ] || { kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null || true; }
    # a campaign killed hard leaves its power switch and lab: ours only (pid file + command line)
    p=$(cat "$W/switch.pid" 2>/dev/null) && grep -q powerswitch.py "/proc/$p/cmdline" 2>/dev/null &&
        kill -KILL "$p" 2>/dev/null
    rm -f "$W/switch.pid"
    PREFIX=vdx bash "$HERE/../multihost/hosts-down.sh" "$W" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' TERM INT HUP
LOCK=${VD_CHAOS_LOCK:-/tmp/vd-multihost.lock}
exec 9>"$LOCK"
flock -w 1800 9 || { echo "run.sh: $LOCK busy for 30 min" >&2; exit 3; }
python3 "$HERE/campaign.py" --workdir "$W" "$@" &
child=$!
rc=0; wait "$child" || rc=$?
child=
exit "$rc"
