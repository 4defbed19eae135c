#!/usr/bin/env bash
# Builds every fuzz target with AFL++ instrumentation (afl.rs, stable Rust)
# and runs each for N seconds from its seed corpus (corpus/<target>/);
# exits 1 if any target crashed (the crashing inputs are listed, kept
# under fuzz/out/<target>/default/crashes/; replay one with
# `target/debug/<target> < FILE`). Hangs are reported, not failed on.
#   bash fuzz/run.sh [--seconds N] [--install] [TARGET...]
# --install first installs cargo-afl (which builds AFL++ from its bundled
# source: needs make and a C compiler) when `cargo afl` is missing.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$HOME/.cargo/bin:$PATH"
AFL_VERSION=0.18.2 # keep equal to the afl crate in Cargo.lock

seconds=30 install=0 targets=()
while [ $# -gt 0 ]; do
    case $1 in
        --seconds) seconds=$2; shift 2 ;;
        --install) install=1; shift ;;
        -*) echo "usage: $0 [--seconds N] [--install] [TARGET...]" >&2; exit 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cd fuzz_targets && ls ./*.rs | sed 's|^\./||; s|\.rs$||')

if ! cargo afl --version >/dev/null 2>&1; then
    [ $install = 1 ] || { echo "fuzz: cargo-afl missing (run with --install)" >&2; exit 1; }
    t=$SECONDS
    cargo install --locked cargo-afl --version "$AFL_VERSION"
    echo "fuzz: cargo-afl installed in $((SECONDS - t)) s"
fi
# AFL++ itself (built by cargo install on recent versions; a no-op then)
cargo afl config --build >/dev/null 2>&1 || true

t=$SECONDS
cargo afl build --locked --bins
echo "fuzz: targets built in $((SECONDS - t)) s"
# afl-fuzz itself, run directly (not through `cargo afl fuzz`) so that
# `timeout` reaches it: -V alone is checked between stages, which can
# last seconds past it
afl_fuzz=$(ls -d "$HOME"/.local/share/afl.rs/rustc-"$(rustc -V | awk '{print $2}')"-*/afl.rs-"$AFL_VERSION"/afl/bin/afl-fuzz | head -1)
[ -x "$afl_fuzz" ] || { echo "fuzz: no afl-fuzz of cargo-afl $AFL_VERSION" >&2; exit 1; }

# no UI, no CPU governor or core_pattern demands (CI machines and
# containers cannot change them), no waiting for a free core
export AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
    AFL_NO_AFFINITY=1 AFL_FAST_CAL=1 AFL_QUIET=1 AFL_SUPPRESS_ERROR=0
# one target: its summary line in out/<target>/result, "CRASH" or
# "ERROR" first when it failed
fuzz_one() {
    local target=$1 out=out/$1 t=$SECONDS seed
    rm -rf "$out"
    mkdir -p "$out"
    # the seeds themselves first (afl-fuzz only skips a crashing seed)
    for seed in "corpus/$target"/*; do
        if ! timeout -k 5 20 "target/debug/$target" <"$seed" >"$out/seed.log" 2>&1; then
            { echo "CRASH $target: seed $seed:"; tail -20 "$out/seed.log"; } >"$out/result"
            return
        fi
    done
    # -t: an input taking longer than 2 s is a hang (the rpc targets never
    # wait: every byte, or end of stream, is there before the first read)
    # (-c0: the CmpLog pass cargo afl fuzz adds; SIGINT at the end: afl-fuzz
    # stops cleanly, its statistics written)
    local rc=0
    timeout -s INT -k 10 "$seconds" "$afl_fuzz" -c0 -V "$seconds" -t 2000 \
        -i "corpus/$target" -o "$out" "target/debug/$target" >"$out/afl.log" 2>&1 || rc=$?
    if [ $rc != 0 ] && [ $rc != 124 ] || [ ! -f "$out/default/fuzzer_stats" ]; then
        { echo "ERROR $target: afl-fuzz failed ($rc):"; tail -20 "$out/afl.log"; } >"$out/result"
        return
    fi
    local stats=$out/default/fuzzer_stats crashes hangs
    field() { sed -n "s/^$1 *: //p" "$stats"; }
    crashes=$(find "$out/default/crashes" -type f ! -name README.txt | wc -l)
    hangs=$(find "$out/default/hangs" -type f | wc -l)
    {
        [ "$crashes" = 0 ] || echo -n "CRASH "
        echo "$target: $((SECONDS - t)) s, $(field execs_done) runs, $(field corpus_count) paths," \
            "$(field edges_found) edges, $crashes crashes, $hangs hangs"
        find "$out/default/crashes" -type f ! -name README.txt
    } >"$out/result"
}

# as many at once as there are cores
jobs=$(nproc)
t=$SECONDS
for target in "${targets[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
    fuzz_one "$target" &
done
wait
failed=()
for target in "${targets[@]}"; do
    result=$(cat "out/$target/result" 2>/dev/null || echo "ERROR $target: no result")
    echo "fuzz: $result"
    case $result in CRASH* | ERROR*) failed+=("$target") ;; esac
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${seconds} s each, $jobs at a time, in $((SECONDS - t)) s: no crash"
