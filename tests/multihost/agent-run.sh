#!/bin/bash
# agent-run.sh - run one OCF agent action on simulated host nI with the environment pacemaker-execd
# gives it, killed (SIGKILL to its process group: the agent and its children, such as virsh) when
# the operation's timeout is up, as execd does.
# NAME=VALUE become OCF_RESKEY_NAME=VALUE, e.g. config=W/guest/g.xml hypervisor=qemu:///system
# migration_transport=tcp CRM_meta_migrate_source=n1 CRM_meta_migrate_target=n2 CRM_meta_timeout=15000.
# The timeout: CRM_meta_timeout if given (ms), else execd's default for the action as pcs creates
# it (start/stop 90 s, monitor 30 s, migrate_to 120 s, migrate_from 60 s, others 20 s).
# Also set: OCF_ROOT OCF_RA_VERSION_MAJOR/MINOR OCF_RESOURCE_INSTANCE ($RSC, default vm)
# OCF_RESOURCE_TYPE/PROVIDER OCF_EXIT_REASON_PREFIX OCF_RESKEY_crm_feature_set
# OCF_RESKEY_CRM_meta_on_node(_uuid) OCF_RESKEY_CRM_meta_name (not for a probe: a monitor without
# CRM_meta_interval) CRM_meta_record_pending=true (migrate_to) HA_LOGFILE/PCMK_logfile
# (WORKDIR/nI/log/agent.log) HA_debug HA_logfacility PCMK_service HA_cluster_type PATH LANG HOME.
# The agent's stdout and stderr pass through; the last line on stderr is
# "agent-run: rc=N time=S.mmm": exit status = the agent's, or 124 if it was killed at the timeout.
set -euo pipefail
[ $# -ge 4 ] || { echo "usage: $0 WORKDIR I AGENT_PATH ACTION [NAME=VALUE...]   (env RSC=vm)" >&2; exit 2; }
. "$(dirname "$0")/lib.sh"
load_env "$1"; i=$2; A=$3; ACT=$4; shift 4
[ -x "$A" ] || die "agent $A is not executable"
T=$(basename "$A"); P=$(basename "$(dirname "$A")")
case $ACT in start|stop) to=90000 ;; monitor) to=30000 ;; migrate_to) to=120000 ;; migrate_from) to=60000 ;; *) to=20000 ;; esac
probe=1; params=()
for kv in "$@"; do
    [[ $kv =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "not NAME=VALUE: $kv"
    case $kv in
        CRM_meta_timeout=*) to=${kv#*=}; [[ $to =~ ^[0-9]+$ ]] || die "bad $kv"; continue ;;
        CRM_meta_interval=*) [ "${kv#*=}" = 0 ] || probe=0 ;;
    esac
    params+=("OCF_RESKEY_$kv")
done
envs=(OCF_ROOT=/usr/lib/ocf OCF_RA_VERSION_MAJOR=1 OCF_RA_VERSION_MINOR=1
      OCF_RESOURCE_INSTANCE="${RSC:-vm}" OCF_RESOURCE_TYPE="$T" OCF_RESOURCE_PROVIDER="$P"
      OCF_EXIT_REASON_PREFIX=ocf-exit-reason: OCF_RESKEY_crm_feature_set=3.16.1
      OCF_RESKEY_CRM_meta_timeout="$to" OCF_RESKEY_CRM_meta_on_node="n$i" OCF_RESKEY_CRM_meta_on_node_uuid="$i"
      HA_LOGFILE="$W/n$i/log/agent.log" PCMK_logfile="$W/n$i/log/agent.log" HA_debug=0 HA_logfacility=none
      PCMK_service=pacemaker-execd HA_cluster_type=corosync
      PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root)
[ "$ACT" = monitor ] && [ $probe = 1 ] || envs+=(OCF_RESKEY_CRM_meta_name="$ACT")
[ "$ACT" != migrate_to ] || envs+=(OCF_RESKEY_CRM_meta_record_pending=true)
envs+=("${params[@]}")
secs=$(( (to + 999) / 1000 ))
echo "$(date '+%F %T') agent-run: n$i $T $ACT timeout ${to}ms" >> "$W/n$i/log/agent.log"
t0=$(date +%s%N)
set +e
# timeout -s KILL signals its whole process group: the agent and whatever it started (execd kills
# the operation's process group the same way); timeout itself then dies by SIGKILL too (137)
"$HERE/hosts-exec.sh" "$W" "$i" env -i "${envs[@]}" timeout -s KILL "$secs" "$A" "$ACT" &
wait $!
rc=$?
set -e
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $rc = 137 ] && [ $ms -ge $(( secs * 1000 )) ] && rc=124
printf 'agent-run: rc=%s time=%d.%03d\n' "$rc" $((ms / 1000)) $((ms % 1000)) >&2
echo "$(date '+%F %T') agent-run: n$i $T $ACT rc=$rc after ${ms}ms" >> "$W/n$i/log/agent.log"
exit $rc
