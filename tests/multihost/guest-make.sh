#!/bin/bash
# guest-make.sh - a tiny diskless TCG guest for the multihost lab, made by tests/lab/make-guest.sh:
# WORKDIR/guest/NAME.xml (+ the shared kernel and initramfs there, the same path on every host, so
# a migration needs no storage). Its serial console is /var/log/libvirt/qemu/NAME.console inside
# each host (append='on'; WORKDIR/nI/var-log-libvirt/qemu/NAME.console from outside), so source and
# destination of a migration each keep their own file. It prints "guest: up mode=M boot=ID ..."
# once, then "guest: tick K uptime U boot=ID" every second: the same ID with a later K on the
# destination shows that the guest kept running. Prints the XML path.
set -euo pipefail
[ $# -ge 2 ] && [ $# -le 3 ] || { echo "usage: $0 WORKDIR NAME [obey|ignore|slow:SECS|dirty:MIB]" >&2; exit 2; }
W=$1; NAME=$2; MODE=${3:-obey}
[ -d "$W" ] || { echo "$0: no directory $W" >&2; exit 1; }
mkdir -p "$W/guest"; chmod 0755 "$W/guest"
exec "$(dirname "$0")/../lab/make-guest.sh" --console "/var/log/libvirt/qemu/$NAME.console" --tick-boot \
    "$NAME" "$(cd "$W/guest" && pwd)" "$MODE"
