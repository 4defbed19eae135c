#!/bin/bash
# make-guest.sh - write WORKDIR/NAME.xml: a tiny qemu TCG guest (Debian's kernel from /boot +
# a busybox initramfs) whose serial console goes to the file WORKDIR/NAME.console.
#
#   obey       acpid runs; the ACPI power button (virsh shutdown) -> poweroff -f   (default)
#   ignore     no acpid: only destroy stops the guest
#   slow:SECS  like obey, but waits SECS seconds before powering off
#   crash:SECS like obey, and SECS seconds after "up" the kernel panics (sysrq c); the XML has a
#              pvpanic device (<panic model='isa'/>) and <on_crash>preserve</on_crash>, so libvirt
#              reports "crashed (panicked)" and keeps the (stopped) qemu until destroy
#   pm:SECS    like obey, and SECS seconds after "up" the guest suspends itself to RAM (echo mem >
#              /sys/power/state); the XML enables S3 (<pm><suspend-to-mem enabled='yes'/>), so
#              libvirt reports "pmsuspended"; `virsh dompmwakeup` resumes it ("guest: resumed").
#              Boots the bzImage (WORKDIR/bzimage-KVER): S3 resume fails with the PVH vmlinux
#   fill       like obey, and after "up" the guest writes its disk vda (--disk) from 1 MiB on, 1 MiB at
#              a time, each synced ("guest: filled N MiB"), until the end of the disk: a qcow2 image on
#              a full filesystem makes qemu pause it (libvirt: "paused (I/O error)"). Once only: a
#              mark in vda's second sector makes later boots skip it ("guest: fill: ... not again")
#   watchdog:SECS like obey, with an i6300esb watchdog (<watchdog action='pause'/>): SECS seconds
#              after "up" the guest arms it with a 2 s timeout and never pets it again ("guest:
#              watchdog armed"); libvirt then reports "paused (watchdog)"
#   qga:SECS   like obey, with a qemu guest agent: qemu-ga from Debian's qemu-guest-agent package
#              (tests/lab/qga-fetch.sh; with its libraries in the initramfs) on a virtio-serial
#              channel org.qemu.guest_agent.0 ("guest: agent started on /dev/vportNpM"); SECS seconds
#              after "up" the guest kills it ("guest: agent stopped"); qga:0 keeps it running
#   dirty:MIB  like obey, and right after "up" the guest rewrites MIB MiB of random data in a loop
#              ("guest: dirtying MIB MiB"): memory dirtied faster than a throttled live migration
#              copies it (the migration convergence tests)
#
# The guest prints "guest: up mode=... uptime=..." once ready (acpid, if any, already holds the
# power-button input device: a shutdown request sent earlier is lost), then "guest: tick N" every
# second. crash/pm print "guest: panic now" / "guest: suspend now" and, after a wakeup,
# "guest: resumed". With --disk it prints "guest: disk vda: <first 64 bytes>" and writes a boot marker there.
# --console PATH puts the console at PATH with append='on' (the multihost lab uses the per-host
# /var/log/libvirt/qemu/NAME.console, so source and destination of a migration each keep theirs);
# --tick-boot adds "boot=ID" to every tick line (an opt-in /init: the default initramfs is unchanged).
# --counter (with --disk and --tick-boot) keeps a counter on the disk: read at boot from sector 8
# ("count=C boot=ID"), then incremented and written back (fsync) every tick, and shown on the tick
# line ("... boot=ID count=C"); the disk gets cache='none' + <shareable/> (a raw file every host
# of the multihost lab sees: safe to migrate, and two copies are not stopped by qemu's image lock,
# so a checker sees them). tests/chaos reads the counter from outside: it must never go back.
# Kernel and initramfs are built once and shared by all guests in WORKDIR (lock + tmp/mv):
#   WORKDIR/vmlinux-KVER  uncompressed ELF booted via PVH (~2x faster to "up" under TCG),
#                         or WORKDIR/vmlinuz-KVER (copy of the bzImage) if PVH is not possible
#   WORKDIR/initrd-HASH.img  static busybox + evdev/button (+virtio) modules; mode is on the cmdline
#                         (crash/pm use a second initramfs: /init with the timer + pvpanic modules;
#                         obey/ignore/slow keep the original one, their XML is unchanged)
# qemu runs as libvirt-qemu: every directory down to WORKDIR must be world-searchable.
set -euo pipefail
usage() { echo "usage: $0 [--mem MIB] [--disk FILE] [--console PATH] [--tick-boot [--counter]] NAME WORKDIR [obey|ignore|slow:SECS|crash:SECS|pm:SECS|fill|watchdog:SECS|qga:SECS|dirty:MIB]" >&2; exit 2; }

MEM=128 DISK= CONSOLE= TICKBOOT= COUNTER=
while [ $# -gt 0 ]; do
    case $1 in
        --mem) [ $# -ge 2 ] || usage; MEM=$2; shift 2 ;;
        --disk) [ $# -ge 2 ] || usage; DISK=$2; shift 2 ;;
        --console) [ $# -ge 2 ] || usage; CONSOLE=$2; shift 2 ;;
        --tick-boot) TICKBOOT=1; shift ;;
        --counter) COUNTER=1; shift ;;
        -*) usage ;;
        *) break ;;
    esac
done
[ $# -ge 2 ] && [ $# -le 3 ] || usage
NAME=$1 WORKDIR=$2 MODE=${3:-obey}
[[ $NAME =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || { echo "make-guest: bad NAME '$NAME'" >&2; exit 2; }
[[ $MEM =~ ^[0-9]+$ ]] || usage
[[ $MODE =~ ^(obey|ignore|slow:[0-9]+|crash:[0-9]+|pm:[0-9]+|fill|watchdog:[0-9]+|qga:[0-9]+|dirty:[0-9]+)$ ]] || usage
[ -z "$CONSOLE" ] || [[ $CONSOLE == /* && $CONSOLE != *[\'\"\<\>\&]* ]] ||
    { echo "make-guest: --console needs an absolute path without quotes or <>&" >&2; exit 2; }
[ -z "$COUNTER" ] || { [ -n "$DISK" ] && [ -n "$TICKBOOT" ]; } || usage
EXT=; [[ $MODE == crash:* || $MODE == pm:* || $MODE == dirty:* ]] && EXT=1
HEALTH=; [[ $MODE == fill || $MODE == watchdog:* || $MODE == qga:* ]] && HEALTH=1
QGA=; [[ $MODE == qga:* ]] && QGA=$(bash "$(dirname "$0")/qga-fetch.sh")
if [ -n "$DISK" ]; then
    [ -f "$DISK" ] || { echo "make-guest: no such disk file $DISK" >&2; exit 1; }
    DISK=$(realpath "$DISK")
fi
mkdir -p "$WORKDIR"
WORKDIR=$(realpath "$WORKDIR")

KERNEL=$(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$KERNEL" ] || { echo "make-guest: no /boot/vmlinuz-* (install linux-image-amd64)" >&2; exit 1; }
KVER=${KERNEL#/boot/vmlinuz-}

# Modules for the initramfs, dependencies first (busybox insmod wants plain .ko files).
MODS=()
for m in evdev button virtio_pci virtio_blk; do
    while read -r verb path; do
        [ "$verb" = insmod ] || continue
        [[ " ${MODS[*]-} " == *" $path "* ]] || MODS+=("$path")
    done < <(modprobe -S "$KVER" --show-depends "$m" 2>/dev/null)
done
if [ -n "$EXT" ]; then
    while read -r verb path; do
        [ "$verb" = insmod ] || continue
        [[ " ${MODS[*]-} " == *" $path "* ]] || MODS+=("$path")
    done < <(modprobe -S "$KVER" --show-depends pvpanic_mmio 2>/dev/null)
fi
if [[ $MODE == watchdog:* ]]; then
    while read -r verb path; do
        [ "$verb" = insmod ] || continue
        [[ " ${MODS[*]-} " == *" $path "* ]] || MODS+=("$path")
    done < <(modprobe -S "$KVER" --show-depends i6300esb 2>/dev/null)
fi
if [ -n "$QGA" ]; then
    while read -r verb path; do
        [ "$verb" = insmod ] || continue
        [[ " ${MODS[*]-} " == *" $path "* ]] || MODS+=("$path")
    done < <(modprobe -S "$KVER" --show-depends virtio_console 2>/dev/null)
fi

INIT=$(cat <<'INIT_EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
say() { echo "guest: $*"; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
mode=obey
for w in $(cat /proc/cmdline); do case $w in labmode=*) mode=${w#labmode=} ;; esac; done
for m in $(cat /lib/modules.list); do insmod "/lib/$m" || say "insmod $m failed"; done
if [ "$mode" != ignore ]; then
    delay=0
    case $mode in slow:*) delay=${mode#slow:} ;; esac
    mkdir -p /etc/acpi/PWRF
    printf '#!/bin/sh\necho "guest: power button, poweroff in %s s" >/dev/console\nsleep %s\necho "guest: poweroff now" >/dev/console\npoweroff -f\n' \
        "$delay" "$delay" > /etc/acpi/PWRF/00000080
    chmod 755 /etc/acpi/PWRF/00000080
    # acpid -f as a background job (its daemon mode does not work here); ready once it holds
    # the power button's /dev/input/eventN open
    acpid -f -d -c /etc/acpi >/dev/null 2>&1 &
    apid=$!
    n=0
    until ls -l /proc/$apid/fd 2>/dev/null | grep /dev/input/event >/dev/null; do
        n=$((n + 1))
        [ $n -le 200 ] || { say "WARNING: acpid holds no input device"; break; }
        sleep 0.05
    done
fi
boot=$(cat /proc/sys/kernel/random/boot_id)
if [ -b /dev/vda ]; then
    say "disk vda: $(head -c 64 /dev/vda | tr -d '\000\n\r')"
    printf 'written by boot %s\n' "$boot" | dd of=/dev/vda conv=notrunc,fsync 2>/dev/null
fi
say "up mode=$mode boot=$boot uptime=$(uptime_s)"
i=0
while :; do
    i=$((i + 1))
    say "tick $i uptime $(uptime_s)"
    sleep 1
done
INIT_EOF
)
# crash:/pm:/dirty: modes: a timer or a writer started right after "guest: up" (a separate initramfs, so the one of the
# original modes, and with it their XML, stays byte-identical)
if [ -n "$EXT" ]; then
    HOOK=$(cat <<'HOOK_EOF'
case $mode in
    crash:*)
        ( sleep "${mode#crash:}"; say "panic now (sysrq c)"; echo c > /proc/sysrq-trigger ) &
        ;;
    pm:*)
        ( sleep "${mode#pm:}"
          say "suspend now (mem_sleep: $(cat /sys/power/mem_sleep 2>&1))"
          if echo mem > /sys/power/state; then say "resumed uptime=$(uptime_s)"; else say "suspend failed"; fi ) &
        ;;
    dirty:*)
        ( n=${mode#dirty:} k=0
          dd if=/dev/urandom of=/dirty.src bs=1M count=$((n + 1)) 2>/dev/null
          say "dirtying $n MiB"
          # a different content every pass (from offset 0 or 1 MiB of the source)
          while :; do
              dd if=/dirty.src of=/dirty bs=1M count="$n" skip=$k conv=notrunc 2>/dev/null
              k=$((1 - k))
          done ) &
        ;;
esac
HOOK_EOF
)
    [[ $INIT == *$'\ni=0\n'* ]] || { echo "make-guest: internal: no tick loop in /init" >&2; exit 1; }
    INIT=${INIT/$'\ni=0\n'/$'\n'"$HOOK"$'\ni=0\n'}
fi
# fill/watchdog: (guest health) their own hook after "guest: up", hence their own initramfs
if [ -n "$HEALTH" ]; then
    HEALTHHOOK=$(cat <<'HEALTH_EOF'
case $mode in
    fill)
        if [ "$(dd if=/dev/vda bs=512 skip=1 count=1 2>/dev/null | head -c 6)" = filled ]; then
            say "fill: the disk was filled by an earlier boot, not again"
        else
            printf filled | dd of=/dev/vda bs=512 seek=1 conv=notrunc,fsync 2>/dev/null
            ( n=1
              while dd if=/dev/zero of=/dev/vda bs=1M count=1 seek=$n conv=notrunc,fsync 2>/dev/null; do
                  say "filled $n MiB"; n=$((n + 1))
              done
              say "fill ended at $n MiB" ) &
        fi
        ;;
    watchdog:*)
        ( sleep "${mode#watchdog:}"; say "watchdog armed"; watchdog -F -T 2 -t 100000 /dev/watchdog ) &
        ;;
    qga:*)
        port=
        for p in /sys/class/virtio-ports/*; do
            [ "$(cat "$p/name" 2>/dev/null)" = org.qemu.guest_agent.0 ] && port=/dev/${p##*/}
        done
        if [ -n "$port" ]; then
            /usr/sbin/qemu-ga -m virtio-serial -p "$port" -t /var/run >/dev/null 2>&1 &
            qpid=$!
            say "agent started on $port"
            [ "${mode#qga:}" = 0 ] || ( sleep "${mode#qga:}"; kill "$qpid"; say "agent stopped" ) &
        else
            say "agent: no org.qemu.guest_agent.0 port"
        fi
        ;;
esac
HEALTH_EOF
)
    [[ $INIT == *$'\ni=0\n'* ]] || { echo "make-guest: internal: no tick loop in /init" >&2; exit 1; }
    INIT=${INIT/$'\ni=0\n'/$'\n'"$HEALTHHOOK"$'\ni=0\n'}
fi
# --tick-boot: every tick line also carries the boot id ("guest: tick N uptime U boot=ID"), so a
# console that only holds ticks (the destination's after a live migration) still tells which boot
# they belong to. Opt-in: another /init, hence another initramfs; the default ones stay unchanged.
if [ -n "$TICKBOOT" ]; then
    TICK='say "tick $i uptime $(uptime_s)"'
    [[ $INIT == *"$TICK"* ]] || { echo "make-guest: internal: no tick line in /init" >&2; exit 1; }
    if [ -n "$COUNTER" ]; then
        # the counter goes on where the disk says (a new boot continues the old count), every tick
        # written through (conv=fsync; cache='none' on the host side)
        INIT=${INIT/"$TICK"/'c=$((c + 1)); printf "count=%d boot=%s\n" "$c" "$boot" | dd of=/dev/vda bs=512 seek=8 conv=notrunc,fsync 2>/dev/null; say "tick $i uptime $(uptime_s) boot=$boot count=$c"'}
        INIT=${INIT/$'\ni=0\n'/$'\n''c=$(dd if=/dev/vda bs=512 skip=8 count=1 2>/dev/null | head -n 1 | sed -n "s/^count=\([0-9]*\) .*/\1/p"); c=${c:-0}; say "counter from disk: $c"'$'\ni=0\n'}
    else
        INIT=${INIT/"$TICK"/'say "tick $i uptime $(uptime_s) boot=$boot"'}
    fi
fi

exec 8>"$WORKDIR/.lab-build.lock"
flock -w 300 8 || { echo "make-guest: $WORKDIR/.lab-build.lock busy" >&2; exit 1; }

# --- kernel: uncompressed ELF with a PVH entry note, else the bzImage ---
KIMG=$WORKDIR/vmlinux-$KVER
if [ ! -s "$KIMG" ] && [ ! -s "$WORKDIR/vmlinuz-$KVER" ]; then
    if /usr/bin/python3 - "$KERNEL" "$KIMG.tmp.$$" <<'PY'
import lzma, struct, subprocess, sys, zlib
src, dst = sys.argv[1:3]
img = open(src, "rb").read()
setup_sects = img[0x1f1] or 4
off, length = struct.unpack_from("<II", img, 0x248)      # payload_offset, payload_length
start = (setup_sects + 1) * 512 + off
data = img[start:start + length]
if data.startswith(b"\xfd7zXZ\x00"):
    elf = lzma.LZMADecompressor().decompress(data)
elif data.startswith(b"\x1f\x8b"):
    elf = zlib.decompressobj(wbits=31).decompress(data)
elif data.startswith(b"\x28\xb5\x2f\xfd"):
    elf = subprocess.run(["zstd", "-dcq"], input=data, stdout=subprocess.PIPE, check=True).stdout
else:
    sys.exit("unknown kernel compression")
if not elf.startswith(b"\x7fELF\x02"):
    sys.exit("payload is not a 64-bit ELF")
# look for the Xen PVH entry note (name "Xen", type XEN_ELFNOTE_PHYS32_ENTRY = 18)
phoff, = struct.unpack_from("<Q", elf, 0x20)
phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
pvh = False
for i in range(phnum):
    p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", elf, phoff + i * phentsize)
    pos, end = p_offset, p_offset + p_filesz
    while p_type == 4 and pos + 12 <= end:               # PT_NOTE
        namesz, descsz, ntype = struct.unpack_from("<III", elf, pos)
        name = elf[pos + 12:pos + 12 + namesz].rstrip(b"\0")
        pvh |= name == b"Xen" and ntype == 18
        pos += 12 + (namesz + 3) // 4 * 4 + (descsz + 3) // 4 * 4
if not pvh:
    sys.exit("no PVH entry note")
open(dst, "wb").write(elf)
PY
    then
        chmod 644 "$KIMG.tmp.$$" && mv -f "$KIMG.tmp.$$" "$KIMG"
    else
        rm -f "$KIMG.tmp.$$"
        echo "make-guest: cannot make a PVH vmlinux from $KERNEL; booting the bzImage (slower)" >&2
        install -m 644 "$KERNEL" "$WORKDIR/vmlinuz-$KVER.tmp.$$"
        mv -f "$WORKDIR/vmlinuz-$KVER.tmp.$$" "$WORKDIR/vmlinuz-$KVER"
    fi
fi
[ -s "$KIMG" ] || KIMG=$WORKDIR/vmlinuz-$KVER
# pm: S3 resume of the PVH-booted vmlinux resets the guest (SeaBIOS jumps to the kernel's wakeup
# vector, then qemu reports a guest-reset); the bzImage resumes fine: boot that (~2x slower)
if [[ $MODE == pm:* ]]; then
    KIMG=$WORKDIR/bzimage-$KVER
    if [ ! -s "$KIMG" ]; then
        install -m 644 "$KERNEL" "$KIMG.tmp.$$" && mv -f "$KIMG.tmp.$$" "$KIMG"
    fi
fi

# --- initramfs, named by a hash of its contents ---
HASH=$( { echo "$KVER"; printf '%s\n' "${MODS[@]}"; echo "$INIT"; } | sha256sum | cut -c1-12)
[ -z "$QGA" ] || HASH=$( { echo "$HASH"; sha256sum "$QGA"; } | sha256sum | cut -c1-12)
INITRD=$WORKDIR/initrd-$HASH.img
if [ ! -s "$INITRD" ]; then
    [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 ||
        { echo "make-guest: /bin/busybox missing or not static (install busybox-static)" >&2; exit 1; }
    root=$(mktemp -d)
    trap 'rm -rf "$root"' EXIT
    mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib,etc,var/log,var/run}
    cp /bin/busybox "$root/bin/busybox"
    for f in "${MODS[@]}"; do cp "$f" "$root/lib/"; echo "${f##*/}"; done > "$root/lib/modules.list"
    if [ -n "$QGA" ]; then
        install -D -m 755 "$QGA" "$root/usr/sbin/qemu-ga"
        for l in $(ldd "$QGA" | awk '/=> \//{print $3} /^\s*\/lib64/{print $1}' | sort -u); do
            mkdir -p "$root$(dirname "$l")"; cp -L "$l" "$root$l"
        done
    fi
    printf '%s\n' "$INIT" > "$root/init"
    chmod 755 "$root/init"
    (cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$INITRD.tmp.$$"
    chmod 644 "$INITRD.tmp.$$" && mv -f "$INITRD.tmp.$$" "$INITRD"
fi
flock -u 8

# --- domain XML, one element per line ---
DISKXML=
if [ -n "$DISK" ]; then
    FMT=raw; [[ $DISK == *.qcow2 ]] && FMT=qcow2
    CACHE= SHARE=
    [ -z "$COUNTER" ] || { CACHE=" cache='none'"; SHARE="
      <shareable/>"; }
    DISKXML="    <disk type='file' device='disk'>
      <driver name='qemu' type='$FMT'$CACHE/>
      <source file='$DISK'/>
      <target dev='vda' bus='virtio'/>$SHARE
    </disk>
"
fi
ONCRASH=destroy PMXML= PANICXML=
CHANNELXML=; [[ $MODE == qga:* ]] && CHANNELXML="    <channel type='unix'>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
"
WATCHDOGXML=; [[ $MODE == watchdog:* ]] && WATCHDOGXML="    <watchdog model='i6300esb' action='pause'/>
"
case $MODE in
    crash:*) ONCRASH=preserve PANICXML="    <panic model='isa'/>
" ;;
    pm:*) PMXML="  <pm>
    <suspend-to-mem enabled='yes'/>
    <suspend-to-disk enabled='no'/>
  </pm>
" ;;
esac
# --console PATH: the serial console goes to PATH, appended to (append='on': a migration's
# destination must not truncate it); default WORKDIR/NAME.console, truncated at every start
CONSOLEXML="      <source path='$WORKDIR/$NAME.console'/>"
[ -z "$CONSOLE" ] || CONSOLEXML="      <source path='$CONSOLE' append='on'/>"
XML=$WORKDIR/$NAME.xml
cat > "$XML.tmp.$$" <<XML_EOF
<domain type='qemu'>
  <name>$NAME</name>
  <memory unit='MiB'>$MEM</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$KIMG</kernel>
    <initrd>$INITRD</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 labmode=$MODE</cmdline>
  </os>
  <features>
    <acpi/>
  </features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>$ONCRASH</on_crash>
${PMXML}  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
${DISKXML}    <serial type='file'>
$CONSOLEXML
      <target port='0'/>
    </serial>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
${PANICXML}${WATCHDOGXML}${CHANNELXML}  </devices>
</domain>
XML_EOF
chmod 644 "$XML.tmp.$$" && mv -f "$XML.tmp.$$" "$XML"

# qemu (user libvirt-qemu) must reach the kernel and initramfs
d=$WORKDIR
while [ "$d" != / ]; do
    [[ $(stat -c %A "$d") == ?????????[xt] ]] ||
        echo "make-guest: WARNING: $d is not world-searchable (o+x); qemu (libvirt-qemu) will fail with 'Permission denied'" >&2
    d=$(dirname "$d")
done
echo "$XML"
