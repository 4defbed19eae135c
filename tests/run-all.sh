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

step "cargo test"
cargo test --release --locked -- --test-threads="${TEST_THREADS:-2}"

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
