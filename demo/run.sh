#!/usr/bin/env bash
# The demo: ocf:rust:VirtualDomain driving real tiny qemu guests (Debian kernel + busybox
# initramfs, TCG), printing each step's exit code and wall time:
#   1. one host: validate-all, probe, start, monitor, status, stop, monitor, stop again;
#   2. two lab hosts (network namespaces, one libvirtd each: tests/multihost): start on n1, a live
#      migration n1 -> n2 (migrate_to on n1, migrate_from on n2) with the guest's console tick
#      shown before and after (same boot, later tick: it kept running), stop on n2.
# Run as root on Debian 12; installs what it needs (its log: $WORK/install.log).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
WORK=${DEMO_DIR:-/srv/vd-demo}
NAME=vd-demo-guest
mkdir -p "$WORK"; chmod 755 "$WORK"

# quiet_or_fail LABEL CMD...: run CMD with its output in $WORK/LABEL.log; on failure show it
quiet_or_fail() {
    local label=$1; shift
    if ! "$@" >"$WORK/$label.log" 2>&1; then
        echo "demo: $label failed:" >&2; tail -n 30 "$WORK/$label.log" >&2; exit 1
    fi
}
echo "ocf:rust:VirtualDomain demo (setting up: packages, build, libvirtd, guest; logs in $WORK)"
[ "${SKIP_INSTALL:-0}" = 1 ] || quiet_or_fail install bash tests/lab/install-deps.sh
quiet_or_fail build cargo build --release --locked
AGENT=$PWD/target/release/VirtualDomain
quiet_or_fail libvirtd bash tests/lab/libvirtd-up.sh
quiet_or_fail guest bash tests/lab/make-guest.sh "$NAME" "$WORK" obey

export OCF_ROOT=/usr/lib/ocf OCF_RA_VERSION_MAJOR=1 OCF_RA_VERSION_MINOR=1
export OCF_RESOURCE_INSTANCE=vd-demo HA_LOGFACILITY=none HA_RSCTMP=$WORK/rsctmp
export OCF_RESKEY_config=$WORK/$NAME.xml OCF_RESKEY_hypervisor=qemu:///system
export OCF_RESKEY_CRM_meta_timeout=60000

# show LABEL RC MS OUTPUT-FILE: one step's line
show() {
    printf '%-34s rc=%d  %5d ms  %s\n' "$1" "$2" "$3" "$(grep -h 'ocf-exit-reason' "$4" | tail -n1)"
}
step() {
    local label=$1; shift
    local t0=${EPOCHREALTIME/[.,]/} rc=0
    env "$@" "$AGENT" "${label%% *}" >"$WORK/last.out" 2>&1 || rc=$?
    show "$label" "$rc" $(( (${EPOCHREALTIME/[.,]/} - t0) / 1000 )) "$WORK/last.out"
}

echo
echo "== one host: domain $NAME ($OCF_RESKEY_config)"
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

echo
echo "== two hosts n1, n2 (network namespaces, one libvirtd each): a live migration"
M=tests/multihost LAB=$WORK/lab G=vd-demo-mig
export PREFIX=vdd NET=10.213.9 MIGNET=10.213.109
trap 'bash "$M/hosts-down.sh" "$LAB" >/dev/null 2>&1 || true' EXIT
quiet_or_fail hosts bash "$M/hosts-up.sh" 2 "$LAB"
quiet_or_fail migration-guest bash "$M/guest-make.sh" "$LAB" "$G"
P=(config="$LAB/guest/$G.xml" hypervisor=qemu:///system migration_transport=tcp
   autoset_utilization_cpu=false autoset_utilization_hv_memory=false autoset_utilization_host_memory=false)
# on HOST: ACTION through the lab's execd-like runner (agent-run.sh prints rc and time last);
# the exit code must be WANT (default 0)
lab_step() {
    local label=$1 host=$2 action=$3; shift 3
    local rc=0 ms
    RSC=vd-demo-mig bash "$M/agent-run.sh" "$LAB" "$host" "$AGENT" "$action" "${P[@]}" "$@" \
        >"$WORK/last.out" 2>&1 || rc=$?
    ms=$(sed -n 's/^agent-run: rc=[0-9]* time=\([0-9]*\)\.\([0-9]*\)$/\1\2/p' "$WORK/last.out" | tail -n 1)
    show "$label" "$rc" "$((10#${ms:-0}))" "$WORK/last.out"
    [ "$rc" -eq "${WANT:-0}" ] || { tail -n 20 "$WORK/last.out" >&2; exit 1; }
}
lab_step "start on n1" 1 start
tick=$(bash "$M/guest-tick.sh" --live --wait 60 "$LAB" 1 "$G")
echo "  guest console on n1: boot ${tick% *}, tick ${tick#* }"
lab_step "migrate_to on n1 (target n2)" 1 migrate_to CRM_meta_migrate_source=n1 CRM_meta_migrate_target=n2
lab_step "migrate_from on n2" 2 migrate_from CRM_meta_migrate_source=n1 CRM_meta_migrate_target=n2
after=$(bash "$M/guest-tick.sh" --wait 30 --boot "${tick% *}" --after "${tick#* }" "$LAB" 2 "$G")
echo "  guest console on n2: boot ${after% *}, tick ${after#* } (the same boot, later: it kept running)"
lab_step "monitor on n2 (interval 10 s)" 2 monitor CRM_meta_interval=10000
WANT=7 lab_step "probe on n1: not running" 1 monitor
lab_step "stop on n2" 2 stop
