#!/usr/bin/env bash
# packaging/build-deb.sh - builds the Debian package with cargo-deb (Cargo.toml's
# [package.metadata.deb]): the agent, its man page generated from the meta-data
# (examples/manpage.rs), the README and the license. Prints the .deb's path last.
# Installs the pinned cargo-deb first when it is missing (cargo install: ~2.5 min).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
CARGO_DEB_VERSION=3.8.0
if [ "$(cargo deb --version 2>/dev/null)" != "cargo-deb $CARGO_DEB_VERSION" ]; then
    echo "build-deb: installing cargo-deb $CARGO_DEB_VERSION" >&2
    env -u CARGO_TARGET_DIR cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked >&2
fi
target=${CARGO_TARGET_DIR:-target}
# the agent as cargo test builds it (tests/run-all.sh tests that very binary; a plain cargo build
# resolves other dependency features and makes another one)
cargo test --release --locked --no-run >&2
cargo build --release --locked --example manpage >&2
"$target/release/examples/manpage" | gzip -9n > "$target/release/ocf_rust_VirtualDomain.7.gz"
cargo deb --no-build --locked --output "$target/debian/" >&2
ls -t "$target"/debian/ocf-rust-virtualdomain_*.deb | head -n 1
