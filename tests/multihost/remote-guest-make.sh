#!/bin/bash
# remote-guest-make.sh - a Pacemaker Remote guest node for the multihost lab: a tiny diskless TCG
# guest (the lab's kernel, a busybox initramfs) that runs Debian's pacemaker-remoted with a static
# address on a NIC bridged to br-guest of the host that runs it (guest-bridge.sh).
#   remote-guest-make.sh WORKDIR NAME ADDR [PORT]
# writes WORKDIR/guest/NAME.xml (qemu domain, 256 MiB, <interface type='bridge'> on br-guest,
# serial console /var/log/libvirt/qemu/NAME.console inside each host) and the initramfs
# WORKDIR/guest/remote-HASH.img shared by all remote guests (address, name, port are on the
# kernel command line: vdr.name= vdr.addr= vdr.port=).
# The initramfs holds static busybox, virtio_net, pacemaker-remoted from Debian's pacemaker-remote
# package (downloaded with apt-get download into /var/cache/vd-lab, never installed: it conflicts
# with the pacemaker package the cluster nodes use) and the shared libraries it links (taken from
# this machine, where pacemaker installed them), the OCF agent ocf:pacemaker:Dummy with the
# resource-agents shell library, hacluster/haclient, and the lab's /etc/pacemaker/authkey
# (WORKDIR/authkey, made here if absent; host-start.sh gives every host the same one).
# In the guest: "guest: up name=N addr=A port=P boot=ID uptime=U" once pacemaker-remoted runs,
# "guest: tick K uptime U boot=ID" every second; the ACPI power button stops pacemaker-remoted
# (SIGTERM, at most 20 s) and powers off. pacemaker-remoted's log goes to the console too.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
remote_guest_args "$@"
G=$W/guest
mkdir -p "$G"; chmod 0755 "$G"

# the lab's kernel (an uncompressed PVH vmlinux): make-guest.sh builds it once
"$HERE/../lab/make-guest.sh" vdr-kernel-probe "$G" ignore >/dev/null
rm -f "$G/vdr-kernel-probe.xml"
KVER=$(ls -1 /boot/vmlinuz-* | sort -V | tail -n 1); KVER=${KVER#/boot/vmlinuz-}
KIMG=$G/vmlinux-$KVER; [ -s "$KIMG" ] || KIMG=$G/vmlinuz-$KVER
[ -s "$KIMG" ] || { echo "$0: no kernel under $G" >&2; exit 1; }

# the lab's authkey (4096 random bytes, as pcs makes it)
[ -s "$W/authkey" ] || { head -c 4096 /dev/urandom > "$W/authkey.tmp.$$" && mv "$W/authkey.tmp.$$" "$W/authkey"; }
chmod 0640 "$W/authkey"; chgrp haclient "$W/authkey" 2>/dev/null || true

REMOTED=$("$HERE/remoted-fetch.sh")

MODS=()
for m in evdev button virtio_pci virtio_net; do
    while read -r verb path; do
        [ "$verb" = insmod ] || continue
        [[ " ${MODS[*]-} " == *" $path "* ]] || MODS+=("$path")
    done < <(modprobe -S "$KVER" --show-depends "$m" 2>/dev/null)
done

INIT=$(cat <<'INIT_EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/shm /run; mount -t tmpfs -o mode=1777 tmpfs /dev/shm; mount -t tmpfs tmpfs /run
mkdir -p /run/resource-agents /run/pacemaker
say() { echo "guest: $*" > /dev/console; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
name=guest addr= port=3121
for w in $(cat /proc/cmdline); do case $w in vdr.name=*) name=${w#*=} ;; vdr.addr=*) addr=${w#*=} ;; vdr.port=*) port=${w#*=} ;; esac; done
for m in $(cat /lib/modules.list); do insmod "/lib/$m" || say "insmod $m failed"; done
hostname "$name"; echo "$name" > /etc/hostname
echo "127.0.0.1 localhost" > /etc/hosts; echo "$addr $name" >> /etc/hosts
ip link set lo up
ip addr add "$addr/24" dev eth0 && ip link set eth0 up || say "WARNING: no eth0"
# the power button: stop pacemaker-remoted (at most 20 s), then power off
mkdir -p /etc/acpi/PWRF
cat > /etc/acpi/PWRF/00000080 <<'H'
#!/bin/sh
echo "guest: power button: stopping pacemaker-remoted" > /dev/console
p=$(cat /run/remoted.pid 2>/dev/null) && kill -TERM "$p" 2>/dev/null
n=0; while [ -n "$p" ] && kill -0 "$p" 2>/dev/null && [ $n -lt 200 ]; do sleep 0.1; n=$((n + 1)); done
echo "guest: poweroff now" > /dev/console
poweroff -f
H
chmod 755 /etc/acpi/PWRF/00000080
acpid -f -d -c /etc/acpi >/dev/null 2>&1 &
apid=$!
n=0
until ls -l /proc/$apid/fd 2>/dev/null | grep /dev/input/event >/dev/null; do
    n=$((n + 1)); [ $n -le 200 ] || { say "WARNING: acpid holds no input device"; break; }; sleep 0.05
done
# its log (info and up) on the console as well as in /var/log/pacemaker/pacemaker.log
export PCMK_remote_port=$port PCMK_logfacility=none PCMK_logfile=/var/log/pacemaker/pacemaker.log PCMK_stderr=1
pacemaker-remoted > /dev/console 2>&1 &
echo $! > /run/remoted.pid
n=0
until netstat -ltn 2>/dev/null | grep -q ":$port "; do
    n=$((n + 1)); [ $n -le 300 ] || { say "WARNING: nothing listens on $port"; break; }; sleep 0.1
done
boot=$(cat /proc/sys/kernel/random/boot_id)
say "up name=$name addr=$addr port=$port boot=$boot uptime=$(uptime_s)"
i=0
while :; do
    i=$((i + 1)); say "tick $i uptime $(uptime_s) boot=$boot"; sleep 1
done
INIT_EOF
)

LIBS=$(ldd "$REMOTED" | awk '/=> \//{print $3} /^\s*\/lib64/{print $1}' | sort -u)
OCF=(/usr/lib/ocf/resource.d/pacemaker/Dummy /usr/lib/ocf/lib/heartbeat/ocf-*)
HASH=$( { echo "$KVER"; printf '%s\n' "${MODS[@]}" $LIBS "${OCF[@]}"; sha256sum "$REMOTED" "$W/authkey"; echo "$INIT"; } |
        sha256sum | cut -c1-12)
INITRD=$G/remote-$HASH.img
exec 8>"$G/.remote-build.lock"
flock -w 300 8 || { echo "$0: $G/.remote-build.lock busy" >&2; exit 1; }
if [ ! -s "$INITRD" ]; then
    root=$(mktemp -d)
    trap 'rm -rf "$root"' EXIT
    mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib,lib64,etc/pacemaker,usr/sbin,var/log/pacemaker} \
        "$root"/var/lib/pacemaker/{cib,pengine,blackbox,cores} "$root/usr/lib/ocf/resource.d/heartbeat"
    ln -s /run "$root/var/run"
    cp /bin/busybox "$root/bin/busybox"
    for f in "${MODS[@]}"; do cp "$f" "$root/lib/"; echo "${f##*/}"; done > "$root/lib/modules.list"
    cp "$REMOTED" "$root/usr/sbin/pacemaker-remoted"
    for l in $LIBS "${OCF[@]}"; do mkdir -p "$root$(dirname "$l")"; cp -L "$l" "$root$l"; done
    for f in shellfuncs binaries directories returncodes; do
        ln -s "../../lib/heartbeat/ocf-$f" "$root/usr/lib/ocf/resource.d/heartbeat/.ocf-$f"; done
    printf 'root:x:0:0:root:/root:/bin/sh\nhacluster:x:%s:%s::/var/lib/pacemaker:/bin/false\n' \
        "$(id -u hacluster)" "$(id -g hacluster)" > "$root/etc/passwd"
    printf 'root:x:0:\nhaclient:x:%s:hacluster\n' "$(getent group haclient | cut -d: -f3)" > "$root/etc/group"
    install -m 0640 -g haclient "$W/authkey" "$root/etc/pacemaker/authkey"
    chown -R hacluster:haclient "$root/var/lib/pacemaker" "$root/var/log/pacemaker"
    printf '%s\n' "$INIT" > "$root/init"; chmod 755 "$root/init"
    # uncompressed: unpacking gzip under TCG costs more than reading 60 MB
    (cd "$root" && find . | cpio -o -H newc --quiet) > "$INITRD.tmp.$$"
    chmod 644 "$INITRD.tmp.$$" && mv -f "$INITRD.tmp.$$" "$INITRD"
    # older images (another authkey, kernel or script): 57 MB each
    find "$G" -maxdepth 1 -name 'remote-*.img' ! -name "${INITRD##*/}" -delete
fi
flock -u 8

XML=$G/$NAME.xml
cat > "$XML.tmp.$$" <<XML_EOF
<domain type='qemu'>
  <name>$NAME</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$KIMG</kernel>
    <initrd>$INITRD</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 vdr.name=$NAME vdr.addr=$ADDR vdr.port=$PORT</cmdline>
  </os>
  <features>
    <acpi/>
  </features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <interface type='bridge'>
      <source bridge='br-guest'/>
      <mac address='$MAC'/>
      <model type='virtio'/>
    </interface>
    <serial type='file'>
      <source path='/var/log/libvirt/qemu/$NAME.console' append='on'/>
      <target port='0'/>
    </serial>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
XML_EOF
chmod 644 "$XML.tmp.$$" && mv -f "$XML.tmp.$$" "$XML"
echo "$XML"
