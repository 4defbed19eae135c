#!/bin/bash
# pcmk-up.sh - corosync + Pacemaker on simulated hosts of a hosts-up.sh lab: a real cluster whose
# nodes are the hosts n1..nN (node name = host name, knet over eth0, no crypto).
#   pcmk-up.sh WORKDIR [I...]   start the cluster stack on the hosts given (default: every member)
#   env MEMBERS="1 2 3"         the cluster's members (corosync nodelist; default every host);
#                               a single member is a one-node cluster
#       TOKEN (corosync token, ms; 1000)
#       PCMK_debug (passed to Pacemaker's daemons, e.g. pacemaker-execd: its debug lines, such
#                   as each recurring monitor's execution time; default no)
# A node whose CIB is empty gets a seeded one, as `pcs cluster setup` + the usual lab settings
# would make it: stonith-enabled=false (the lab has no fence device: a test powers a node off with
# host-kill.sh instead), dc-deadtime=5s, rsc_defaults resource-stickiness=1. Quorum stays on
# (no-quorum-policy default): a one-node cluster has quorum by itself, two of three nodes too.
# Waits (at most 120 s) until every started node sees every started node online and a DC.
# Files: the host's /etc/corosync/corosync.conf (WORKDIR/nI/etc-corosync/), logs
# WORKDIR/nI/log/{corosync,pacemaker}.log, PIDs (in-host)
# /run/lab/{corosync,pacemakerd}.pid, scheduler inputs WORKDIR/nI/pacemaker/pengine/.
# Run cluster tools on a node with hosts-exec.sh WORKDIR I pcs|crm_mon|crm_resource ...
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 WORKDIR [I...]   (env MEMBERS, TOKEN)" >&2; exit 2; }
. "$(dirname "$0")/lib.sh"
drop_inherited_fds
need_root
load_env "$1"; shift
MEMBERS=${MEMBERS:-$(seq 1 "$N" | tr '\n' ' ')}
NODES=("$@"); [ ${#NODES[@]} -gt 0 ] || read -r -a NODES <<< "$MEMBERS"
for i in $MEMBERS "${NODES[@]}"; do [[ $i =~ ^[1-9]$ ]] && [ "$i" -le "$N" ] || die "no host n$i"; done
for i in "${NODES[@]}"; do [[ " $MEMBERS " == *" $i "* ]] || die "n$i is not a member ($MEMBERS)"; done

nodelist=""
for j in $MEMBERS; do nodelist+="    node {
        ring0_addr: $NET.$j
        name: n$j
        nodeid: $j
    }
"; done
seed=$W/cib-seed.xml
cibadmin --empty > "$seed"
for kv in stonith-enabled=false dc-deadtime=5s; do
    CIB_file=$seed crm_attribute --type crm_config --name "${kv%%=*}" --update "${kv#*=}" >/dev/null
done
# (crm_attribute --type rsc_defaults cannot write a CIB file in 2.1.5; pcs -f can)
pcs -f "$seed" resource defaults update resource-stickiness=1 >/dev/null 2>&1

for i in "${NODES[@]}"; do
    d=$W/n$i
    ! X "$i" sh -c 'p=$(cat /run/lab/pacemakerd.pid 2>/dev/null) && kill -0 "$p" 2>/dev/null' ||
        die "n$i: pacemakerd already runs"
    [ -n "$(ls -A "$d/pacemaker/cib")" ] ||
        install -o hacluster -g haclient -m 0600 "$seed" "$d/pacemaker/cib/cib.xml"
    mkdir -p "$d/etc-corosync"
    cat > "$d/etc-corosync/corosync.conf" <<CONF
totem {
    version: 2
    cluster_name: vdlab
    transport: knet
    crypto_cipher: none
    crypto_hash: none
    token: ${TOKEN:-1000}
}
nodelist {
$nodelist}
quorum {
    provider: corosync_votequorum
}
logging {
    to_logfile: yes
    logfile: $d/log/corosync.log
    to_syslog: no
    to_stderr: no
    timestamp: on
}
CONF
    X "$i" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root D="$d" \
        PCMK_debug="${PCMK_debug:-no}" sh -c '
        setsid corosync -f > "$D/log/corosync.stdout" 2>&1 < /dev/null &
        echo $! > /run/lab/corosync.pid
        for t in $(seq 1 100); do corosync-cfgtool -s >/dev/null 2>&1 && break; sleep 0.1; done
        corosync-cfgtool -s >/dev/null 2>&1 || { cat "$D/log/corosync.stdout" >&2; exit 1; }
        PCMK_logfile=$D/log/pacemaker.log PCMK_logfacility=none \
            setsid pacemakerd -f > "$D/log/pacemakerd.stdout" 2>&1 < /dev/null &
        echo $! > /run/lab/pacemakerd.pid' || die "n$i: corosync did not come up (see $d/log/)"
done

want=$(printf 'n%s ' "${NODES[@]}")
all_online() {
    local i out online n
    for i in "${NODES[@]}"; do
        out=$(X "$i" timeout 10 crm_mon -1 2>/dev/null) || return 1
        [[ $out == *"Current DC: n"* ]] || return 1
        online=$(sed -n 's/.*Online: \[ \(.*\) \].*/\1/p' <<< "$out")
        for n in $want; do [[ " $online " == *" $n "* ]] || return 1; done
    done
}
wait_for 120 all_online || die "cluster: not every node of ${want}online after 120 s (see $W/n*/log/)"
echo "cluster: ${want}online after $(el) s"
