"""The campaign's faults: a seeded random schedule (the same seed gives the same list of steps to
every agent) and how each fault is injected and undone on the lab. A step is one primary fault,
sometimes with a `pcs resource move` or `pcs node standby` issued while it is active."""
import os
import random
import time

from lab import LABD, MH

KINDS = ["qemu_kill", "libvirtd_freeze_short", "libvirtd_freeze_long", "libvirtd_restart", "libvirtd_kill",
         "corosync_kill", "node_power", "partition", "config_empty", "config_unreadable", "pcs_move",
         "standby"]
# opt-in (--kinds): not in the default list, so that the schedules of the default kinds (the
# README's seed 1, the smoke's seed 29) stay what they were
EXTRA_KINDS = ["job_lock_stop", "snapshot_full"]
CONCURRENT = ["pcs_move", "standby"]
FREEZE_SHORT, FREEZE_LONG = 3, 25      # s; the long one outlasts the monitor timeout (20 s)


def schedule(seed, n=500, kinds=None):
    """The steps of a campaign: [{kind, host, guest, target, with}]"""
    rng = random.Random(seed)
    kinds = kinds or KINDS
    steps = []
    for _ in range(n):
        k = rng.choice(kinds)
        s = {"kind": k, "host": rng.randint(1, 3), "guest": rng.randint(1, 9), "target": rng.randint(1, 3),
             "with": None}
        if k not in CONCURRENT and rng.random() < 0.3:
            s["with"] = {"kind": rng.choice(CONCURRENT), "host": rng.randint(1, 3), "guest": rng.randint(1, 9),
                         "target": rng.randint(1, 3)}
        steps.append(s)
    return steps


class Injector:
    """inject(step) -> a list of (delay, undo[, early]): undo runs `delay` s after the injection
    (or as soon as early() is true), or after the cluster settled when delay is None (a move's
    constraint is cleared, a standby node unstandby'd)."""

    def __init__(self, lab, checker, events):
        self.lab, self.chk, self.ev = lab, checker, events

    def guest(self, s):
        return self.lab.guests[(s["guest"] - 1) % len(self.lab.guests)]

    def host_of(self, g):
        hosts = [p[0] for p in self.chk.procs.get(g, [])]
        return hosts[0] if hosts else None

    def libvirtd(self, i, what):
        return self.lab.sh("bash", os.path.join(MH, "host-libvirtd.sh"), self.lab.w, i, what, timeout=60)

    def inject(self, s):
        k, i, g = s["kind"], s["host"], self.guest(s)
        lab, undo = self.lab, []
        if not lab.host_up(i) and k not in ("qemu_kill", "pcs_move"):
            self.ev("fault %s: n%d is off, skipped" % (k, i))
            return None
        if k == "qemu_kill":
            procs = self.chk.procs.get(g, [])
            if not procs:
                self.ev("fault qemu_kill: %s has no qemu, skipped" % g)
                return None
            h, pid, _ = procs[0]
            os.kill(pid, 9)
            self.ev("fault qemu_kill: %s qemu pid %d on n%d killed (-9)" % (g, pid, h))
        elif k.startswith("libvirtd_freeze"):
            secs = FREEZE_SHORT if k.endswith("short") else FREEZE_LONG
            self.libvirtd(i, "freeze")
            self.ev("fault %s: libvirtd on n%d frozen for %d s" % (k, i, secs))
            undo.append((secs, lambda: self.libvirtd(i, "thaw")))
        elif k == "libvirtd_restart":
            rc, out = self.libvirtd(i, "restart")
            self.ev("fault libvirtd_restart: n%d: rc=%d %s" % (i, rc, out[-200:]))
        elif k == "libvirtd_kill":
            lab.x(i, "sh", "-c", "kill -9 $(cat /run/libvirtd.pid)")
            self.ev("fault libvirtd_kill: libvirtd on n%d killed (-9), started again after 5 s" % i)
            undo.append((5, lambda: self.libvirtd(i, "start")))
        elif k == "corosync_kill":
            lab.x(i, "sh", "-c", "kill -9 $(cat /run/lab/corosync.pid)")
            self.ev("fault corosync_kill: corosync on n%d killed (-9)" % i)
        elif k == "node_power":
            self.ev("fault node_power: n%d powered off: %s" % (i, lab.power("off n%d" % i)))
            # on again after 10 s, or as soon as the cluster's fence (a reboot) powered it on
            seen = [0]

            def back_on():
                seen[0] = seen[0] or not lab.host_up(i)
                return seen[0] and lab.host_up(i)
            undo.append((10, lambda: self.ev("node_power: n%d on: %s" % (i, lab.power("on n%d" % i))), back_on))
        elif k == "partition":
            lab.sh("ip", "-n", "%s-n%d" % (lab.prefix, i), "link", "set", "eth0", "down")
            self.ev("fault partition: n%d's cluster network (eth0) cut" % i)
            # healed at once when the majority fenced the node, else after 45 s
            fenced = len([f for f in self.chk.fences if f[1] == "n%d" % i])
            undo.append((45, lambda: self.heal(i),
                         lambda: len([f for f in self.chk.fences if f[1] == "n%d" % i]) > fenced))
        elif k in ("config_empty", "config_unreadable"):
            i = self.host_of(g) or i  # where it bites: the node whose monitor and stop read it
            cfg = os.path.join(lab.w, "guest", g + ".xml")
            # empty: an empty file over it; unreadable: a write-only sysctl file over it (mode 0200:
            # open() for reading fails with EACCES even for root, as no ordinary file would)
            src = os.path.join(lab.w, "empty.xml") if k == "config_empty" else "/proc/sys/vm/compact_memory"
            if k == "config_empty":
                open(src, "w").close()
            rc, out = lab.x(i, "mount", "--bind", src, cfg)
            self.ev("fault %s: %s's config on n%d (bind mount of %s): rc=%d %s" % (k, g, i, os.path.basename(src),
                                                                                  rc, out))
            undo.append((30, lambda: lab.x(i, "umount", cfg)))
        elif k == "job_lock_stop":
            # a long libvirt job (virsh dump into a FIFO nobody reads: tests/lab/busy-job.sh) holds
            # the guest's state-change lock, then the cluster restarts the guest: its stop meets
            # the lock (a shutdown waits 30 s for it and fails; destroy gets through)
            h = self.host_of(g)
            if not h:
                self.ev("fault job_lock_stop: %s has no qemu, skipped" % g)
                return None
            busy = os.path.join(lab.w, "busy")
            os.makedirs(busy, exist_ok=True)
            job = lambda what: lab.x(h, "bash", os.path.join(LABD, "busy-job.sh"), "qemu:///system", g, busy, what,
                                     "120", timeout=150)
            rc, out = job("start")
            self.ev("fault job_lock_stop: %s on n%d: dump job holding its lock: rc=%d %s" % (g, h, rc, out[-200:]))
            self.restart(g, h, "job_lock_stop")
            undo.append((0, lambda: job("fail")))
        elif k == "snapshot_full":
            # the guest's node finds the snapshot directory full (a 1 MiB tmpfs over it, filled, in
            # that host's mount namespace only), then the cluster restarts the guest: its stop's
            # save meets ENOSPC, the start (on the same node, the tmpfs still there) must not
            # restore what the failed save left; umounted once the restart is over
            h = self.host_of(g)
            if not h or not lab.snapdir:
                self.ev("fault snapshot_full: %s has no qemu or no snapshot directory, skipped" % g)
                return None
            d = lab.snapdir
            rc, out = lab.x(h, "sh", "-c", "mount -t tmpfs -o size=1m,mode=0755 vdx-snapfull %s && "
                            "{ dd if=/dev/zero of=%s/zz-fill bs=64k 2>/dev/null; df -k %s | tail -1; }" % (d, d, d))
            self.ev("fault snapshot_full: %s's snapshot directory full on n%d: rc=%d %s" % (g, h, rc, out[-200:]))
            if rc != 0:
                lab.x(h, "umount", d)
                return None
            self.restart(g, h, "snapshot_full")
            rc, out = lab.x(h, "ls", "-la", d)
            self.ev("fault snapshot_full: n%d's %s before the umount: %s" % (h, d, " | ".join(out.splitlines()[1:])))
            undo.append((0, lambda: lab.x(h, "umount", d)))
        elif k == "pcs_move":
            t = s["target"]
            rc, out = lab.pcs("pcs", "resource", "move", "vm-" + g, "n%d" % t)
            self.ev("fault pcs_move: vm-%s -> n%d: rc=%d %s" % (g, t, rc, out[-200:]))
            undo.append((None, lambda: lab.pcs("pcs", "resource", "clear", "vm-" + g)))
        elif k == "standby":
            rc, out = lab.pcs("pcs", "node", "standby", "n%d" % i)
            self.ev("fault standby: n%d: rc=%d %s" % (i, rc, out[-200:]))
            undo.append((None, lambda: lab.pcs("pcs", "node", "unstandby", "n%d" % i)))
        return undo

    def restart(self, g, h, kind):
        """`pcs resource restart vm-G`, issued on a node other than the guest's node h: a stop that
        times out gets h fenced, and a pcs killed with it would leave the resource disabled (its
        restart is a disable, then an enable); a restart that failed is followed by an enable."""
        others = [i for i in self.lab.up_hosts() if i != h] or [None]
        rc, out = self.lab.pcs("pcs", "resource", "restart", "vm-" + g, timeout=200, node=others[0])
        self.ev("fault %s: pcs resource restart vm-%s (on n%s): rc=%d %s" % (kind, g, others[0], rc, out[-300:]))
        if rc != 0:
            rc, out = self.lab.pcs("pcs", "resource", "enable", "vm-" + g)
            self.ev("fault %s: pcs resource enable vm-%s: rc=%d %s" % (kind, g, rc, out[-200:]))

    def heal(self, i):
        """The partition ends: link up again (a fenced host already came back with it up)."""
        self.lab.sh("ip", "-n", "%s-n%d" % (self.lab.prefix, i), "link", "set", "eth0", "up")
        self.ev("partition: n%d's cluster network up again" % i)


def sleep_until(t, stop=lambda: False):
    while time.time() < t and not stop():
        time.sleep(min(0.2, max(0.0, t - time.time())))
