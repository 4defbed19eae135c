#!/usr/bin/env bash
# packaging/build-deb.sh - builds the Debian package with cargo-deb (Cargo.toml's
# [package.metadata.deb]): the agent, its man page generated from the meta-data
# (examples/manpage.rs), the README and the license. Prints the .deb's path last.
# Needs cargo-deb (cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
target=${CARGO_TARGET_DIR:-target}
cargo build --release --locked --bin VirtualDomain --example manpage
"$target/release/examples/manpage" | gzip -9n > "$target/release/ocf_rust_VirtualDomain.7.gz"
cargo deb --no-build --locked --output "$target/debian/" >&2
ls -t "$target"/debian/ocf-rust-virtualdomain_*.deb | head -n 1
