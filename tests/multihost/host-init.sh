#!/bin/bash
# host-init.sh - PID 1 of simulated host nI (started by host-start.sh inside the host's fresh
# network, mount, UTS and PID namespaces). Sets up the host's private files, then only reaps
# orphans (libvirtd, virtlogd and qemu are re-parented to it) until it is killed; SIGKILL from
# outside (hosts-down.sh) ends every process of the host at once.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 WORKDIR I   (run by host-start.sh)" >&2; exit 2; }
W=$1; i=$2; d=$W/n$i
# fresh per boot: /run (libvirt sockets, pid files, HA_RSCTMP=/run/resource-agents), /dev/shm.
# /tmp stays the machine's: the agent under test may live there (a CI clone under /tmp), as the
# other shared paths (/usr, /srv, WORKDIR) do
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/lock /run/libvirt /run/resource-agents /run/lab
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
# the host's "disk": bind mounts of WORKDIR/nI/* (they vanish with this mount namespace)
mount --bind "$W/hosts" /etc/hosts
mount --bind "$d/etc-libvirt" /etc/libvirt
mount --bind "$d/var-lib-libvirt" /var/lib/libvirt
mount --bind "$d/var-cache-libvirt" /var/cache/libvirt
mount --bind "$d/var-log-libvirt" /var/log/libvirt
mount --bind "$d/pacemaker" /var/lib/pacemaker
mount --bind "$d/corosync" /var/lib/corosync
mount --bind "$d/etc-corosync" /etc/corosync
# /etc/pacemaker (authkey for Pacemaker Remote): the lab's, not the machine's
mkdir -p /etc/pacemaker && mount --bind "$d/etc-pacemaker" /etc/pacemaker
hostname "n$i"
touch "$d/ready"
trap 'exit 0' TERM
while :; do sleep 3600 & wait $! || true; done
