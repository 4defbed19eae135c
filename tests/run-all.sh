#!/usr/bin/env bash
# The whole test suite on a Debian 12 machine, as root: installs what it
# needs, checks format and lints, builds, installs the agent as
# ocf:rust:VirtualDomain, starts libvirtd (tests/lab), and runs every test:
# unit, CLI matrix (ours and the anchor's), libvirt test driver, real qemu
# guests, fault injection, a chaos smoke (a fenced cluster under seeded faults: tests/chaos),
# Pacemaker tools, a benchmark smoke run, and last the Debian package
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

step "libvirtd"
bash tests/lab/libvirtd-up.sh

step "cargo test"
cargo test --release --locked -- --test-threads="${TEST_THREADS:-2}"

step "chaos smoke: a fenced 3-node cluster, seeded faults, invariants checked (tests/chaos/smoke.sh, ≈ 3 min)"
bash tests/chaos/smoke.sh

step "Pacemaker tools: ocf-tester (real guest, test driver), ocft, crm_resource, pcs -f"
bash tests/tools/run.sh

step "benchmark smoke run (no timing asserted; the full run is bash bench/run.sh)"
AGENT=target/release/VirtualDomain bash bench/run.sh --smoke

step "the Debian package: cargo-deb, lintian, dpkg -i/-r/-P (tests/package/run.sh)"
bash tests/package/run.sh

step "done in $((SECONDS - t0)) s"
