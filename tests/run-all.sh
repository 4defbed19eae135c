#!/usr/bin/env bash
# The whole test suite on a Debian 12 machine, as root: installs what it
# needs, checks format and lints, builds, installs the agent as
# ocf:rust:VirtualDomain, starts libvirtd (tests/lab), and runs every test:
# unit, CLI matrix (ours and the anchor's), libvirt test driver, real qemu
# guests, fault injection, a bounded run of every fuzz target, a chaos smoke (a fenced cluster under
# seeded faults: tests/chaos), Pacemaker tools, a benchmark smoke run, and last the packages
# (built with cargo-deb, installed and purged in a private mount namespace: the hand-installed
# agent above is left as it is).
# Under CI=true nothing is skipped: a missing libvirtd or tool fails.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
t0=$SECONDS
step() { printf '\n== %s (at %ds)\n' "$*" $((SECONDS - t0)); }

if [ "${SKIP_INSTALL:-0}" != 1 ]; then
    step "installing packages"
    bash tests/lab/install-deps.sh
fi

step "format and lints"
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings

step "build and install the agent"
# built as cargo test builds it (the tests' dev-dependencies change some dependencies' features,
# so a plain cargo build makes another binary): the installed agent Pacemaker runs in
# tests/cluster.rs must be the very binary the tests know as CARGO_BIN_EXE_VirtualDomain
cargo test --release --locked --no-run
install -D -m 0755 target/release/VirtualDomain /usr/lib/ocf/resource.d/rust/VirtualDomain
# the package tests check that the packages hold this very binary
sha256sum target/release/VirtualDomain > target/release/VirtualDomain.tested.sha256

step "libvirtd"
bash tests/lab/libvirtd-up.sh

step "cargo test, in two lanes: the two longest multihost tests beside everything else"
# Each multihost test has its own lab (network namespaces, libvirtds, guests: tests/multihost,
# its own PREFIX and WORKDIR), nothing shared with the root libvirtd's tests, and spends most of
# its minutes waiting (timeouts it proves, guests booting, migrations throttled on purpose): run
# one after another they were 11 of the 22 minutes of cargo test. Lane "multihost" runs
# tests/migration.rs and tests/guest_nodes.rs; lane "others" everything else, tests/cluster.rs too.
# Both lanes' logs are printed whole; either failing fails the run.
threads=${TEST_THREADS:-2}
multihost=(migration guest_nodes)
multihost_args=() others_args=(--lib --bins)
for n in "${multihost[@]}"; do multihost_args+=(--test "$n"); done
for f in tests/*.rs; do
    n=$(basename "$f" .rs)
    [[ " ${multihost[*]} " == *" $n "* ]] || others_args+=(--test "$n")
done
multihost_log=target/cargo-test-multihost.log
cargo test --release --locked --no-fail-fast "${multihost_args[@]}" -- --test-threads="$threads" > "$multihost_log" 2>&1 &
multihost_pid=$!
others_rc=0
cargo test --release --locked --no-fail-fast "${others_args[@]}" -- --test-threads="$threads" || others_rc=$?
multihost_rc=0
wait "$multihost_pid" || multihost_rc=$?
printf '\n== lane "multihost" (%s), its log:\n' "${multihost[*]}"
cat "$multihost_log"
if [ "$others_rc" != 0 ] || [ "$multihost_rc" != 0 ]; then
    echo "cargo test failed: lane \"others\" rc $others_rc, lane \"multihost\" rc $multihost_rc" >&2
    exit 1
fi

step "fuzzing: every parser of outside data, ${FUZZ_SECONDS:-6} s per target (fuzz/run.sh)"
# installs cargo-afl (which builds AFL++ from its bundled source: make and gcc, from
# install-deps.sh) when missing, builds the targets, replays the seeds, fuzzes, and fails on
# any crash. Measured on this 2-core machine from nothing (cargo-afl and the fuzz build
# absent): install 33 s, build 51 s, 10 targets two at a time 6 s each 31 s, ≈ 2 minutes
# (2.5 min of CPU); 3.6 minutes while other test suites loaded the machine. Works as root on
# a fresh Debian 12 machine (no CPU governor or core_pattern changes needed).
bash fuzz/run.sh --install --seconds "${FUZZ_SECONDS:-6}"

step "chaos smoke: a fenced 3-node cluster, seeded faults, invariants checked (tests/chaos/smoke.sh, ≈ 3 min)"
bash tests/chaos/smoke.sh

step "Pacemaker tools: ocf-tester (real guest, test driver), ocft, crm_resource, pcs -f"
bash tests/tools/run.sh

step "benchmark smoke run (no timing asserted; the full run is bash bench/run.sh)"
AGENT=target/release/VirtualDomain bash bench/run.sh --smoke

step "the Debian package: cargo-deb, lintian, dpkg -i/-r/-P (tests/package/run.sh)"
bash tests/package/run.sh

step "the RPM: rpmbuild, rpmlint, rpm --root -i/-V/-e, a real guest run by the installed agent (tests/package/rpm.sh)"
bash tests/package/rpm.sh

step "done in $((SECONDS - t0)) s"
