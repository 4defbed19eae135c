#!/usr/bin/env bash
# tests/tools/run.sh - the installed ocf:rust:VirtualDomain through Pacemaker's and
# resource-agents' own tools, no cluster needed. As root, libvirtd up (tests/lab/libvirtd-up.sh is
# called; it does nothing if libvirtd runs). Shares the shared test+unix:///default test driver
# (holding one connection open with tests/lab/testdrv-keeper.sh while it runs) and touches only
# domains, instances and CIB resources named vdtool-*.
#
#   1-3  ocf-tester (real qemu guest, test driver), the anchor as a reference, ocft
#        (the functions of ocf-tester/checks.sh)
#   4    crm_resource --validate/--force-start/-check/-stop without a cluster, exit codes and
#        exit reasons, --show-metadata, --list-agents
#   5    pcs -f with an offline CIB: create (ops copied from our <actions>), unknown/missing
#        parameters, shutdown_timeout, uniqueness, --agent-validation; CIB_file crm_resource -r
#   6    pcs: every parameter of the anchor is accepted for ocf:rust:VirtualDomain too
#
# Prints PASS/FAIL per check and last "N passed, M failed"; exit 1 if anything failed.
# Environment: see tests/tools/lib.sh. VD_TOOLS_ONLY="4 5 6" runs only those groups
# (group 1 covers 1-3).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../ocf-tester/checks.sh"

ONLY=${VD_TOOLS_ONLY:-1 4 5 6}
want() { [[ " $ONLY " == *" $1 "* ]]; }

# heartbeat-only pcs options: pcs adds trace_ra/trace_file to the allowed options only for the
# providers heartbeat and pacemaker (pcs/lib/resource_agent/facade.py), not for agents that do
# not declare them in their meta-data
PCS_HB_ONLY="trace_file trace_ra"

CR_RUST=(--class ocf --provider rust --agent VirtualDomain)

crm_resource_checks() {
    say "== crm_resource, no cluster"
    reset_domains
    local cfg=$VD_WORK/vdtool-td1.xml
    td_domain vdtool-td1 "$cfg"
    local R=("${CR_RUST[@]}" --option config="$cfg" --option hypervisor="$VD_TD_URI")
    expect_rc 0 "crm_resource --validate" timeout 60 crm_resource --validate "${R[@]}"
    expect_rc 0 "crm_resource --force-start" timeout 60 crm_resource --force-start "${R[@]}"
    check "  libvirt says vdtool-td1 is running" "$OUT" 'domain_active "$VD_TD_URI" vdtool-td1'
    expect_rc 0 "crm_resource --force-check (probe) while started" timeout 60 crm_resource --force-check "${R[@]}"
    expect_rc 0 "crm_resource --force-stop" timeout 60 crm_resource --force-stop "${R[@]}"
    check "  libvirt says vdtool-td1 is not running" "$OUT" '! domain_active "$VD_TD_URI" vdtool-td1'
    expect_rc 0 "crm_resource --force-stop again" timeout 60 crm_resource --force-stop "${R[@]}"
    expect_rc 7 "crm_resource --force-check when stopped" timeout 60 crm_resource --force-check "${R[@]}"

    local reason="Configuration file /no_such_file does not exist or not readable."
    expect_rc 5 "crm_resource --validate config=/no_such_file" \
        timeout 60 crm_resource --validate "${CR_RUST[@]}" --option config=/no_such_file --option hypervisor="$VD_TD_URI"
    check "  crm_resource's output has 'returned 5 (not installed' and our exit reason" "$OUT" \
        'out_has "returned 5 (not installed" && out_has "ocf-exit-reason:$reason"'

    # the same through --output-as xml (what pcs --agent-validation parses), side by side with the anchor
    local ours anchors
    run timeout 60 crm_resource --validate --output-as xml "${CR_RUST[@]}" --option config=/no_such_file --option hypervisor="$VD_TD_URI"
    tail -n +2 "$OUT" | sed '$d' > "$VD_WORK/validate-rust.xml"
    ours=$(xp "$VD_WORK/validate-rust.xml" '//agent-status/@code')"|$(xp "$VD_WORK/validate-rust.xml" '//agent-status/@reason')|$(xp "$VD_WORK/validate-rust.xml" '//command/output[@source="stderr"]')"
    check "crm_resource --validate --output-as xml: code 5 and our exit reason on stderr" "$OUT" \
        '[[ $ours == "5|"*"|"*"ocf-exit-reason:$reason"* ]]'
    run timeout 60 crm_resource --validate --output-as xml --class ocf --provider heartbeat --agent VirtualDomain \
        --option config=/no_such_file --option hypervisor="$VD_TD_URI"
    tail -n +2 "$OUT" | sed '$d' > "$VD_WORK/validate-anchor.xml"
    anchors=$(xp "$VD_WORK/validate-anchor.xml" '//agent-status/@code')"|$(xp "$VD_WORK/validate-anchor.xml" '//agent-status/@reason')|$(xp "$VD_WORK/validate-anchor.xml" '//command/output[@source="stderr"]')"
    printf 'ours:   %s\nanchor: %s\n' "$ours" "$anchors" > "$VD_WORK/validate-cmp.txt"
    check "  same code, reason and exit-reason lines as the anchor" "$VD_WORK/validate-cmp.txt" '[ "$ours" = "$anchors" ]'

    run timeout 30 crm_resource --show-metadata ocf:rust:VirtualDomain
    tail -n +2 "$OUT" | sed '$d' > "$VD_WORK/md-crm.xml"
    timeout 10 "$VD_AGENT" meta-data > "$VD_WORK/md-agent.xml" 2>/dev/null || true
    check "crm_resource --show-metadata ocf:rust:VirtualDomain = our meta-data, byte for byte" "$OUT" \
        '[ "$RC" -eq 0 ] && [ -s "$VD_WORK/md-agent.xml" ] && cmp -s "$VD_WORK/md-crm.xml" "$VD_WORK/md-agent.xml"'
    run timeout 30 crm_resource --list-agents ocf:rust
    check "crm_resource --list-agents ocf:rust lists VirtualDomain" "$OUT" \
        '[ "$RC" -eq 0 ] && tail -n +2 "$OUT" | grep -x VirtualDomain >/dev/null'
}

pcs_checks() {
    say "== pcs -f, offline CIB"
    reset_domains
    local cib=$VD_WORK/cib.xml p='//primitive[@id="vdtool-vm"]'
    td_domain vdtool-td1 "$VD_WORK/vdtool-td1.xml"
    td_domain vdtool-td2 "$VD_WORK/vdtool-td2.xml"
    run timeout 30 cibadmin --empty
    tail -n +2 "$OUT" | sed '$d' > "$cib"
    verdict "cibadmin --empty > cib.xml" "$RC" "$OUT"

    expect_rc 0 "pcs -f cib.xml resource create vdtool-vm ocf:rust:VirtualDomain ... meta allow-migrate=true" \
        timeout 60 pcs -f "$cib" resource create vdtool-vm ocf:rust:VirtualDomain \
        config="$VD_WORK/vdtool-td1.xml" hypervisor="$VD_TD_URI" meta allow-migrate=true
    local got
    got=$(for op in start stop monitor migrate_from migrate_to reload-agent; do
              printf '%s:%s/%s ' "$op" "$(xp "$cib" "$p/operations/op[@name='$op']/@interval")" \
                  "$(xp "$cib" "$p/operations/op[@name='$op']/@timeout")"
          done)"n=$(xp "$cib" "count($p/operations/op)") meta=$(xp "$cib" "$p/meta_attributes/nvpair[@name='allow-migrate']/@value")"
    printf 'got:  %s\n' "$got" > "$VD_WORK/ops.txt"
    # (pcs copies every action but meta-data, status and validate-all: OCF 1.1's reload-agent too)
    check "  CIB ops: start 90s, stop 90s, monitor 10s/30s, migrate_from 60s, migrate_to 120s, reload-agent 20s, nothing else" "$VD_WORK/ops.txt" \
        '[ "$got" = "start:0s/90s stop:0s/90s monitor:10s/30s migrate_from:0s/60s migrate_to:0s/120s reload-agent:0s/20s n=6 meta=true" ]'

    expect_rc 1 "pcs create with an unknown parameter (bogus_param=1)" \
        timeout 60 pcs -f "$cib" resource create vdtool-bad1 ocf:rust:VirtualDomain config="$VD_WORK/vdtool-bad1.xml" bogus_param=1
    check "  pcs says: invalid resource option 'bogus_param'" "$OUT" 'out_has "invalid resource option '"'bogus_param'"'"'
    expect_rc 1 "pcs create without config" \
        timeout 60 pcs -f "$cib" resource create vdtool-bad2 ocf:rust:VirtualDomain hypervisor="$VD_TD_URI"
    check "  pcs says: required resource option 'config' is missing" "$OUT" 'out_has "required resource option '"'config'"' is missing"'
    expect_rc 1 "pcs create with the config of vdtool-vm again (config is unique)" \
        timeout 60 pcs -f "$cib" resource create vdtool-bad3 ocf:rust:VirtualDomain config="$VD_WORK/vdtool-td1.xml"
    check "  pcs says: ... is not unique" "$OUT" 'out_has "is not unique"'
    expect_rc 0 "pcs create vdtool-vm2 ... shutdown_timeout=20 (our added parameter)" \
        timeout 60 pcs -f "$cib" resource create vdtool-vm2 ocf:rust:VirtualDomain config="$VD_WORK/vdtool-td2.xml" shutdown_timeout=20
    local st; st=$(xp "$cib" '//primitive[@id="vdtool-vm2"]/instance_attributes/nvpair[@name="shutdown_timeout"]/@value')
    check "  shutdown_timeout=20 is in the CIB" "$OUT" '[ "$st" = 20 ]'

    expect_rc 0 "CIB_file crm_resource -r vdtool-vm --force-start" env CIB_file="$cib" timeout 60 crm_resource -r vdtool-vm --force-start
    check "  libvirt says vdtool-td1 is running" "$OUT" 'domain_active "$VD_TD_URI" vdtool-td1'
    expect_rc 0 "CIB_file crm_resource -r vdtool-vm --force-check" env CIB_file="$cib" timeout 60 crm_resource -r vdtool-vm --force-check
    expect_rc 0 "CIB_file crm_resource -r vdtool-vm --force-stop" env CIB_file="$cib" timeout 60 crm_resource -r vdtool-vm --force-stop
    expect_rc 7 "CIB_file crm_resource -r vdtool-vm --force-check after stop" env CIB_file="$cib" timeout 60 crm_resource -r vdtool-vm --force-check

    expect_rc 1 "pcs create --agent-validation with config=.../nope.xml" \
        timeout 60 pcs -f "$cib" resource create vdtool-bad4 ocf:rust:VirtualDomain \
        config="$VD_WORK/nope.xml" hypervisor="$VD_TD_URI" --agent-validation
    check "  pcs shows our exit reason" "$OUT" \
        'out_has "Validation result from agent" && out_has "ocf-exit-reason:Configuration file $VD_WORK/nope.xml does not exist or not readable."'
    local nbad; nbad=$(xp "$cib" 'count(//primitive[@id="vdtool-bad4"])')
    check "  and did not create the resource" "$OUT" '[ "$nbad" = 0 ]'
    td_domain vdtool-td3 "$VD_WORK/vdtool-td3.xml"
    expect_rc 0 "pcs create --agent-validation with a good config" \
        timeout 60 pcs -f "$cib" resource create vdtool-vm3 ocf:rust:VirtualDomain \
        config="$VD_WORK/vdtool-td3.xml" hypervisor="$VD_TD_URI" --agent-validation
}

# pcs_allowed CIB AGENT: the option names pcs allows for AGENT, one per line (from its error text)
pcs_allowed() {
    timeout 60 pcs -f "$1" resource create vdtool-probe "$2" config="$VD_WORK/vdtool-probe.xml" no_such_option_x=1 2>&1 |
        sed -n "s/.*allowed options are: //p" | grep -o "'[^']*'" | tr -d "'" | sort -u || true
}

interchange_checks() {
    say "== pcs: the anchor's parameters for ocf:rust:VirtualDomain"
    local cib=$VD_WORK/cib6.xml n name
    timeout 30 cibadmin --empty > "$cib"
    # plausible values for every anchor parameter (config is set per resource)
    local -A val=(
        [hypervisor]=qemu:///system [force_stop]=false [migration_transport]=ssh
        [migration_user]=root [migration_downtime]=500 [migration_speed]=1000
        [migration_network_suffix]=-mig [migrateuri]=tcp://%n-mig:49152 [migrate_options]=--unsafe
        [monitor_scripts]=/usr/local/bin/vm-check [autoset_utilization_cpu]=true
        [autoset_utilization_host_memory]=true [autoset_utilization_hv_memory]=true
        [unset_utilization_cpu]=false [unset_utilization_host_memory]=false
        [unset_utilization_hv_memory]=false [migrateport]=49152 [remoteuri]=qemu+ssh://%n/system
        [save_config_on_stop]=false [sync_config_on_stop]=false [snapshot]=/var/lib/libvirt/vd-snapshots
        [backingfile]=/var/lib/libvirt/images/base.qcow2 [stateless]=false [copyindirs]=/etc/libvirt/qemu
        [shutdown_mode]=acpi [start_resources]=false
    )
    run env OCF_ROOT=/usr/lib/ocf timeout 10 "$VD_ANCHOR" meta-data
    local names=() args=() missing=()
    mapfile -t names < <(tail -n +2 "$OUT" | sed '$d' | timeout 10 xmllint --xpath '//parameters/parameter/@name' - 2>/dev/null |
                         grep -o '"[^"]*"' | tr -d '"')
    check "the anchor has 27 parameters (${#names[@]})" "$OUT" '[ ${#names[@]} -eq 27 ]'
    for name in "${names[@]}"; do
        [ "$name" = config ] && continue
        if [ -n "${val[$name]+x}" ]; then args+=("$name=${val[$name]}"); else missing+=("$name"); fi
    done
    [ ${#missing[@]} -eq 0 ] || say "  (no value in this script for: ${missing[*]})"
    check "  a value for each of them in this script" "$OUT" '[ ${#missing[@]} -eq 0 ]'

    expect_rc 0 "pcs create vdtool-hb ocf:heartbeat:VirtualDomain with all ${#names[@]} anchor parameters" \
        timeout 60 pcs -f "$cib" resource create vdtool-hb ocf:heartbeat:VirtualDomain config="$VD_WORK/vdtool-hb.xml" "${args[@]}"
    expect_rc 0 "pcs create vdtool-rs ocf:rust:VirtualDomain with the same ${#names[@]} parameters" \
        timeout 60 pcs -f "$cib" resource create vdtool-rs ocf:rust:VirtualDomain config="$VD_WORK/vdtool-rs.xml" "${args[@]}"

    # the two primitives differ only in provider and config: same nvpairs, same ops
    local dump=$VD_WORK/interchange.txt hb rs
    dump_rsc() {
        local q="//primitive[@id='$1']" i
        n=$(xp "$cib" "count($q/instance_attributes/nvpair)")
        for ((i = 1; i <= n; i++)); do
            printf 'param %s=%s\n' "$(xp "$cib" "$q/instance_attributes/nvpair[$i]/@name")" "$(xp "$cib" "$q/instance_attributes/nvpair[$i]/@value")"
        done | grep -v '^param config=' | sort
        n=$(xp "$cib" "count($q/operations/op)")
        for ((i = 1; i <= n; i++)); do
            printf 'op %s interval=%s timeout=%s\n' "$(xp "$cib" "$q/operations/op[$i]/@name")" \
                "$(xp "$cib" "$q/operations/op[$i]/@interval")" "$(xp "$cib" "$q/operations/op[$i]/@timeout")"
        done | sort
    }
    hb=$(dump_rsc vdtool-hb); rs=$(dump_rsc vdtool-rs)
    { echo "--- heartbeat"; echo "$hb"; echo "--- rust"; echo "$rs"; } > "$dump"
    local nparam; nparam=$(grep -c '^param ' <<<"$rs" || true)
    # rust's OCF 1.1 reload-agent is the one op more (pcs copies it from <actions>)
    local reload_op="op reload-agent interval=0s timeout=20s" rs_anchor_ops
    rs_anchor_ops=$(grep -vxF "$reload_op" <<<"$rs" || true)
    check "  both primitives carry the same 26 other parameters and the same ops (rust: and reload-agent)" "$dump" \
        '[ -n "$hb" ] && [ "$hb" = "$rs_anchor_ops" ] && grep -qxF "$reload_op" <<<"$rs" && [ "$nparam" -eq 26 ]'

    # every option name pcs accepts for heartbeat is accepted for rust (but pcs's heartbeat-only ones)
    local cmp=$VD_WORK/options.txt only_hb only_rs
    pcs_allowed "$cib" ocf:heartbeat:VirtualDomain > "$VD_WORK/opts-hb.txt"
    pcs_allowed "$cib" ocf:rust:VirtualDomain > "$VD_WORK/opts-rs.txt"
    only_hb=$(comm -23 "$VD_WORK/opts-hb.txt" "$VD_WORK/opts-rs.txt" | tr '\n' ' ' | sed 's/ $//')
    only_rs=$(comm -13 "$VD_WORK/opts-hb.txt" "$VD_WORK/opts-rs.txt" | tr '\n' ' ' | sed 's/ $//')
    printf 'pcs options: heartbeat %s, rust %s\nonly heartbeat: %s\nonly rust: %s\n' \
        "$(wc -l < "$VD_WORK/opts-hb.txt")" "$(wc -l < "$VD_WORK/opts-rs.txt")" "$only_hb" "$only_rs" > "$cmp"
    local extra=() o
    for o in $only_hb; do [[ " $PCS_HB_ONLY " == *" $o "* ]] || extra+=("$o"); done
    check "  every option pcs accepts for heartbeat is accepted for rust (except pcs's own heartbeat-only: ${only_hb:-none})" "$cmp" \
        '[ -s "$VD_WORK/opts-hb.txt" ] && [ ${#extra[@]} -eq 0 ]'
    check "  rust adds exactly its documented parameters" "$cmp" \
        '[ "$only_rs" = "double_start_nodes double_start_protection migration_auto_converge migration_completion_timeout migration_mapping migration_max_downtime migration_mode migration_progress_timeout migration_timeout_action persistent shutdown_timeout" ]'
    # a CIB switched from heartbeat to rust by hand (not through pcs) may still carry trace_ra/trace_file
    td_domain vdtool-td1 "$VD_WORK/vdtool-td1.xml"
    expect_rc 0 "crm_resource --validate ocf:rust:VirtualDomain with trace_ra=1 trace_file=... (ignored, not an error)" \
        timeout 60 crm_resource --validate "${CR_RUST[@]}" --option config="$VD_WORK/vdtool-td1.xml" \
        --option hypervisor="$VD_TD_URI" --option trace_ra=1 --option trace_file="$VD_WORK/trace"
}

trap tools_exit EXIT
trap 'exit 130' INT TERM
tools_setup
if want 1; then ocf_tester_checks; anchor_checks; ocft_checks; fi
if want 4; then crm_resource_checks; fi
if want 5; then pcs_checks; fi
if want 6; then interchange_checks; fi
tools_cleanup
summary
