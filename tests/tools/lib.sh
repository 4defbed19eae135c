# tests/tools/lib.sh - shared by tests/tools/run.sh and ocf-tester/checks.sh (source it; bash).
# Check bookkeeping (pass/fail counters, the final "N passed, M failed" line), a work
# directory, the test-driver keeper, and a clean-up that undoes everything the checks made.
#
# Everything the checks create is named vdtool-*: domains on qemu:///system and on the shared
# test+unix:///default, resource instances, CIB resources. Only those are ever touched.
#
# Every call that can block (agents, virsh, pcs, crm_resource, cibadmin, ocf-tester, ocft, xmllint,
# the lab scripts) runs under `timeout`; only coreutils/grep/sed on local files do not.
#
# Environment:
#   VD_AGENT           agent under test (default: the installed /usr/lib/ocf/resource.d/rust/VirtualDomain)
#   VD_TOOLS_WORKDIR   work directory (default /srv/vd-tools; removed at the end). The ocft
#                      config (ocf-tester/ocft/VirtualDomain) names /srv/vd-tools/vdtool-ocft.xml.
#   VD_TOOLS_KEEP=1    keep the work directory (check outputs are in WORKDIR/out)
#   VD_TOOLS_VERBOSE=1 print every check's command and output, not only failing ones

VD_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
VD_LAB=$VD_REPO/tests/lab
VD_AGENT=${VD_AGENT:-/usr/lib/ocf/resource.d/rust/VirtualDomain}
VD_ANCHOR=/usr/lib/ocf/resource.d/heartbeat/VirtualDomain
VD_WORK=${VD_TOOLS_WORKDIR:-/srv/vd-tools}
VD_TD_URI=test+unix:///default
VD_QEMU_URI=qemu:///system
VD_KEEPER_PID=$VD_WORK/keeper.pid
VD_RSCTMP=${HA_RSCTMP:-/run/resource-agents}
VD_OCFT_VARLIB=/var/lib/resource-agents
# domains the checks may create (destroyed at clean-up if still there)
VD_QEMU_DOMAINS=(vdtool-g1)
VD_TD_DOMAINS=(vdtool-td1 vdtool-td2 vdtool-td3 vdtool-ocft)

VD_PASSED=0 VD_FAILED=0 VD_FAILED_NAMES=() VD_NCHECK=0
VD_T0=$SECONDS
VD_SETUP_DONE=0 VD_OCFT_VARLIB_EXISTED=1
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
export LC_ALL=C

say() { printf '%s\n' "$*"; }

pass() { VD_PASSED=$((VD_PASSED + 1)); printf 'PASS  %s\n' "$1"; }

# fail NAME [DETAIL-FILE]: count a failure; show the detail file's last lines
fail() {
    VD_FAILED=$((VD_FAILED + 1)); VD_FAILED_NAMES+=("$1")
    printf 'FAIL  %s\n' "$1"
    if [ -n "${2:-}" ] && [ -s "$2" ]; then sed -n '1,60p' "$2" | sed 's/^/      | /'; fi
}

# verdict NAME STATUS DETAIL-FILE: pass if STATUS is 0
verdict() { if [ "$2" -eq 0 ]; then pass "$1"; else fail "$1" "$3"; fi; }

# check NAME DETAIL-FILE 'CONDITION': pass if the shell condition (eval'd, so it sees the
# caller's variables) is true. Under set -e a bare failing test would end the script: use this.
check() {
    local __name=$1 __file=$2; shift 2
    if eval "$*"; then pass "$__name"; else fail "$__name" "$__file"; fi
}

# run CMD...: run it (the caller bounds it with timeout), output (stdout+stderr, in order) in
# $OUT, exit status in $RC. A header line with the command is written first.
run() {
    VD_NCHECK=$((VD_NCHECK + 1))
    OUT=$VD_WORK/out/$(printf '%03d' $VD_NCHECK).txt
    printf '$ %s\n' "$*" > "$OUT"
    RC=0
    "$@" >> "$OUT" 2>&1 || RC=$?
    printf '[exit status %d]\n' "$RC" >> "$OUT"
    if [ "${VD_TOOLS_VERBOSE:-0}" = 1 ]; then sed 's/^/      . /' "$OUT"; fi
}

# expect_rc WANT NAME CMD...: run CMD, the check passes if its exit status is WANT
expect_rc() {
    local want=$1 name=$2; shift 2
    run "$@"
    check "$name (rc $RC, want $want)" "$OUT" '[ "$RC" -eq "$want" ]'
}

# out_has FIXED-STRING: the last run's output contains it (the command header line excluded).
# grep reads all its input (no -q): with pipefail, tail killed by SIGPIPE after an early match
# would fail the check (it did, once, on a long pcs describe)
out_has() { tail -n +2 "$OUT" | grep -F -- "$1" >/dev/null; }

# xp FILE XPATH: the string value of XPATH in FILE (empty if none)
xp() { timeout 10 xmllint --xpath "string($2)" "$1" 2>/dev/null || true; }

# td_domain NAME FILE: a libvirt test-driver domain definition
td_domain() {
    cat > "$2" <<EOF
<domain type='test'>
  <name>$1</name>
  <memory unit='KiB'>8192</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
  </os>
</domain>
EOF
}

# domain_active URI NAME: the domain exists and is running (libvirt's own answer, not the agent's)
domain_active() {
    local st
    st=$(timeout 20 virsh -q -c "$1" domstate "$2" 2>/dev/null) || return 1
    [ "$st" = running ]
}

tools_setup() {
    [ "$(id -u)" -eq 0 ] || { echo "tools: must run as root" >&2; exit 2; }
    [ -x "$VD_AGENT" ] || { echo "tools: $VD_AGENT is not installed (see README: cargo build --release && install ...)" >&2; exit 2; }
    # WORKDIR is removed at the end: only accept an absolute path whose last part starts with vd
    [[ $VD_WORK == /?*/vd* && $VD_WORK != */ ]] || { echo "tools: VD_TOOLS_WORKDIR must look like /DIR/vd..." >&2; exit 2; }
    exec 8>/run/vd-tools.lock        # one run at a time (fixed names); closed for every child below
    flock -w 600 8 || { echo "tools: /run/vd-tools.lock busy for 600 s" >&2; exit 1; }
    mkdir -p "$VD_WORK"
    VD_SETUP_DONE=1
    # qemu runs as libvirt-qemu (every directory down to WORKDIR needs o+x); ocf-tester runs
    # meta-data as nobody
    chmod 755 "$VD_WORK"; [ "$(dirname "$VD_WORK")" != /srv ] || chmod 755 /srv
    rm -rf "$VD_WORK/out"; mkdir -p "$VD_WORK/out"
    [ -d "$VD_OCFT_VARLIB" ] || VD_OCFT_VARLIB_EXISTED=0
    if [ -x "$VD_REPO/target/release/VirtualDomain" ] && ! cmp -s "$VD_REPO/target/release/VirtualDomain" "$VD_AGENT"; then
        say "note: $VD_AGENT differs from target/release/VirtualDomain (testing the installed one)"
    fi
    timeout 90 bash "$VD_LAB/libvirtd-up.sh" 60 >/dev/null 8>&-
    timeout 40 bash "$VD_LAB/testdrv-keeper.sh" start "$VD_TD_URI" "$VD_KEEPER_PID" >/dev/null 8>&-
}

# reset_domains: destroy our domains if they run (each check group starts from "stopped", so a
# failure in one group does not cascade into the next)
reset_domains() {
    local d
    for d in "${VD_QEMU_DOMAINS[@]}"; do
        timeout 20 virsh -q -c "$VD_QEMU_URI" domstate "$d" >/dev/null 2>&1 &&
            timeout 20 virsh -q -c "$VD_QEMU_URI" destroy "$d" >/dev/null 2>&1
    done
    for d in "${VD_TD_DOMAINS[@]}"; do
        timeout 20 virsh -q -c "$VD_TD_URI" domstate "$d" >/dev/null 2>&1 &&
            timeout 20 virsh -q -c "$VD_TD_URI" destroy "$d" >/dev/null 2>&1
    done
    return 0
}

# clean-up: safe to call more than once and from a trap; never stops libvirtd
tools_cleanup() {
    set +e
    local f
    [ "$VD_SETUP_DONE" = 1 ] || return 0
    reset_domains
    timeout 20 bash "$VD_LAB/testdrv-keeper.sh" stop "$VD_TD_URI" "$VD_KEEPER_PID" >/dev/null 2>&1
    if [ -d "$VD_OCFT_VARLIB/ocft/cases" ]; then
        (cd / && timeout 30 ocft clean VirtualDomain >/dev/null 2>&1)
        rm -f "$VD_OCFT_VARLIB/ocft/cases/logs/VirtualDomain.log"
    fi
    if [ "$VD_OCFT_VARLIB_EXISTED" = 0 ] && [ -d "$VD_OCFT_VARLIB" ]; then
        find "$VD_OCFT_VARLIB" -depth -type d -empty -delete 2>/dev/null
    fi
    # the agent's per-instance files: instances named vdtool-*, and crm_resource's fixed
    # instance "test" only while it still names one of our domains
    rm -f "$VD_RSCTMP"/VirtualDomain-vdtool-*
    for f in "$VD_RSCTMP"/VirtualDomain-test.*; do
        [ -f "$f" ] && grep -q '^vdtool-' "$f" 2>/dev/null && rm -f "$f"
    done
    if [ "${VD_TOOLS_KEEP:-0}" = 1 ]; then
        say "kept $VD_WORK"
    else
        rm -rf "$VD_WORK"
    fi
    VD_SETUP_DONE=0
    exec 8>&-
}

# EXIT trap: clean up; if the script ended before its summary (an error under set -e, a signal),
# count that as a failure and still print the summary line
VD_SUMMARY_DONE=0
tools_exit() {
    local rc=$?
    tools_cleanup
    if [ "$VD_SUMMARY_DONE" = 0 ]; then
        fail "the script itself ended early (exit status $rc)"
        summary || true
        exit $((rc == 0 ? 1 : rc))
    fi
}

# summary: the last line, exactly "N passed, M failed"; returns 1 if anything failed
summary() {
    if [ "$VD_FAILED" -gt 0 ]; then
        say "failed checks:"; printf '  - %s\n' "${VD_FAILED_NAMES[@]}"
    fi
    say "took $((SECONDS - VD_T0)) s"
    VD_SUMMARY_DONE=1
    printf '%d passed, %d failed\n' "$VD_PASSED" "$VD_FAILED"
    [ "$VD_FAILED" -eq 0 ]
}
