#!/bin/bash
# busy-job.sh - keep a domain busy with a long libvirt job that holds its state-change lock (as a
# nightly backup overlapping a cluster stop), for as long as the caller wants.
#
# The job is `virsh dump [--live] DOMAIN FIFO` (an async "Dump" job, a migration to a file under
# the hood) into WORKDIR/DOMAIN.busy.fifo. A `sleep infinity` holds the FIFO open read+write and
# never reads it: libvirt's iohelper blocks once the pipe is full (~2 MiB processed), qemu's
# migration thread blocks behind it, and the job sits there. Meanwhile every call that needs the
# job (shutdown, suspend, setmem, ...) waits 30 s and fails with
#   Timed out during operation: cannot acquire state change lock (held by monitor=remoteDispatchDomainCoreDump)
# while domstate/dominfo/domjobinfo answer at once and destroy gets through at once.
#
#   start [--paused]  start the job (plain `virsh dump`: the guest is paused, reason "dumping";
#                     default --live: it keeps running) and wait until domjobinfo shows it
#   stop              let the job finish: read (and discard) the dump; the guest is running
#                     again (reason "unpaused"); prints how virsh dump ended
#   fail              end the job with an error: close the FIFO unread, libvirt's iohelper dies of
#                     SIGPIPE, virsh dump fails ("... unexpected fatal signal 13"); guest running
#   status            job info (domjobinfo) and the helper processes; exit 1 if no job is held
#
# TARGET is a libvirt URI, or a privd-up.sh DIR (-> its qemu+unix:// socket URI). WORKDIR must be
# a directory the daemon sees at the same path (a private daemon shares /srv, not /run).
# Files: WORKDIR/DOMAIN.busy.{fifo,holder.pid,virsh.pid,log}. Works for any number of domains.
set -euo pipefail
usage() { echo "usage: $0 TARGET(URI|PRIVD-DIR) DOMAIN WORKDIR {start [--paused]|stop|fail|status} [TIMEOUT_SECONDS]" >&2; exit 2; }
[ $# -ge 4 ] || usage
TARGET=$1 DOM=$2 WORKDIR=$3 ACTION=$4; shift 4
PAUSED=
if [ "$ACTION" = start ] && [ "${1-}" = --paused ]; then PAUSED=1; shift; fi
[ $# -le 1 ] || usage
TIMEOUT=${1:-60}
[[ $TIMEOUT =~ ^[0-9]+$ ]] || usage
case $ACTION in start|stop|fail|status) ;; *) usage ;; esac
if [[ $TARGET != *:* ]] && [ -d "$TARGET" ]; then
    URI="qemu+unix:///system?socket=$(realpath "$TARGET")/run/libvirt/libvirt-sock"
else
    URI=$TARGET
fi
[ -d "$WORKDIR" ] || { echo "busy-job: no directory $WORKDIR" >&2; exit 1; }
WORKDIR=$(realpath "$WORKDIR")
B=$WORKDIR/$DOM.busy
FIFO=$B.fifo

vsh() { timeout 10 virsh -q -c "$URI" "$@"; }
now_us() { echo "${EPOCHREALTIME/[.,]/}"; }
since() { local ms=$((($(now_us) - $1) / 1000)); printf '%d.%03d s' $((ms / 1000)) $((ms % 1000)); }
# alive PIDFILE COMM: the process in PIDFILE lives, has that comm, and has our FIFO open
alive() {
    local p
    p=$(cat "$1" 2>/dev/null) && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$2" ] &&
        ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null && echo "$p"
}
holder() { local p; p=$(alive "$B.holder.pid" sleep) && ls -l "/proc/$p/fd" 2>/dev/null | grep -F -- "$FIFO" >/dev/null && echo "$p"; }
dumper() { local p; p=$(alive "$B.virsh.pid" virsh) && tr '\0' ' ' <"/proc/$p/cmdline" | grep -F -- "$FIFO" >/dev/null && echo "$p"; }
job_op() { vsh domjobinfo "$DOM" 2>/dev/null | awk '/^Operation:/ {print $2}'; }
# wait_gone TIMEOUT: until virsh dump has exited
wait_gone() {
    local end=$(($(now_us) + $1 * 1000000))
    while dumper >/dev/null; do
        [ "$(now_us)" -lt $end ] || return 1
        sleep 0.05
    done
}
cleanup() {
    local p
    if p=$(holder); then kill "$p" 2>/dev/null || true; fi
    rm -f "$FIFO" "$B.holder.pid" "$B.virsh.pid"
}

case $ACTION in
    start)
        if dumper >/dev/null; then echo "busy-job: a job for $DOM is already held (stop it first)" >&2; exit 1; fi
        cleanup
        st=$(vsh domstate "$DOM") || { echo "busy-job: domain $DOM unknown at $URI" >&2; exit 1; }
        [ "$st" = running ] || { echo "busy-job: $DOM is '$st', not running" >&2; exit 1; }
        mkfifo -m 600 "$FIFO"
        t0=$(now_us)
        # holder: O_RDWR open of a FIFO does not block; it never reads
        setsid sleep infinity <>"$FIFO" >/dev/null 2>&1 &
        echo $! > "$B.holder.pid"
        live=--live; [ -z "$PAUSED" ] || live=
        setsid virsh -c "$URI" dump $live "$DOM" "$FIFO" </dev/null >"$B.log" 2>&1 &
        echo $! > "$B.virsh.pid"
        end=$((t0 + TIMEOUT * 1000000))
        until [ "$(job_op)" = Dump ]; do
            if ! dumper >/dev/null || [ "$(now_us)" -ge $end ]; then
                echo "busy-job: no Dump job on $DOM after $(since "$t0"); virsh dump says:" >&2
                cat "$B.log" >&2
                if p=$(dumper); then kill "$p" 2>/dev/null || true; fi
                cleanup; exit 1
            fi
            sleep 0.05
        done
        echo "busy-job: $DOM busy (Dump job${PAUSED:+, guest paused}) after $(since "$t0"); end it with: $0 '$URI' $DOM $WORKDIR stop"
        ;;
    stop|fail)
        p=$(dumper) || { echo "busy-job: no job held for $DOM"; cat "$B.log" 2>/dev/null || true; cleanup; exit 0; }
        t0=$(now_us)
        if [ "$ACTION" = stop ]; then
            # a reader first (the holder's write end keeps its open from blocking), then drop the holder:
            # cat gets EOF when libvirt's iohelper closes the FIFO at the end of the dump
            timeout "$TIMEOUT" cat "$FIFO" >/dev/null 2>&1 &
            cpid=$!
            sleep 0.1
        fi
        if h=$(holder); then kill "$h"; fi
        ok=1
        wait_gone "$TIMEOUT" || ok=
        if [ "$ACTION" = stop ]; then kill "$cpid" 2>/dev/null || true; wait "$cpid" 2>/dev/null || true; fi
        if [ -z "$ok" ]; then
            echo "busy-job: virsh dump ($p) still running $TIMEOUT s after $ACTION; killing it (the job may stay)" >&2
            kill "$p" 2>/dev/null || true
            cleanup; exit 1
        fi
        echo "busy-job: job on $DOM ended ($ACTION) after $(since "$t0"); virsh dump said: $(tr '\n' ' ' <"$B.log")"
        cleanup
        ;;
    status)
        p=$(dumper) || { echo "busy-job: no job held for $DOM"; exit 1; }
        echo "virsh dump: pid $p; holder: $(holder || echo none); fifo: $FIFO"
        vsh domjobinfo "$DOM" | grep -E '^(Job type|Operation|Time elapsed|Data processed):' || true
        ;;
esac
