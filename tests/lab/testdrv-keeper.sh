#!/bin/bash
# testdrv-keeper.sh - keep one connection open to a daemon-hosted libvirt test driver URI
# (e.g. test+unix:///default): its state is shared between clients only while at least one
# connection is open. start: runs `virsh -c URI` reading commands from a fifo that a
# `sleep infinity` holds open, and waits until the connection answers; stop: closes the fifo
# (virsh exits, the connection closes, the driver state is reset). PIDFILE holds both pids;
# PIDFILE.fifo and PIDFILE.log sit beside it. Idempotent.
set -euo pipefail
usage() { echo "usage: $0 {start|stop} URI PIDFILE" >&2; exit 2; }
[ $# -eq 3 ] || usage
ACTION=$1 URI=$2 PIDFILE=$3
FIFO=$PIDFILE.fifo LOG=$PIDFILE.log

is() { [ "$(cat "/proc/$2/comm" 2>/dev/null)" = "$1" ] && ! grep -q '^State:.*Z' "/proc/$2/status" 2>/dev/null; }
read_pids() { [ -s "$PIDFILE" ] && read -r VIRSH HOLDER < "$PIDFILE"; }

stop() {
    local VIRSH HOLDER deadline
    read_pids || return 0
    is sleep "$HOLDER" && kill "$HOLDER" 2>/dev/null   # last writer gone: virsh reads EOF, quits
    deadline=$((SECONDS + 10))
    while is virsh "$VIRSH" && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
    is virsh "$VIRSH" && kill -KILL "$VIRSH" 2>/dev/null
    rm -f "$PIDFILE" "$FIFO"
}

case $ACTION in
    start)
        if read_pids && is virsh "$VIRSH" && is sleep "$HOLDER"; then
            echo "testdrv-keeper: already keeping $URI (virsh $VIRSH)"; exit 0
        fi
        stop
        mkdir -p "$(dirname "$PIDFILE")"
        rm -f "$FIFO"; mkfifo -m 600 "$FIFO"
        # each open blocks until the other end opens: start the reader, then the writer
        setsid virsh -c "$URI" < "$FIFO" > "$LOG" 2>&1 &
        VIRSH=$!
        setsid sleep infinity > "$FIFO" 2>/dev/null &     # no fd of the caller stays open
        HOLDER=$!
        echo "$VIRSH $HOLDER" > "$PIDFILE"
        # prove the connection is up (bounded: opening the fifo blocks if virsh is already gone)
        timeout 10 sh -c 'echo uri > "$1"' sh "$FIFO" || true
        deadline=$((SECONDS + 30))
        until grep -q '^[a-z+]*://' "$LOG"; do
            if ! is virsh "$VIRSH" || [ $SECONDS -ge $deadline ]; then
                echo "testdrv-keeper: no connection to $URI:" >&2; cat "$LOG" >&2; stop; exit 1
            fi
            sleep 0.05
        done
        echo "testdrv-keeper: keeping $URI open (virsh $VIRSH)"
        ;;
    stop) stop; echo "testdrv-keeper: closed" ;;
    *) usage ;;
esac
