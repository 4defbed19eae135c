"""The campaign's checker: every half second, from outside the hosts and independent of
Pacemaker's view, it reads the qemu processes of every lab host (/proc, matched to the hosts'
network namespaces), the guests' heartbeats (tick lines with boot id and counter on each host's
console file) and their persisted counters (the shared disk), and follows the cluster's operation
results (pacemaker.log) and fences (the power switch's log). Invariants: never two copies of a
guest (two boots interleaving, one boot ticking on two hosts, two qemu processes both ticking),
nothing lost (the persisted counter never goes back), no stale restore (a boot never ticks a number
below one it reached a second before: RAM state older than the guest's last run restored from a
snapshot state file). The first violation stops the campaign."""
import os
import re
import threading
import time

TICK = re.compile(r"guest: tick (\d+) uptime \S+ boot=(\S+) count=(\d+)")
RESULT = re.compile(r"Result of (\S+) operation for (vm-\S+) on (n\d+): (.*?)\s*(?:\| |$)")
POLL = 0.5
GRACE_POLLS = 2        # a tick of an older boot this many polls after a newer boot's first: a copy
OVERLAP_POLLS = 4      # two qemu processes on two hosts both ticking this many polls in a row


class Tail:
    """New complete lines of a file that grows (and may be recreated)."""

    def __init__(self, path):
        self.path, self.off, self.rest = path, 0, b""

    def lines(self):
        try:
            with open(self.path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size < self.off:
                    self.off, self.rest = 0, b""
                f.seek(self.off)
                data = f.read()
                self.off += len(data)
        except OSError:
            return []
        data = self.rest + data
        *full, self.rest = data.split(b"\n")
        return [l.decode(errors="replace").replace("\r", "") for l in full]


class Checker(threading.Thread):
    def __init__(self, lab, events):
        super().__init__(daemon=True)
        self.lab, self.events = lab, events
        self.stop_flag = threading.Event()
        self.violations = []
        self.seen = set()
        self.polls = 0
        self.procs = {}          # guest -> [(host, pid, start time)]
        self.last_tick = {}      # (guest, host) -> (time, boot, tick, count)
        self.boots = {g: [] for g in lab.guests}           # boot ids in order of first tick seen
        self.boot_first_poll = {}                           # (guest, boot) -> poll
        self.ticks_seen = {}                                # (guest, boot) -> {tick: (host, poll)}
        self.max_tick = {}                                  # (guest, boot) -> (tick, poll)
        self.qemus = {}                                     # guest -> qemu processes at the last scan
        self.disk_count = {}                                # guest -> (count, boot)
        self.overlap = {g: 0 for g in lab.guests}
        self.op_results = []                                # (time, op, rsc, node, result)
        self.fences = []                                    # (time, node, text)
        self.consoles = {(g, i): Tail(os.path.join(lab.w, "n%d" % i, "var-log-libvirt", "qemu", g + ".console"))
                         for g in lab.guests for i in range(1, lab.n + 1)}
        self.pcmk = {i: Tail(os.path.join(lab.w, "n%d" % i, "log", "pacemaker.log")) for i in range(1, lab.n + 1)}
        self.power = Tail(os.path.join(lab.w, "power.log"))
        self.lock = threading.Lock()

    def violation(self, kind, text):
        """Recorded once per kind and guest (a second copy ticks every second until it is gone)."""
        key = (kind, text.split(":")[0])
        if key in self.seen:
            return
        self.seen.add(key)
        self.violations.append((time.time(), kind, text))
        self.events("VIOLATION %s: %s" % (kind, text))

    # --- readers ----------------------------------------------------------------------
    def scan_qemu(self):
        ns = {self.lab.netns_ino(i): i for i in range(1, self.lab.n + 1)}
        procs = {g: [] for g in self.lab.guests}
        btime = next(int(l.split()[1]) for l in open("/proc/stat") if l.startswith("btime"))
        hz = os.sysconf("SC_CLK_TCK")
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                argv = open("/proc/%s/cmdline" % pid, "rb").read().split(b"\0")
                if not argv or b"qemu-system" not in argv[0]:
                    continue
                host = ns.get(os.stat("/proc/%s/ns/net" % pid).st_ino)
                stat = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
                if host is None or stat[0] == "Z":
                    continue
                start = btime + int(stat[19]) / hz
            except OSError:
                continue
            for k, a in enumerate(argv[:-1]):
                if a == b"-name":
                    name = argv[k + 1].decode().split(",")[0].replace("guest=", "")
                    if name in procs:
                        procs[name].append((host, int(pid), start))
        return procs

    def read_disk(self, g):
        try:
            with open(os.path.join(self.lab.w, "guest", g + ".disk"), "rb") as f:
                f.seek(4096)
                line = f.read(512).split(b"\n")[0].decode(errors="replace")
        except OSError:
            return None
        m = re.match(r"count=(\d+) boot=(\S+)", line)
        return (int(m.group(1)), m.group(2)) if m else None

    # --- one poll -----------------------------------------------------------------------
    def poll(self):
        now, p = time.time(), self.polls
        self.polls += 1
        procs = self.scan_qemu()
        self.qemus = {g: len(v) for g, v in procs.items()}
        for (g, i), tail in self.consoles.items():
            for line in tail.lines():
                m = TICK.search(line)
                if m:
                    self.heartbeat(now, p, g, i, int(m.group(1)), m.group(2), int(m.group(3)))
        for g in self.lab.guests:
            d = self.read_disk(g)
            if d:
                old = self.disk_count.get(g)
                if old and d[0] < old[0]:
                    self.violation("lost", "%s: persisted counter went back from %d (boot %s) to %d (boot %s)"
                                   % (g, old[0], old[1][:8], d[0], d[1][:8]))
                self.disk_count[g] = d
            hosts = sorted({h for h, _, _ in procs[g]})
            ticking = [h for h in hosts if now - self.last_tick.get((g, h), (0,))[0] < 2.5]
            self.overlap[g] = self.overlap[g] + 1 if len(ticking) >= 2 else 0
            if self.overlap[g] == OVERLAP_POLLS:
                self.violation("two copies", "%s: qemu running and ticking on %s at once (pids %s)"
                               % (g, " and ".join("n%d" % h for h in ticking), [p[1] for p in procs[g]]))
        with self.lock:
            self.procs = procs
        for i, tail in self.pcmk.items():
            for line in tail.lines():
                m = RESULT.search(line)
                if m:
                    r = (now, m.group(1), m.group(2), m.group(3), m.group(4))
                    self.op_results.append(r)
                    if m.group(4) not in ("ok", "not running", "Cancelled"):
                        self.events("op %s %s on %s: %s" % r[1:])
        for line in self.power.lines():
            m = re.match(r"[\d.]+ (off|on) (n\d+)(.*?) -> (.*)", line)
            if m and "by=campaign" not in m.group(3) and m.group(1) == "off":
                self.fences.append((now, m.group(2), m.group(4)))
                self.events("FENCE %s: %s" % (m.group(2), m.group(4)))

    def heartbeat(self, now, p, g, host, tick, boot, count):
        self.last_tick[(g, host)] = (now, boot, tick, count)
        key = (g, boot)
        if key not in self.boot_first_poll:
            self.boot_first_poll[key] = p
            self.boots[g].append(boot)
            self.events("%s: boot %s first ticks on n%d (count %d)" % (g, boot[:8], host, count))
        else:
            newer = self.boots[g][self.boots[g].index(boot) + 1:]
            if newer and any(p - self.boot_first_poll[(g, b)] >= GRACE_POLLS for b in newer):
                self.violation(self.copy_or_stale(g), "%s: boot %s ticks (%d on n%d) after the newer boot %s "
                               "started" % (g, boot[:8], tick, host, newer[-1][:8]))
        # one boot, one tick number, two hosts: a copy of a migrated guest still runs
        seen = self.ticks_seen.setdefault(key, {})
        first = seen.get(tick)
        if first and first[0] != host and p - first[1] >= GRACE_POLLS:
            self.violation(self.copy_or_stale(g), "%s: boot %s ticks %d on n%d, as it did on n%d already"
                           % (g, boot[:8], tick, host, first[0]))
        # one boot ticks a number below one it reached before: its RAM state went back (a
        # snapshot state file older than its last run restored), on any host
        top = self.max_tick.get(key)
        if top and tick < top[0] and p - top[1] >= GRACE_POLLS and not (first and first[0] != host):
            self.violation(self.copy_or_stale(g), "%s: boot %s ticks %d on n%d after it reached %d"
                           % (g, boot[:8], tick, host, top[0]))
        if not top or tick > top[0]:
            self.max_tick[key] = (tick, p)
        if not first:
            seen[tick] = (host, p)
            if len(seen) > 400:
                del seen[min(seen)]

    def copy_or_stale(self, g):
        """An old boot or an old tick seen again: with one qemu of the guest running (or none),
        a restore of an old state file; with two, a second copy (unknown: a second copy)."""
        n = self.qemus.get(g)
        return "stale restore" if n is not None and n <= 1 else "two copies"

    def run(self):
        while not self.stop_flag.is_set():
            t = time.time()
            try:
                self.poll()
            except Exception as e:  # the checker must never die silently
                self.events("checker error: %r" % e)
            time.sleep(max(0.0, POLL - (time.time() - t)))

    # --- views for the campaign -----------------------------------------------------------
    def running(self):
        """guest -> the host where exactly one qemu of it runs and its console ticked in the last
        3 s, after that qemu started (not the last words of a killed one), else None."""
        now = time.time()
        with self.lock:
            procs = dict(self.procs)
        out = {}
        for g in self.lab.guests:
            p = procs.get(g, [])
            seen = self.last_tick.get((g, p[0][0]), (0,))[0] if len(p) == 1 else 0
            out[g] = p[0][0] if len(p) == 1 and now - seen < 3 and seen > p[0][2] else None
        return out
