#!/bin/bash
# hosts-exec.sh - run a command on simulated host nI: inside its network, mount, UTS and PID
# namespaces (it sees the host's /run, /etc/hosts, /etc/libvirt, /var/log/libvirt, and its
# libvirtd at qemu:///system). Exit status: the command's.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 WORKDIR I CMD [ARG...]" >&2; exit 2; }
. "$(dirname "$0")/lib.sh"
load_env "$1"; i=$2; shift 2
p=$(host_pid "$i") || die "host n$i of $W is not running"
exec nsenter -t "$p" -n -m -u -p -- "$@"
