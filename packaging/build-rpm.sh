#!/usr/bin/env bash
# packaging/build-rpm.sh - builds the RPM (packaging/rpm/ocf-rust-virtualdomain.spec) from the
# binary and man page the build makes, exactly as packaging/build-deb.sh does for the .deb: the
# agent is built as `cargo test` builds it (tests/run-all.sh tests that very binary), so the
# packaged binary is the tested one. Needs rpmbuild (Debian: apt-get install rpm). Prints the
# .rpm's path last.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
target=${CARGO_TARGET_DIR:-target}
cargo test --release --locked --no-run >&2
cargo build --release --locked --example manpage >&2
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
stage=$target/rpm/stage top=$target/rpm/top
rm -rf "$stage" "$top"; mkdir -p "$stage" "$top"
cp "$target/release/VirtualDomain" README.md LICENSE "$stage/"
cp -r doc "$stage/doc"
"$target/release/examples/manpage" | gzip -9n > "$stage/ocf_rust_VirtualDomain.7.gz"
rpmbuild -bb --quiet \
    --define "_topdir $(realpath "$top")" \
    --define "vd_stage $(realpath "$stage")" \
    --define "vd_version $version" \
    --target x86_64 \
    packaging/rpm/ocf-rust-virtualdomain.spec >&2
ls -t "$top"/RPMS/x86_64/ocf-rust-virtualdomain-*.rpm | head -n 1
