#!/usr/bin/env bash
# The demo: a tiny real qemu guest (Debian kernel + busybox initramfs,
# TCG) driven through validate-all, start, monitor, stop and a final
# monitor by ocf:rust:VirtualDomain, printing each step's exit code and
# wall time. Run as root on Debian 12; installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
WORK=${DEMO_DIR:-/srv/vd-demo}
NAME=vd-demo-guest

[ "${SKIP_INSTALL:-0}" = 1 ] || bash tests/lab/install-deps.sh >/dev/null
cargo build --release --locked -q
AGENT=$PWD/target/release/VirtualDomain
bash tests/lab/libvirtd-up.sh >/dev/null
mkdir -p "$WORK"; chmod 755 "$WORK"
bash tests/lab/make-guest.sh "$NAME" "$WORK" obey >/dev/null

export OCF_ROOT=/usr/lib/ocf OCF_RA_VERSION_MAJOR=1 OCF_RA_VERSION_MINOR=1
export OCF_RESOURCE_INSTANCE=vd-demo HA_LOGFACILITY=none HA_RSCTMP=$WORK/rsctmp
export OCF_RESKEY_config=$WORK/$NAME.xml OCF_RESKEY_hypervisor=qemu:///system
export OCF_RESKEY_CRM_meta_timeout=60000

step() {
    local label=$1; shift
    local t0=${EPOCHREALTIME/[.,]/} rc=0
    env "$@" "$AGENT" "${label%% *}" >"$WORK/last.out" 2>&1 || rc=$?
    local ms=$(( (${EPOCHREALTIME/[.,]/} - t0) / 1000 ))
    printf '%-28s rc=%d  %5d ms  %s\n' "$label" "$rc" "$ms" \
        "$(grep -h 'ocf-exit-reason' "$WORK/last.out" | tail -n1)"
}

echo "ocf:rust:VirtualDomain demo: domain $NAME ($OCF_RESKEY_config)"
step "meta-data"
step "validate-all"
step "monitor (probe)"
step "start"
step "monitor (interval 10 s)" OCF_RESKEY_CRM_meta_interval=10000
step "status"
bash tests/lab/wait-guest.sh "$NAME" "$WORK" 60 | sed 's/^/  guest console: /'
step "stop"
step "monitor (interval 10 s)" OCF_RESKEY_CRM_meta_interval=10000
step "stop (again)"
