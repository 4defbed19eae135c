#!/bin/bash
# qga-fetch.sh - prints the path of qemu-ga from Debian's qemu-guest-agent package (the version of
# the installed qemu-system-x86, else apt's candidate: its libraries are the host's), unpacked (never installed on the host) under /var/cache/vd-lab/qemu-guest-agent-VERSION/,
# for make-guest.sh's qga mode. The .deb is fetched once with `apt-get download`.
set -euo pipefail
V=$(dpkg-query -W -f '${Version}' qemu-system-x86 2>/dev/null || true)
apt-cache madison qemu-guest-agent 2>/dev/null | awk -F'|' '{gsub(/ /,"",$2); print $2}' | grep -qxF "$V" ||
    V=$(apt-cache policy qemu-guest-agent 2>/dev/null | awk '/Candidate:/{print $2}')
[ -n "$V" ] && [ "$V" != "(none)" ] || { echo "$0: no qemu-guest-agent package known to apt" >&2; exit 1; }
C=/var/cache/vd-lab; D=$C/qemu-guest-agent-${V//:/%3a}
if [ ! -x "$D/usr/sbin/qemu-ga" ]; then
    mkdir -p "$C"
    exec 8>"$C/.lock"; flock -w 300 8
    if [ ! -x "$D/usr/sbin/qemu-ga" ]; then
        deb=$(ls "$C"/qemu-guest-agent_"${V//:/%3a}"_*.deb 2>/dev/null | head -n 1 || true)
        if [ -z "$deb" ]; then
            (cd "$C" && apt-get -q download "qemu-guest-agent=$V" >&2) ||
                { echo "$0: apt-get download qemu-guest-agent=$V failed" >&2; exit 1; }
            deb=$(ls "$C"/qemu-guest-agent_"${V//:/%3a}"_*.deb | head -n 1)
        fi
        rm -rf "$D.tmp"; dpkg-deb -x "$deb" "$D.tmp" && mv "$D.tmp" "$D"
    fi
fi
echo "$D/usr/sbin/qemu-ga"
