#!/bin/bash
# privd-fault.sh - inject faults into the private libvirtd of DIR (privd-up.sh):
#   stop             SIGTERM libvirtd, wait until gone (it removes its socket; guests keep running;
#                    with a job stuck in I/O it lingers ~30 s, then forces its exit)
#   crash            SIGKILL libvirtd (socket file stays: clients get "Connection refused")
#   start            start it again (libvirtd-up.sh inside; it reconnects to running guests)
#   restart          stop, then start (as `systemctl restart` would); prints how long it took
#   freeze | thaw    SIGSTOP | SIGCONT libvirtd (clients connect, then hang: bound them with timeout)
#   jam              freeze, then fill the socket's listen backlog (max_queued_clients 1000: 1001
#                    connects succeed): a new client's connect() itself blocks. A helper holds the
#                    connections until the daemon is thawed or gone (at most 1 h); thaw ends it
#   kill-qemu DOMAIN SIGKILL the qemu process of DOMAIN
#   status           daemon pid + state, socket, running qemu processes
set -euo pipefail
usage() { echo "usage: $0 DIR {stop|crash|start|restart|freeze|thaw|jam|kill-qemu DOMAIN|status}" >&2; exit 2; }
[ $# -ge 2 ] || usage
LAB=$(cd "$(dirname "$0")" && pwd -P)
DIR=$(realpath "$1") ACTION=$2
RUN=$DIR/run
case $ACTION in
    kill-qemu) [ $# -eq 3 ] || usage ;;
    stop|crash|start|restart|freeze|thaw|jam|status) [ $# -eq 2 ] || usage ;;
    *) usage ;;
esac

h=$(cat "$DIR/holder.pid" 2>/dev/null) && [ "$(cat "/proc/$h/comm" 2>/dev/null)" = sleep ] ||
    { echo "privd-fault: no private libvirtd holder for $DIR (run privd-up.sh)" >&2; exit 1; }
NETNS=$(readlink "/proc/$h/ns/net")
# ours PID COMM-PATTERN: a live process of this instance. Pids are shared with the host, so check
# the network namespace (not the mount namespace: libvirt gives each qemu a mount namespace of its own)
ours() {
    [[ $(cat "/proc/$1/comm" 2>/dev/null) == $2 ]] && [ "$(readlink "/proc/$1/ns/net" 2>/dev/null)" = "$NETNS" ] &&
        ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}
daemon_pid() {   # pid of the private libvirtd, or fail
    local p
    p=$(cat "$RUN/libvirtd.pid" 2>/dev/null) && ours "$p" libvirtd && echo "$p"
}
state() { awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null; }

down() {   # down stop|crash
    local p deadline
    p=$(daemon_pid) || { echo "privd-fault: libvirtd not running" >&2; exit 1; }
    if [ "$1" = stop ]; then kill -TERM "$p"; kill -CONT "$p"; else kill -KILL "$p"; fi
    # libvirtd gives its worker threads 30 s to finish (a job stuck in I/O keeps one busy), then
    # logs "Make forcefull daemon shutdown" and exits: wait a bit longer than that
    deadline=$((SECONDS + 40))
    while daemon_pid >/dev/null; do
        [ $SECONDS -lt $deadline ] || { echo "privd-fault: libvirtd $p still alive after 40 s" >&2; exit 1; }
        sleep 0.05
    done
    echo "privd-fault: libvirtd $p gone ($1), socket $([ -S "$RUN/libvirt/libvirt-sock" ] && echo present || echo removed)"
}

case $ACTION in
    stop|crash)
        down "$ACTION" ;;
    start)
        "$LAB/privd-exec.sh" "$DIR" "$LAB/libvirtd-up.sh" ;;
    restart)
        t0=${EPOCHREALTIME/[.,]/}
        down stop
        "$LAB/privd-exec.sh" "$DIR" "$LAB/libvirtd-up.sh"
        ms=$(( (${EPOCHREALTIME/[.,]/} - t0) / 1000 ))
        printf 'privd-fault: libvirtd restarted in %d.%03d s\n' $((ms / 1000)) $((ms % 1000))
        ;;
    freeze|thaw|jam)
        p=$(daemon_pid) || { echo "privd-fault: libvirtd not running" >&2; exit 1; }
        if [ "$ACTION" = thaw ]; then sig=CONT want=S; else sig=STOP want=T; fi
        kill -$sig "$p"
        deadline=$((SECONDS + 5))
        until [ "$(state "$p")" = "$want" ] || { [ $want = S ] && [ "$(state "$p")" = R ]; }; do
            [ $SECONDS -lt $deadline ] || { echo "privd-fault: libvirtd $p state $(state "$p")" >&2; exit 1; }
            sleep 0.02
        done
        [ "$ACTION" = jam ] || { echo "privd-fault: libvirtd $p $ACTION (state $(state "$p"))"; exit 0; }
        rm -f "$RUN/jam.out"
        # connect (blocking, 0.5 s alarm) until one blocks; then hold them while libvirtd stays stopped
        setsid /usr/bin/python3 -c '
import os, signal, socket, sys, time
path, pid, out = sys.argv[1], sys.argv[2], sys.argv[3]
class Blocked(Exception): pass
def alarm(*_): raise Blocked()
signal.signal(signal.SIGALRM, alarm)
def stopped():
    try:
        return any(l.split()[1] == "T" for l in open(f"/proc/{pid}/status") if l.startswith("State:"))
    except OSError:
        return False
socks, result = [], "gave up after 10000 connects"
for i in range(10000):
    s = socket.socket(socket.AF_UNIX)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        s.connect(path)
        socks.append(s)
    except Blocked:
        s.close(); result = "full"; break
    except OSError as e:
        s.close(); result = f"connect failed: {e}"; break
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
with open(out + ".tmp", "w") as f:
    f.write(f"{result} {len(socks)}\n")
os.rename(out + ".tmp", out)
end = time.monotonic() + 3600
while stopped() and time.monotonic() < end:
    time.sleep(0.2)
' "$RUN/libvirt/libvirt-sock" "$p" "$RUN/jam.out" </dev/null >/dev/null 2>&1 &
        deadline=$((SECONDS + 30))
        until [ -s "$RUN/jam.out" ]; do
            [ $SECONDS -lt $deadline ] || { echo "privd-fault: backlog not full after 30 s" >&2; exit 1; }
            sleep 0.05
        done
        read -r result n < "$RUN/jam.out"
        [ "$result" = full ] || { echo "privd-fault: jam: $result $n" >&2; exit 1; }
        echo "privd-fault: libvirtd $p frozen, listen backlog full after $n connects (a new connect() blocks)"
        ;;
    kill-qemu)
        q=$(cat "$RUN/libvirt/qemu/$3.pid" 2>/dev/null) || { echo "privd-fault: no qemu pid file for $3" >&2; exit 1; }
        ours "$q" 'qemu*' || { echo "privd-fault: pid $q is not a qemu of this instance" >&2; exit 1; }
        kill -KILL "$q"
        echo "privd-fault: killed qemu $q of $3"
        ;;
    status)
        if p=$(daemon_pid); then echo "libvirtd: $p state $(state "$p")"; else echo "libvirtd: not running"; fi
        echo "socket: $([ -S "$RUN/libvirt/libvirt-sock" ] && echo present || echo absent)"
        for f in "$RUN"/libvirt/qemu/*.pid; do
            [ -e "$f" ] && [ "${f##*/}" != driver.pid ] || continue
            q=$(cat "$f"); n=${f##*/}
            if ours "$q" 'qemu*'; then echo "qemu: ${n%.pid} pid $q"; fi
        done
        ;;
    *) usage ;;
esac
