#!/bin/bash
# install-deps.sh - install what the build and the tests of ocf:rust:VirtualDomain need on a
# fresh Debian 12 (bookworm). Rust/cargo is NOT installed here (rustup provides it).
#
# qemu-utils trap: machine images may carry qemu-utils 1:10.x from bookworm-backports without a
# backports source; that blocks Debian 12's qemu-system-x86 7.2. So qemu-utils and
# qemu-system-x86 are pinned to the newest version a non-backports bookworm source offers
# (read at run time with apt-cache madison) and a downgrade is allowed.
# No daemon gets started by these packages here (no systemd).
set -euo pipefail
usage() { echo "usage: $0 [--no-update]" >&2; exit 2; }
UPDATE=1
case $# in
    0) ;;
    1) [ "$1" = --no-update ] || usage; UPDATE=0 ;;
    *) usage ;;
esac
[ "$(id -u)" -eq 0 ] || { echo "install-deps: must run as root" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -q -y -o DPkg::Lock::Timeout=300)

[ $UPDATE -eq 0 ] || "${APT[@]}" update

# bookworm_versions PKG: versions offered by bookworm, bookworm-updates or bookworm-security
bookworm_versions() {
    apt-cache madison "$1" | awk -F' *[|] *' '$3 ~ / bookworm(-updates|-security)?\// {print $2}'
}
QV=
for v in $(bookworm_versions qemu-system-x86); do      # newest first, but compare properly
    bookworm_versions qemu-utils | grep -xF "$v" >/dev/null || continue
    if [ -z "$QV" ] || dpkg --compare-versions "$v" gt "$QV"; then QV=$v; fi
done
[ -n "$QV" ] || { echo "install-deps: no bookworm qemu-system-x86/qemu-utils version in the apt lists (apt-get update?)" >&2; exit 1; }
echo "install-deps: qemu $QV (installed qemu-utils: $(dpkg-query -W -f '${Version}' qemu-utils 2>/dev/null || echo none))"

PKGS=(
    # build (pacemaker-dev: the headers csrc/libcib_shim.c is compiled against)
    libvirt-dev pacemaker-dev pkg-config gcc libc6-dev make
    # runtime / tests
    libvirt-daemon-system libvirt-clients libvirt-daemon-driver-lxc
    "qemu-system-x86=$QV" "qemu-utils=$QV"
    busybox-static cpio linux-image-amd64 kmod binutils libxml2-utils
    resource-agents pacemaker pacemaker-cli-utils pcs
    hyperfine strace python3 util-linux iproute2 procps dnsmasq-base
    # the Debian package (tests/package): lintian, man; dpkg-shlibdeps (dpkg-dev) for cargo-deb
    lintian man-db dpkg-dev
    # the RPM (tests/package/rpm.sh): rpmbuild, rpm2cpio, rpmlint
    rpm rpmlint
    # crmsh, SUSE's cluster shell (tests/tools/run.sh group 7)
    crmsh
    # the multihost lab (tests/multihost) needs nothing more: ip (iproute2), nsenter, unshare,
    # setsid, flock (util-linux), timeout (coreutils), and veth + bridge support in the kernel
)
"${APT[@]}" install --no-install-recommends --allow-downgrades "${PKGS[@]}"

# Pacemaker Remote for the guest nodes (tests/guest_nodes.rs): pacemaker-remote conflicts with
# pacemaker, so it is only downloaded and unpacked under /var/cache/vd-lab, never installed
bash "$(dirname "$0")/../multihost/remoted-fetch.sh" >/dev/null
# qemu-ga for the guest-agent guests (make-guest.sh qga:SECS, tests/guest_health.rs): unpacked only
bash "$(dirname "$0")/qga-fetch.sh" >/dev/null

# check
missing=()
for b in virsh libvirtd virtlogd qemu-system-x86_64 qemu-img busybox cpio modprobe readelf xmllint \
         crm_resource crm_mon crm pcs rpmbuild rpmlint rpm2cpio hyperfine strace gcc pkg-config python3 nsenter unshare setpriv \
         ip ps dnsmasq setsid flock timeout lintian man dpkg-shlibdeps; do
    command -v "$b" >/dev/null || missing+=("$b")
done
[ -x /usr/lib/ocf/resource.d/heartbeat/VirtualDomain ] || missing+=(ocf:heartbeat:VirtualDomain)
pkg-config --exists libvirt || missing+=(libvirt.pc)
ls /boot/vmlinuz-* >/dev/null 2>&1 || missing+=(/boot/vmlinuz-*)
ldd /bin/busybox >/dev/null 2>&1 && missing+=("static /bin/busybox")
[ ${#missing[@]} -eq 0 ] || { echo "install-deps: still missing: ${missing[*]}" >&2; exit 1; }
command -v cargo >/dev/null || [ -x /root/.cargo/bin/cargo ] ||
    echo "install-deps: note: no cargo found (install Rust with rustup)" >&2
echo "install-deps: ok (libvirt $(virsh --version), $(qemu-system-x86_64 --version | head -n 1))"
