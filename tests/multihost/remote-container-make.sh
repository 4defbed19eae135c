#!/bin/bash
# remote-container-make.sh - a Pacemaker Remote guest node as a libvirt LXC container for the
# multihost lab (lxc:/// on a simulated host; host-cgroups.sh WORKDIR I mount first):
#   remote-container-make.sh WORKDIR NAME ADDR [PORT]
# writes WORKDIR/lxc/NAME.xml: an application container sharing the host's root file system
# (so pacemaker-remoted's libraries and the OCF agents are the machine's), with its own network
# (a veth on br-guest, guest-bridge.sh; static ADDR/24), hostname NAME, and private directories
# mounted over /etc/pacemaker (the lab's authkey), /var/lib/pacemaker, /var/log/pacemaker
# (WORKDIR/lxc/NAME/...) and a tmpfs on /run. Its init (WORKDIR/lxc/remote-init.sh) starts Debian's
# pacemaker-remoted (remoted-fetch.sh: unpacked, not installed) on PORT (default 3121) and ends
# it on SIGTERM. Its log: WORKDIR/lxc/NAME/var-log-pacemaker/{init.log,pacemaker.log}; the
# init.log says "container: up name=N addr=A port=P uptime=U" once pacemaker-remoted listens.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
remote_guest_args "$@"
L=$W/lxc; C=$L/$NAME
[ -s "$W/authkey" ] || { echo "$0: no $W/authkey (host-start.sh makes it)" >&2; exit 1; }
REMOTED=$("$HERE/remoted-fetch.sh")
mkdir -p "$C"/{etc-pacemaker,var-lib-pacemaker/{cib,pengine,blackbox,cores},var-log-pacemaker}
install -m 0640 -g haclient "$W/authkey" "$C/etc-pacemaker/authkey"
chown -R hacluster:haclient "$C/var-lib-pacemaker" "$C/var-log-pacemaker"
rm -f "$C"/var-log-pacemaker/*.log
cat > "$L/remote-init.sh.tmp.$$" <<'INIT'
#!/bin/sh
# PID 1 of a lab container (remote-container-make.sh): NAME ADDR PORT REMOTED
name=$1 addr=$2 port=$3 remoted=$4
exec >> /var/log/pacemaker/init.log 2>&1
say() { echo "container: $*"; }
hostname "$name"
# a fresh /run and /dev/shm per start (a restarted container must not find the state files of
# the resources that ran in its previous life)
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /dev/shm /run/resource-agents /run/pacemaker
mountpoint -q /dev/shm || mount -t tmpfs -o mode=1777 tmpfs /dev/shm
ip link set lo up
ip addr add "$addr/24" dev eth0 && ip link set eth0 up || say "WARNING: no eth0"
PCMK_remote_port=$port PCMK_logfacility=none PCMK_logfile=/var/log/pacemaker/pacemaker.log "$remoted" &
pid=$!
trap 'say "SIGTERM: stopping pacemaker-remoted"; kill -TERM $pid; wait $pid; say "stopped"; exit 0' TERM
n=0
until ss -ltn 2>/dev/null | grep -q ":$port "; do
    n=$((n + 1)); [ $n -le 300 ] || { say "WARNING: nothing listens on $port"; break; }; sleep 0.1
done
say "up name=$name addr=$addr port=$port uptime=$(cut -d' ' -f1 /proc/uptime)"
wait $pid
say "pacemaker-remoted ended (status $?)"
INIT
chmod 755 "$L/remote-init.sh.tmp.$$"; mv -f "$L/remote-init.sh.tmp.$$" "$L/remote-init.sh"
fs() { printf "    <filesystem type='mount'>\n      <source dir='%s'/>\n      <target dir='%s'/>\n    </filesystem>\n" "$1" "$2"; }
XML=$L/$NAME.xml
{ cat <<XML_EOF
<domain type='lxc'>
  <name>$NAME</name>
  <memory unit='MiB'>128</memory>
  <os>
    <type>exe</type>
    <init>/bin/sh</init>
    <initarg>$L/remote-init.sh</initarg>
    <initarg>$NAME</initarg>
    <initarg>$ADDR</initarg>
    <initarg>$PORT</initarg>
    <initarg>$REMOTED</initarg>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/lib/libvirt/libvirt_lxc</emulator>
XML_EOF
  fs "$C/etc-pacemaker" /etc/pacemaker
  fs "$C/var-lib-pacemaker" /var/lib/pacemaker
  fs "$C/var-log-pacemaker" /var/log/pacemaker
  cat <<XML_EOF
    <interface type='bridge'>
      <source bridge='br-guest'/>
      <mac address='$MAC'/>
    </interface>
    <console type='pty'/>
  </devices>
</domain>
XML_EOF
} > "$XML.tmp.$$"
chmod 644 "$XML.tmp.$$" && mv -f "$XML.tmp.$$" "$XML"
echo "$XML"
