#!/usr/bin/env bash
# bench/run.sh - one command that benchmarks our agent beside the installed
# anchor (ocf:heartbeat:VirtualDomain) and writes BENCHMARKS.md at the repo
# root. It builds the agent from this tree (so the current source is what is
# measured; AGENT=/path/to/VirtualDomain measures another binary instead),
# compiles the C helpers (bench/floor.c, events.c, rss.c), makes sure
# libvirtd runs (tests/lab) and hands over to bench/harness.py. The
# migration figure brings up its own 2-host lab (tests/multihost, PREFIX
# vdb, WORKDIR /srv/vdb-lab) and tears it down again, also on failure.
#
#   bash bench/run.sh           full run -> BENCHMARKS.md (or OUT=path)
#   bash bench/run.sh --smoke   a few iterations of everything -> a temp file
#                               (or OUT=path); fails only if a benchmark
#                               cannot run, never on a timing goal (CI)
#   bash bench/run.sh migration-dirty
#                               only figure 9 (bench/dirty.py: a guest dirtying
#                               memory faster than the link copies it, ≈ 6 min):
#                               its section of BENCHMARKS.md (or OUT) is replaced,
#                               the rest kept; a full run keeps that section
#   bash bench/run.sh scale [ARGS]
#                               only the cluster-scale figures (bench/scale.py,
#                               its own lab PREFIX vds; ≈ 40 min; ARGS e.g.
#                               --parts cpu --agents ours --mode smoke): its
#                               section of BENCHMARKS.md (or OUT) is replaced,
#                               the rest kept; a full run keeps that section
set -euo pipefail
usage() { echo "usage: [AGENT=binary] [OUT=report.md] $0 [--smoke | migration-dirty | scale [ARGS]]" >&2; exit 2; }
MODE=full
case ${1:-} in
    "") ;;
    --smoke) [ $# -eq 1 ] || usage; MODE=smoke ;;
    migration-dirty) [ $# -eq 1 ] || usage; MODE=dirty ;;
    scale) MODE=scale; shift ;;
    *) usage ;;
esac
cd "$(dirname "$0")/.."
REPO=$PWD
export PATH="$HOME/.cargo/bin:/root/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
[ "$(id -u)" = 0 ] || { echo "bench/run.sh: must run as root" >&2; exit 2; }
for tool in hyperfine strace gcc virsh cibadmin crm_resource python3 strip ip nsenter unshare setsid; do
    command -v "$tool" >/dev/null || { echo "bench/run.sh: $tool is missing (tests/lab/install-deps.sh)" >&2; exit 1; }
done
ANCHOR=/usr/lib/ocf/resource.d/heartbeat/VirtualDomain
[ -x "$ANCHOR" ] || { echo "bench/run.sh: the anchor $ANCHOR is not installed" >&2; exit 1; }

# one benchmark at a time on this machine: both would use the same guest
# (scale has a lab of its own)
if [ $MODE != scale ]; then
    exec 9> /run/vdbench.lock
    flock -w 900 9 || { echo "bench/run.sh: another benchmark holds /run/vdbench.lock" >&2; exit 1; }
fi

BIN=$(mktemp -d /tmp/vdbench-bin.XXXXXX)
OUTTMP=""
trap 'rm -rf "$BIN"' EXIT
if [ -z "${AGENT:-}" ]; then
    TARGET=${CARGO_TARGET_DIR:-/tmp/bench-target}
    echo "== building the agent (CARGO_TARGET_DIR=$TARGET)"
    CARGO_TARGET_DIR=$TARGET cargo build --release --locked --quiet
    AGENT=$TARGET/release/VirtualDomain
fi
AGENT=$(realpath "$AGENT")
[ -x "$AGENT" ] || { echo "bench/run.sh: AGENT=$AGENT is not executable" >&2; exit 1; }

if [ $MODE = dirty ]; then
    OUT=$(realpath -m "${OUT:-$REPO/BENCHMARKS.md}")
    echo "== migration-dirty benchmark run of $AGENT -> $OUT"
    python3 -B bench/dirty.py --agent "$AGENT" --anchor "$ANCHOR" --out "$OUT"
    exit
fi
if [ $MODE = scale ]; then
    OUT=$(realpath -m "${OUT:-$REPO/BENCHMARKS.md}")
    echo "== cluster-scale benchmark run of $AGENT -> $OUT"
    python3 -B bench/scale.py --agent "$AGENT" --anchor "$ANCHOR" --out "$OUT" "$@"
    exit
fi

gcc -O2 -Wall -o "$BIN/floor" bench/floor.c -lvirt
gcc -O2 -Wall -o "$BIN/events" bench/events.c -lvirt
gcc -O2 -Wall -o "$BIN/rss" bench/rss.c

bash tests/lab/libvirtd-up.sh 9>&-   # a daemon it starts must not hold the lock

if [ -n "${OUT:-}" ]; then
    OUT=$(realpath -m "$OUT")
elif [ $MODE = full ]; then
    OUT=$REPO/BENCHMARKS.md
else
    OUT=$(mktemp /tmp/vdbench-smoke.XXXXXX.md)
    OUTTMP=$OUT
fi
echo "== $MODE benchmark run of $AGENT -> $OUT"
start=$SECONDS
rc=0
python3 -B bench/harness.py --mode "$MODE" --agent "$AGENT" --anchor "$ANCHOR" --bin "$BIN" \
    --out "$OUT" || rc=$?
if [ $rc -ne 0 ]; then
    [ -z "$OUTTMP" ] || rm -f "$OUTTMP"
    echo "== benchmark FAILED (rc $rc) after $((SECONDS - start)) s" >&2
    exit $rc
fi
echo "== done in $((SECONDS - start)) s: $OUT"
