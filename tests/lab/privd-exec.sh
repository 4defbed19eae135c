#!/bin/bash
# privd-exec.sh - run CMD inside the namespaces of the private libvirtd of DIR (privd-up.sh),
# in the current directory: qemu:///system, lxc:///system, test+unix:///default reach it.
set -euo pipefail
usage() { echo "usage: $0 DIR CMD [ARG...]" >&2; exit 2; }
[ $# -ge 2 ] || usage
DIR=$(realpath "$1"); shift
p=$(cat "$DIR/holder.pid" 2>/dev/null) && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = sleep ] ||
    { echo "privd-exec: no private libvirtd holder for $DIR (run privd-up.sh)" >&2; exit 1; }
exec nsenter -t "$p" -m -n --wd="$PWD" -- "$@"
