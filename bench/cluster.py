"""A real Pacemaker cluster in the multihost lab, for bench/scale.py: the
lab of bench/lab.py (MultiLab) plus corosync/Pacemaker (pcmk-up.sh), the
CIB written in one piece (a hundred `pcs resource create` would take
minutes), the cluster's view of each resource (crm_mon's XML), and the two
meters of the cluster-scale figures: CPU of pacemaker-execd's children
(a cpuacct cgroup of the machine's cgroup v1 hierarchy holding execd) and
execd's own record of every monitor (its debug line per operation)."""

import os
import re
import time
import xml.etree.ElementTree as ET

from lab import BenchError, MultiLab, run

CGROOT = "/sys/fs/cgroup/cpuacct"
HZ = os.sysconf("SC_CLK_TCK")
# pacemaker-execd 2.1.5, debug (PCMK_debug=pacemaker-execd): one line per finished operation
#   Dec 02 14:01:02.345 n1 pacemaker-execd [132] (log_finished) debug: vm-x monitor (call 12,
#   PID 345) exited with status 0 (execution time 145ms after being queued 2ms)
FINISHED = re.compile(
    r"^(\w{3} \d\d \d\d:\d\d:\d\d\.\d{3}) \S+ pacemaker-execd\s+\[\d+\] \(log_finished\)\s+\w+: "
    r"(\S+) monitor \(call \d+(?:, PID \d+)?\) (exited with status (\d+)|could not be executed: "
    r"([^(]*?))(?: \(execution time ([\d.]+)(ms|s)(?: after being queued ([\d.]+)(ms|s))?\))?\s*$")


def _secs(val, unit):
    return float(val) / (1000 if unit == "ms" else 1) if val else 0.0


def log_time(line):
    """Epoch seconds of a Pacemaker log line's time stamp (local time, this
    year): 'Dec 02 14:01:02.345 ...'."""
    base, ms = line[:19].rsplit(".", 1)
    t = time.strptime(f"{time.localtime().tm_year} {base}", "%Y %b %d %H:%M:%S")
    return time.mktime(t) + int(ms) / 1000


def primitive(rid, provider, params, meta=None, ops=()):
    """The XML of one ocf:PROVIDER:VirtualDomain primitive; ops: (name,
    interval, timeout)."""
    ia = "".join(f'<nvpair id="{rid}-ia-{k}" name="{k}" value="{v}"/>' for k, v in params.items())
    ma = "".join(f'<nvpair id="{rid}-ma-{k}" name="{k}" value="{v}"/>'
                 for k, v in (meta or {}).items())
    op = "".join(f'<op id="{rid}-{n}-{i}" name="{n}" interval="{i}" timeout="{t}"/>'
                 for n, i, t in ops)
    return (f'<primitive id="{rid}" class="ocf" provider="{provider}" type="VirtualDomain">'
            f'<instance_attributes id="{rid}-ia">{ia}</instance_attributes>'
            + (f'<meta_attributes id="{rid}-ma">{ma}</meta_attributes>' if ma else "")
            + f"<operations>{op}</operations></primitive>")


class ClusterLab(MultiLab):
    """MultiLab + Pacemaker on its hosts. Cluster tools run on host
    self.tool_host (a member that stays online)."""

    def __init__(self, workdir, prefix, net, mignet):
        super().__init__(workdir, prefix, net, mignet)
        self.tool_host, self.cgroups = 1, []

    def pcmk_up(self, members, debug=""):
        self._script("pcmk-up.sh", self.w, timeout=200,
                     env={"MEMBERS": " ".join(map(str, members)), "PCMK_debug": debug or "no"})
        self.tool_host = members[-1]

    def tool(self, *argv, timeout=60, check=True):
        return run([*self.inside(self.tool_host), *argv], timeout=timeout, check=check)[1]

    def add_section(self, section, fragments):
        """Appends XML fragments to the CIB's <section> in one replace."""
        cib = ET.fromstring(self.tool("cibadmin", "-Q", "-o", section))
        for frag in fragments:
            cib.append(ET.fromstring(frag))
        path = os.path.join(self.w, f"cib-{section}.xml")
        with open(path, "w") as f:
            f.write(ET.tostring(cib, encoding="unicode"))
        self.tool("cibadmin", "--replace", "-o", section, "--xml-file", path, timeout=120)

    def set_property(self, name, value):
        self.tool("crm_attribute", "--type", "crm_config", "--name", name, "--update", str(value))

    def resources(self):
        """id -> (role, [nodes it is active on]) from crm_mon's XML."""
        rc, out = run([*self.inside(self.tool_host), "crm_mon", "-1", "--output-as=xml"],
                      check=False, timeout=30)
        if rc != 0:
            return {}
        res = {}
        for r in ET.fromstring(out).iter("resource"):
            res[r.get("id")] = (r.get("role"), [n.get("name") for n in r.iter("node")])
        return res

    def wait_placed(self, ids, node, timeout, poll=0.5):
        """Time at which every resource of ids was Started on node (only
        there), polling crm_mon; BenchError after timeout."""
        deadline = time.time() + timeout
        while True:
            now = time.time()
            state = self.resources()
            bad = [r for r in ids if state.get(r) != ("Started", [node])]
            if not bad:
                return now
            if now > deadline:
                raise BenchError(f"after {timeout} s not Started on {node}: "
                                 f"{[(r, state.get(r)) for r in bad[:5]]}")
            time.sleep(poll)

    def settle(self, timeout=300):
        """crm_resource --wait: no transition left to run."""
        self.tool("crm_resource", "--wait", f"--timeout={timeout}s", timeout=timeout + 30)

    def lab_pids(self):
        """Machine-wide PIDs of everything in the lab's network namespaces."""
        pids = set()
        for i in self.pids:
            out = run(["ip", "netns", "pids", f"{self.prefix}-n{i}"], check=False)[1]
            pids |= {int(x) for x in out.split()}
        return pids

    def pid_of(self, i, comm):
        """The machine-wide PID of the process named comm on nI."""
        out = run(["ip", "netns", "pids", f"{self.prefix}-n{i}"])[1]
        for pid in out.split():
            try:
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().strip() == comm:
                        return int(pid)
            except OSError:
                pass
        raise BenchError(f"n{i}: no {comm} process")

    def account_execd(self, i):
        """Moves nI's pacemaker-execd into a cpuacct cgroup of its own: the
        agents it forks (and everything they fork) are accounted there."""
        pid = self.pid_of(i, "pacemaker-execd")
        cg = os.path.join(CGROOT, f"{self.prefix}scale-n{i}")
        os.makedirs(cg, exist_ok=True)
        self.cgroups.append(cg)
        with open(os.path.join(cg, "cgroup.procs"), "w") as f:
            f.write(str(pid))
        return Meter(cg, pid, self.pid_of(i, "libvirtd"))

    def down(self):
        super().down()
        for cg in self.cgroups:
            for _ in range(50):
                try:
                    os.rmdir(cg)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)
        self.cgroups = []

    def monitors(self, i, since, until):
        """Every monitor execd finished on nI in [since, until)."""
        return parse_monitors(os.path.join(self.w, f"n{i}", "log", "pacemaker.log"), since, until)


def parse_monitors(path, since, until):
    """Every monitor finished in [since, until) by the pacemaker-execd
    whose log is path: dicts of rsc, t_end, exec (as logged), queue, rc
    (None when it could not be executed), status (execd's reason then,
    e.g. 'Timed Out')."""
    ops = []
    with open(path, errors="replace") as f:
        for line in f:
            if "(log_finished)" not in line:
                continue
            m = FINISHED.match(line.rstrip("\n"))
            if not m:
                continue
            t = log_time(m.group(1))
            if since <= t < until:
                ops.append({"rsc": m.group(2), "t_end": t,
                            "exec": _secs(m.group(6), m.group(7)),
                            "queue": _secs(m.group(8), m.group(9)),
                            "rc": int(m.group(4)) if m.group(4) else None,
                            "status": (m.group(5) or "").strip()})
    return ops


def _stat(pid):
    """(own CPU s, reaped children's CPU s) of PID from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ut, st, cut, cst = (int(x) for x in fields[11:15])
    return (ut + st) / HZ, (cut + cst) / HZ


def _all_procs():
    """pid -> (comm, CPU s) of every process of the machine."""
    out = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    head, rest = f.read().rsplit(")", 1)
                fields = rest.split()
                out[int(pid)] = (head.split("(", 1)[1], (int(fields[11]) + int(fields[12])) / HZ)
            except (OSError, IndexError, ValueError):
                pass
    return out


def others(a, b, mine, top=5):
    """The processes outside the lab (pids not in mine) that took the most
    CPU between snapshots a and b: [(comm, CPU s)], summed by name."""
    by = {}
    for pid, (comm, t) in b["procs"].items():
        if pid in mine:
            continue
        t0 = a["procs"].get(pid, (comm, 0.0))[1]
        by[comm] = by.get(comm, 0.0) + t - t0
    return sorted(((c, round(t, 1)) for c, t in by.items() if t > 0), key=lambda x: -x[1])[:top]


def _machine_busy():
    """(busy, total) jiffies of the whole machine from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - v[4], sum(v)


class Meter:
    """Snapshots of the cgroup holding execd, execd's and libvirtd's stat."""

    def __init__(self, cg, execd, libvirtd):
        self.cg, self.execd, self.libvirtd = cg, execd, libvirtd

    def snap(self):
        with open(os.path.join(self.cg, "cpuacct.usage")) as f:
            usage = int(f.read()) / 1e9
        own, reaped = _stat(self.execd)
        return {"t": time.time(), "cgroup": usage, "execd": own, "reaped": reaped,
                "libvirtd": _stat(self.libvirtd)[0], "machine": _machine_busy(),
                "procs": _all_procs()}

    @staticmethod
    def delta(a, b):
        """CPU seconds over [a, b]: children (cgroup minus execd itself),
        children reaped by execd (cutime+cstime), execd, libvirtd; the
        machine's busy share of its cores."""
        mb, mt = (y - x for x, y in zip(a["machine"], b["machine"]))
        return {"secs": b["t"] - a["t"],
                "children": b["cgroup"] - a["cgroup"] - (b["execd"] - a["execd"]),
                "reaped": b["reaped"] - a["reaped"], "execd": b["execd"] - a["execd"],
                "libvirtd": b["libvirtd"] - a["libvirtd"],
                "machine_busy": mb / mt if mt else 0.0}

