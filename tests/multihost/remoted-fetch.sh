#!/bin/bash
# remoted-fetch.sh - prints the path of pacemaker-remoted from Debian's pacemaker-remote package of
# the installed pacemaker's version, unpacked (never installed: pacemaker-remote conflicts with
# pacemaker) under /var/cache/vd-lab/pacemaker-remote-VERSION/. The .deb is fetched once with
# `apt-get download` (tests/lab/install-deps.sh does that ahead of time).
set -euo pipefail
V=$(dpkg-query -W -f '${Version}' pacemaker 2>/dev/null) || { echo "$0: pacemaker is not installed" >&2; exit 1; }
C=/var/cache/vd-lab; D=$C/pacemaker-remote-$V
if [ ! -x "$D/usr/sbin/pacemaker-remoted" ]; then
    mkdir -p "$C"
    exec 8>"$C/.lock"; flock -w 300 8
    if [ ! -x "$D/usr/sbin/pacemaker-remoted" ]; then
        deb=$(ls "$C"/pacemaker-remote_"${V//:/%3a}"_*.deb 2>/dev/null | head -n 1 || true)
        if [ -z "$deb" ]; then
            (cd "$C" && apt-get -q download "pacemaker-remote=$V" >&2) ||
                { echo "$0: apt-get download pacemaker-remote=$V failed" >&2; exit 1; }
            deb=$(ls "$C"/pacemaker-remote_*"_"*.deb | head -n 1)
        fi
        rm -rf "$D.tmp"; dpkg-deb -x "$deb" "$D.tmp" && mv "$D.tmp" "$D"
    fi
fi
echo "$D/usr/sbin/pacemaker-remoted"
