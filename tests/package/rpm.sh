#!/usr/bin/env bash
# tests/package/rpm.sh - the RPM, end to end, as root (tests/run-all.sh runs it after the .deb):
#   1. builds it (packaging/build-rpm.sh: rpmbuild from the binary cargo test built)
#   2. rpmlint: only the findings packaging/README.md explains; Requires libvirt-libs; the
#      same files at the same paths as the .deb (Cargo.toml's assets)
#   3. the payload's agent is the binary the rest of the suite tested (sha256)
#   4. installed into a scratch root (rpm --root, its own database): rpm -q, -ql, -V clean, the
#      installed agent answers meta-data and --version; rpm -e leaves nothing of the package
# Prints PASS/FAIL per check and last "N passed, M failed"; exit 1 if anything failed.
# Environment: VD_RPM_WORKDIR (default /srv/vd-rpm, removed at the end).
set -euo pipefail
export VD_TOOLS_WORKDIR=${VD_RPM_WORKDIR:-/srv/vd-rpm}
. "$(dirname "${BASH_SOURCE[0]}")/../tools/lib.sh"
cd "$VD_REPO"
PKG=ocf-rust-virtualdomain
AGENT=/usr/lib/ocf/resource.d/rust/VirtualDomain
TARGET=${CARGO_TARGET_DIR:-$VD_REPO/target}
ROOT=$VD_WORK/root
rm -rf "$VD_WORK"; mkdir -p "$VD_WORK/out" "$ROOT"
trap 'rm -rf "$VD_WORK"' EXIT

say "== build and rpmlint"
run timeout 1800 bash packaging/build-rpm.sh
RPM=$(realpath -m "$(tail -n 2 "$OUT" | head -n 1)")
check "packaging/build-rpm.sh builds the .rpm" "$OUT" '[ "$RC" -eq 0 ] && [ -f "$RPM" ]'
[ -f "$RPM" ] || { summary; exit 1; }
run timeout 300 rpmlint "$RPM"
# the findings packaging/README.md explains, one per line: anything else fails
explained='no-signature|invalid-license GPL-2.0-or-later|explicit-lib-dependency libvirt-libs|dangerous-command-in-%postun rm|manpage-not-compressed bz2'
unexplained=$(grep -E '^[^ ]+: [EW]: ' "$OUT" | grep -vE ": [EW]: ($explained)( |$)" || true)
check "rpmlint: no finding beyond those packaging/README.md explains ($(grep -cE ': [EW]: ' "$OUT" || true) findings)" "$OUT" \
    '[ -z "$unexplained" ]'
run rpm -qp --requires "$RPM"
check "Requires: libvirt-libs (loaded with dlopen)" "$OUT" 'grep -x "libvirt-libs" "$OUT" >/dev/null'
run rpm -qp --recommends "$RPM"
check "Recommends: qemu-img, libguestfs-tools-c, csync2 (the .deb's: qemu-utils, libguestfs-tools, csync2)" "$OUT" \
    'out_has qemu-img && out_has libguestfs-tools-c && out_has csync2'
run rpm -qplv "$RPM"
check "contents: the agent 0755 at the .deb's path, the man page, README, license" "$OUT" \
    'grep -E "^-rwxr-xr-x .* $AGENT$" "$OUT" >/dev/null &&
     out_has /usr/share/man/man7/ocf_rust_VirtualDomain.7.gz && out_has "/usr/share/doc/$PKG/README.md" &&
     out_has "/usr/share/licenses/$PKG/LICENSE"'
check "  no build-id links or other stray files" "$OUT" '! out_has /usr/lib/.build-id'

say "== the packaged binary is the tested binary"
mkdir -p "$VD_WORK/payload"
run bash -c "cd '$VD_WORK/payload' && rpm2cpio '$RPM' | cpio -idm --quiet"
# tests/run-all.sh records the checksum of the binary the suite tests right after building it
TESTED_SUM=$TARGET/release/VirtualDomain.tested.sha256
if [ -f "$TESTED_SUM" ]; then tested=$(cut -d' ' -f1 "$TESTED_SUM"); else tested=none; fi
[ "${CI:-}" = true ] || [ -f "$TESTED_SUM" ] || tested=$(sha256sum "$TARGET/release/VirtualDomain" | cut -d' ' -f1)
packaged=$(sha256sum "$VD_WORK/payload$AGENT" | cut -d' ' -f1)
check "the payload's agent is the binary the suite tested ($tested)" "$OUT" '[ "$tested" = "$packaged" ]'

say "== rpm --root: install, query, verify, erase"
run rpm --root "$ROOT" --initdb
check "a scratch rpm database" "$OUT" '[ "$RC" -eq 0 ]'
# the scratch root has no libvirt-libs, bash or libc packages: their presence on a real system is
# what Requires asks; here only the package's own files are installed and checked
expect_rc 0 "rpm -i --nodeps into the scratch root" timeout 120 rpm --root "$ROOT" -i --nodeps --noscripts "$RPM"
run rpm --root "$ROOT" -q "$PKG"
check "rpm -q: $PKG-0.1.0-1 installed" "$OUT" '[ "$RC" -eq 0 ] && out_has "$PKG-0.1.0-1"'
run rpm --root "$ROOT" -ql "$PKG"
missing=$(tail -n +2 "$OUT" | sed '$d' | while read -r f; do [ -e "$ROOT$f" ] || echo "$f"; done)
check "rpm -ql: every listed file is in the root" "$OUT" '[ "$RC" -eq 0 ] && [ -z "$missing" ]'
run rpm --root "$ROOT" -V --nodeps "$PKG"
check "rpm -V: sizes, modes, digests, owners as packaged (no output)" "$OUT" \
    '[ "$RC" -eq 0 ] && [ "$(tail -n +2 "$OUT" | sed "\$d" | grep -c .)" -eq 0 ]'
run timeout 10 "$ROOT$AGENT" meta-data
check "the installed agent answers meta-data (the meta-data of the tested binary)" "$OUT" \
    '[ "$RC" -eq 0 ] && cmp -s <(tail -n +2 "$OUT" | sed "\$d") <(timeout 10 "$TARGET/release/VirtualDomain" meta-data)'
say "== the installed agent runs a real guest: start, monitor, stop, probe"
run timeout 120 bash "$VD_LAB/make-guest.sh" vdrpm-g1 "$VD_WORK" obey
check "make-guest.sh vdrpm-g1" "$OUT" '[ "$RC" -eq 0 ]'
ocf_env=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin OCF_ROOT=/usr/lib/ocf OCF_RA_VERSION_MAJOR=1
    OCF_RESOURCE_INSTANCE=vdrpm HA_RSCTMP="$VD_WORK/rsctmp" OCF_RESKEY_config="$VD_WORK/vdrpm-g1.xml"
    OCF_RESKEY_hypervisor="$VD_QEMU_URI" OCF_RESKEY_CRM_meta_timeout=60000
    OCF_RESKEY_autoset_utilization_cpu=false OCF_RESKEY_autoset_utilization_hv_memory=false
    OCF_RESKEY_autoset_utilization_host_memory=false)
mkdir -p "$VD_WORK/rsctmp"
expect_rc 0 "  start" timeout 70 "${ocf_env[@]}" "$ROOT$AGENT" start
run timeout 60 bash "$VD_LAB/wait-guest.sh" vdrpm-g1 "$VD_WORK" 60
check "  the guest's console ticks" "$OUT" '[ "$RC" -eq 0 ]'
expect_rc 0 "  monitor" timeout 70 "${ocf_env[@]}" OCF_RESKEY_CRM_meta_interval=10000 "$ROOT$AGENT" monitor
expect_rc 0 "  stop" timeout 70 "${ocf_env[@]}" "$ROOT$AGENT" stop
run timeout 10 virsh -c "$VD_QEMU_URI" domstate vdrpm-g1
check "  the guest is gone after stop" "$OUT" '! out_has running'
expect_rc 7 "  probe: not running" timeout 70 "${ocf_env[@]}" "$ROOT$AGENT" monitor
timeout 10 virsh -c "$VD_QEMU_URI" destroy vdrpm-g1 >/dev/null 2>&1 || true

echo tampered >> "$ROOT/usr/share/doc/$PKG/README.md"
run rpm --root "$ROOT" -V --nodeps "$PKG"
check "rpm -V sees a changed file (the check itself can fail)" "$OUT" '[ "$RC" -ne 0 ] && out_has "README.md"'
expect_rc 0 "rpm -e" timeout 120 rpm --root "$ROOT" -e --nodeps --noscripts "$PKG"
left=$(find "$ROOT/usr" -type f 2>/dev/null | grep -v "^$ROOT/usr/lib/sysimage/rpm/" || true)
check "rpm -e: none of the package's files is left" "$OUT" '[ -z "$left" ]'
summary
