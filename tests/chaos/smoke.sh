#!/bin/bash
# smoke.sh - the chaos campaign's CI smoke (tests/run-all.sh runs it after cargo test): seed 29,
# 2 minutes, our agent only (config_empty first — the two-copies finding —, libvirtd killed, qemu
# killed, corosync killed → a fence and a rejoin, ...). Fails when run.sh fails: an invariant
# broken by our agent, a fence it caused, or a lab that could not run. A missing tool (run.sh
# exit 3) is a skip, except under CI=true where it fails. The long campaign stays a command:
# bash tests/chaos/run.sh --seed N --minutes M --agent both
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
python3 "$HERE/selftest.py"   # the checker's rules and the fence agent, no lab (< 1 s)
out=/srv/vdx-chaos-out/smoke
rm -rf "$out"
rc=0
bash "$HERE/run.sh" --seed "${CHAOS_SEED:-29}" --minutes "${CHAOS_MINUTES:-2}" --agent rust --out "$out" || rc=$?
if [ "$rc" = 3 ] && [ "${CI:-}" != true ]; then
    echo "chaos smoke: skipped (a tool is missing; CI=true makes this a failure)"
    exit 0
fi
[ ! -f "$out/report.md" ] || sed -n '1,40p' "$out/report.md"
[ "$rc" = 0 ] || echo "chaos smoke: FAILED (rc=$rc); see $out/ (events-rust.log, logs-rust/)" >&2
exit "$rc"
