#!/usr/bin/env bash
# tests/package/run.sh - the Debian package, end to end, as root (tests/run-all.sh runs it last):
#   1. builds it (packaging/build-deb.sh: cargo-deb, the man page from the meta-data)
#   2. lintian: any error fails, warnings are listed; control fields (libvirt0, recommends), contents
#   3. dpkg -i beside resource-agents; dpkg -L; the installed agent is the binary the suite tested; crm_resource --show-metadata, pcs resource describe,
#      man ocf_rust_VirtualDomain; the installed man page is the generator's output
#   4. the agent's run-time files (systemd drop-ins, state files, as the agent writes them):
#      dpkg -r with ocf:heartbeat:VirtualDomain installed keeps the shared ones (that agent uses the
#      same names); dpkg -P without it removes them; nothing of the package is left.
# Steps 3-4 run in a private mount namespace with overlays on /usr/lib/ocf, /usr/share/{man,doc},
# /var/lib/dpkg, /var/cache/man and /run: the machine's dpkg database and the hand-installed agent
# of the other tests (/usr/lib/ocf/resource.d/rust/VirtualDomain) are never touched, and whatever
# the package did is gone when the script ends (checked: the hand-installed agent is unchanged).
# Prints PASS/FAIL per check and last "N passed, M failed"; exit 1 if anything failed.
# Environment: VD_PKG_WORKDIR (default /srv/vd-package, removed at the end), VD_TOOLS_VERBOSE=1.
set -euo pipefail
if [ "${1:-}" != --inside ]; then
    exec unshare --mount --propagation private bash "$0" --inside
fi
export VD_TOOLS_WORKDIR=${VD_PKG_WORKDIR:-/srv/vd-package}
. "$(dirname "${BASH_SOURCE[0]}")/../tools/lib.sh"
cd "$VD_REPO"
PKG=ocf-rust-virtualdomain
AGENT=/usr/lib/ocf/resource.d/rust/VirtualDomain
MAN=/usr/share/man/man7/ocf_rust_VirtualDomain.7.gz
DROPINS=/run/systemd/system/resource-agents-deps.target.d
RSCTMP=/run/resource-agents
OVERLAID=(/usr/lib/ocf /usr/share/man /usr/share/doc /var/lib/dpkg /var/cache/man /run)
TARGET=${CARGO_TARGET_DIR:-$VD_REPO/target}

rm -rf "$VD_WORK"; mkdir -p "$VD_WORK/out"
# unmount_all: the overlays, then their tmpfs (the namespace's mounts would go with it anyway)
unmount_all() {
    local i
    for ((i = ${#OVERLAID[@]} - 1; i >= 0; i--)); do
        if findmnt -n -t overlay "${OVERLAID[$i]}" >/dev/null; then umount "${OVERLAID[$i]}"; fi
    done
    if findmnt -n "$VD_WORK/ovl" >/dev/null; then umount "$VD_WORK/ovl"; fi
}
trap 'unmount_all || true; rm -rf "$VD_WORK"' EXIT
host_agent_sum=$(sha256sum "$AGENT" 2>/dev/null || echo none)

say "== build and lintian"
run timeout 1200 bash packaging/build-deb.sh
DEB=$(tail -n 2 "$OUT" | head -n 1)
check "packaging/build-deb.sh builds the .deb" "$OUT" '[ "$RC" -eq 0 ] && [ -f "$DEB" ]'
[ -f "$DEB" ] || { summary; exit 1; }
run timeout 300 lintian --pedantic -I "$DEB"
grep -E '^[WIP]: ' "$OUT" | sed 's/^/      lintian: /' || true
check "lintian: no errors ($(grep -c '^E: ' "$OUT" || true) errors, $(grep -c '^W: ' "$OUT" || true) warnings)" "$OUT" \
    '! grep -q "^E: " "$OUT" && grep -q "^\[exit status 0\]" "$OUT"'
run dpkg-deb -f "$DEB" Depends Recommends
check "Depends: libc6 (from the binary) and libvirt0 (dlopen); Recommends: qemu-utils, libguestfs-tools, csync2" "$OUT" \
    'out_has "libc6 (>=" && out_has ", libvirt0" && out_has "Recommends: qemu-utils, libguestfs-tools, csync2"'
run dpkg-deb -c "$DEB"
check "contents: the agent 0755, the man page, README, copyright, changelog" "$OUT" \
    'grep -q "^-rwxr-xr-x .* \.$AGENT$" "$OUT" && out_has ".$MAN" &&
     out_has "./usr/share/doc/$PKG/README.md" && out_has "./usr/share/doc/$PKG/copyright" &&
     out_has "./usr/share/doc/$PKG/changelog.Debian.gz"'

say "== private overlays on ${OVERLAID[*]}"
mkdir -p "$VD_WORK/ovl"
mount -t tmpfs vd-package "$VD_WORK/ovl"
for d in "${OVERLAID[@]}"; do
    mkdir -p "$VD_WORK/ovl/up$d" "$VD_WORK/ovl/work$d"
    mount -t overlay vd-package -o "lowerdir=$d,upperdir=$VD_WORK/ovl/up$d,workdir=$VD_WORK/ovl/work$d" "$d"
done
# as on a machine without the agent: the hand-installed copy of the other tests hidden
# (and no state files of other resources of this machine, which the postrm would remove too)
rm -f "$AGENT" "$RSCTMP"/VirtualDomain-*; rmdir /usr/lib/ocf/resource.d/rust 2>/dev/null || true
if dpkg -s "$PKG" >/dev/null 2>&1; then dpkg -P "$PKG" >/dev/null; fi
# the files a package could leave behind (dpkg's own database files aside)
snapshot() {
    find /usr/lib/ocf /usr/share/man /usr/share/doc "$DROPINS" "$RSCTMP" /var/lib/dpkg/info 2>/dev/null | sort || true
}
snapshot > "$VD_WORK/before.txt"

say "== dpkg -i"
expect_rc 0 "dpkg -i $(basename "$DEB")" timeout 300 dpkg -i "$DEB"
run dpkg -L "$PKG"
cp "$OUT" "$VD_WORK/listed.txt"
missing=$(tail -n +2 "$OUT" | sed '$d' | while read -r f; do [ -e "$f" ] || echo "$f"; done)
check "dpkg -L: every listed file is there ($(grep -c / "$OUT") paths)" "$OUT" '[ "$RC" -eq 0 ] && [ -z "$missing" ]'
check "  $AGENT is 0755 root:root" "$OUT" '[ "$(stat -c %a:%U:%G "$AGENT")" = 755:root:root ]'
run dpkg -S /usr/lib/ocf/resource.d/heartbeat/VirtualDomain
check "  ocf:heartbeat:VirtualDomain still belongs to resource-agents (installed side by side)" "$OUT" \
    '[ "$RC" -eq 0 ] && out_has "resource-agents: "'
TESTED_SUM=$TARGET/release/VirtualDomain.tested.sha256
if [ -f "$TESTED_SUM" ]; then tested=$(cut -d' ' -f1 "$TESTED_SUM"); else tested=none; fi
[ "${CI:-}" = true ] || [ -f "$TESTED_SUM" ] || tested=$(sha256sum "$TARGET/release/VirtualDomain" | cut -d' ' -f1)
run sha256sum "$AGENT"
check "  the installed agent is the binary the suite tested ($tested; tests/run-all.sh records it)" "$OUT" \
    'out_has "$tested"'
run timeout 10 "$AGENT" --version
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
check "  VirtualDomain --version: the package version and git revision ($rev)" "$OUT" \
    'out_has "VirtualDomain $(dpkg-query -W -f "\${Version}" "$PKG" | sed "s/-[^-]*$//") (git $rev)"'

run timeout 30 crm_resource --show-metadata ocf:rust:VirtualDomain
tail -n +2 "$OUT" | sed '$d' > "$VD_WORK/md-crm.xml"
check "crm_resource --show-metadata ocf:rust:VirtualDomain = the installed agent's meta-data" "$OUT" \
    '[ "$RC" -eq 0 ] && cmp -s "$VD_WORK/md-crm.xml" <(timeout 10 "$AGENT" meta-data)'
run timeout 60 pcs resource describe ocf:rust:VirtualDomain
check "pcs resource describe ocf:rust:VirtualDomain" "$OUT" \
    '[ "$RC" -eq 0 ] && out_has "ocf:rust:VirtualDomain" && out_has "shutdown_timeout" && out_has "migrate_to"'
run env MANPAGER=cat MANWIDTH=100 timeout 60 man ocf_rust_VirtualDomain
check "man ocf_rust_VirtualDomain" "$OUT" \
    '[ "$RC" -eq 0 ] && out_has "SUPPORTED PARAMETERS" && out_has "DIFFERENCES FROM ocf:heartbeat:VirtualDomain"'
check "  the installed man page is examples/manpage's output (generated from the meta-data)" "$OUT" \
    'cmp -s <(zcat "$MAN") <("$TARGET/release/examples/manpage")'

# what the agent writes at run time: the drop-ins (content as in the postrm, which a unit test
# checks against src/host/systemd.rs) and its state files
runtime_files() {
    mkdir -p "$DROPINS" "$RSCTMP"
    sed -n "s/^ *remove_if_ours \([^ ]*\) '\(.*\)'$/\1 \2/p" "/var/lib/dpkg/info/$PKG.postrm" |
        while read -r file content; do printf '%b\n' "$content" > "$DROPINS/$file"; done
    for f in vdpkg.domain vdpkg.utilization vdpkg-dom-emu.state; do echo x > "$RSCTMP/VirtualDomain-$f"; done
}
runtime_files
n_dropins=$(ls "$DROPINS" | wc -l)
check "the agent's three drop-ins written as it writes them" "$OUT" '[ "$n_dropins" -eq 3 ]'

say "== dpkg -r, ocf:heartbeat:VirtualDomain installed"
expect_rc 0 "dpkg -r $PKG" timeout 300 dpkg -r "$PKG"
left=$(cat "$VD_WORK/listed.txt" | tail -n +2 | sed '$d' | while read -r f; do [ -f "$f" ] && echo "$f"; done || true)
check "  no file of dpkg -L is left" "$VD_WORK/listed.txt" '[ -z "$left" ]'
check "  its own state files (*.domain, *.utilization) removed" "$OUT" \
    '[ ! -e "$RSCTMP/VirtualDomain-vdpkg.domain" ] && [ ! -e "$RSCTMP/VirtualDomain-vdpkg.utilization" ]'
check "  its own drop-in removed" "$OUT" '[ ! -e "$DROPINS/99-ocf-rust-VirtualDomain-libvirt.conf" ]'
check "  the drop-ins and emulator cache shared with the heartbeat agent kept" "$OUT" \
    '[ "$(ls "$DROPINS" | wc -l)" -eq 2 ] && [ -e "$RSCTMP/VirtualDomain-vdpkg-dom-emu.state" ]'
run dpkg -s "$PKG"
check "  dpkg -s: not installed" "$OUT" '[ "$RC" -ne 0 ] || ! out_has "Status: install ok installed"'

say "== dpkg -i again, dpkg -P without ocf:heartbeat:VirtualDomain"
expect_rc 0 "dpkg -i" timeout 300 dpkg -i "$DEB"
runtime_files
mv /usr/lib/ocf/resource.d/heartbeat/VirtualDomain "$VD_WORK/anchor"
expect_rc 0 "dpkg -P $PKG" timeout 300 dpkg -P "$PKG"
mv "$VD_WORK/anchor" /usr/lib/ocf/resource.d/heartbeat/VirtualDomain
snapshot > "$VD_WORK/after.txt"
diff "$VD_WORK/before.txt" "$VD_WORK/after.txt" > "$VD_WORK/left.txt" || true
check "  nothing left: the same files as before dpkg -i (drop-ins and state files included)" "$VD_WORK/left.txt" \
    '[ ! -s "$VD_WORK/left.txt" ]'
run dpkg -s "$PKG"
check "  dpkg -s: unknown package" "$OUT" '[ "$RC" -ne 0 ]'

say "== the machine outside the overlays"
unmount_all
run sha256sum "$AGENT"
check "the hand-installed agent of the other tests is unchanged" "$OUT" \
    '[ "$(sha256sum "$AGENT" 2>/dev/null || echo none)" = "$host_agent_sum" ]'
run dpkg -s "$PKG"
check "the machine's dpkg database never had $PKG" "$OUT" '[ "$RC" -ne 0 ]'
summary
