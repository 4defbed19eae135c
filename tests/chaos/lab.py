"""The chaos campaign's lab: a fenced three-host cluster of tests/multihost (hosts in network
namespaces, corosync + Pacemaker, stonith-enabled=true with fence_vdlab on the lab power switch)
and its guests (tiny TCG guests with a counter on a shared raw disk), set up and torn down here so
that campaign.py only injects faults and checks."""
import os
import shutil
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MH = os.path.join(os.path.dirname(HERE), "multihost")
LABD = os.path.join(os.path.dirname(HERE), "lab")
# The guests' disks are raw files on the machine's local filesystem that every lab host sees (as
# shared storage would be): libvirt 9.0 calls any local filesystem unsafe to migrate with, hence
# migrate_options=--unsafe for both agents.
AGENTS = {"rust": "ocf:rust:VirtualDomain", "heartbeat": "ocf:heartbeat:VirtualDomain"}
FENCE_AGENT = "/usr/sbin/fence_vdlab"
# operation timeouts of every guest resource (seconds); the "back in time" bound derives from them
TIMEOUTS = {"start": 30, "stop": 30, "monitor": 20, "migrate_to": 60, "migrate_from": 30}
MONITOR_INTERVAL = 5
STONITH_TIMEOUT = 60


def now():
    return time.time()


class Lab:
    def __init__(self, workdir, prefix, net, hosts, guests, agent, log, snapshot=False):
        self.w, self.prefix, self.net, self.n = workdir, prefix, net, hosts
        # snapshot: every guest gets snapshot=<WORKDIR/snap> (a directory every host sees): its
        # stop saves the RAM state there, its start restores it (the snapshot_full fault)
        self.snapdir = os.path.join(workdir, "snap") if snapshot else None
        self.guests = ["g%d" % k for k in range(1, guests + 1)]
        self.agent, self.log = agent, log
        self.sock = os.path.join(workdir, "power.sock")
        self.switch = None
        self.env = dict(os.environ, PREFIX=prefix, NET=net, MIGNET=net.rsplit(".", 1)[0] + "." +
                        str(100 + int(net.rsplit(".", 1)[1])))

    # --- running things -------------------------------------------------------------------
    def sh(self, *cmd, timeout=60, check=False):
        try:
            r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout,
                               env=self.env)
        except subprocess.TimeoutExpired:
            if check:
                raise RuntimeError("timed out after %ss: %s" % (timeout, " ".join(map(str, cmd))))
            return 124, "timeout"
        out = (r.stdout + r.stderr).strip()
        if check and r.returncode != 0:
            raise RuntimeError("rc=%d: %s\n%s" % (r.returncode, " ".join(map(str, cmd)), out[-2000:]))
        return r.returncode, out

    def x(self, i, *cmd, timeout=30, check=False):
        """CMD on host nI."""
        return self.sh("bash", os.path.join(MH, "hosts-exec.sh"), self.w, i, *cmd, timeout=timeout, check=check)

    def mh(self, script, *args, timeout=120, check=True):
        return self.sh("bash", os.path.join(MH, script), self.w, *args, timeout=timeout, check=check)

    def host_up(self, i):
        try:
            pid = open(os.path.join(self.w, "n%d" % i, "init.pid")).read().strip()
            return os.stat("/proc/%s/ns/net" % pid).st_ino == self.netns_ino(i)
        except (OSError, ValueError):
            return False

    def netns_ino(self, i):
        try:
            return os.stat("/run/netns/%s-n%d" % (self.prefix, i)).st_ino
        except OSError:
            return None

    def up_hosts(self):
        return [i for i in range(1, self.n + 1) if self.host_up(i)]

    def pcs(self, *args, timeout=60, node=None):
        """pcs (or any cluster tool) on a node that is up and in the cluster."""
        nodes = [node] if node else self.up_hosts()
        rc, out = 1, "no host up"
        for i in nodes:
            rc, out = self.x(i, *args, timeout=timeout)
            if rc == 0 or "Unable to" not in out and "connection" not in out.lower():
                return rc, out
        return rc, out

    def power(self, req):
        """A request to the lab power switch (the campaign's own, tagged by=campaign)."""
        import socket
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(90)
        try:
            s.connect(self.sock)
            s.sendall((req + " by=campaign\n").encode())
            return s.makefile().readline().strip()
        finally:
            s.close()

    # --- setup / teardown -----------------------------------------------------------------
    def setup(self):
        t0 = now()
        self.teardown()
        os.makedirs(self.w, exist_ok=True)
        os.chmod(self.w, 0o755)
        for old in ("power.log", "power.stdout"):
            if os.path.exists(os.path.join(self.w, old)):
                os.unlink(os.path.join(self.w, old))
        self.sh("bash", os.path.join(MH, "hosts-up.sh"), self.n, self.w, timeout=180, check=True)
        self.log("lab: %d hosts up" % self.n)
        self.sh("install", "-m", "0755", os.path.join(HERE, "fence_vdlab"), FENCE_AGENT, check=True)
        sed = "s|^DEFAULT_SOCKET = .*|DEFAULT_SOCKET = %r|" % self.sock
        self.sh("sed", "-i", sed, FENCE_AGENT, check=True)
        plog = open(os.path.join(self.w, "power.stdout"), "a")
        self.switch = subprocess.Popen(["python3", os.path.join(HERE, "powerswitch.py"), self.w, self.sock,
                                        os.path.join(self.w, "power.log")], stdout=plog, stderr=plog,
                                       env=self.env, start_new_session=True)
        with open(os.path.join(self.w, "switch.pid"), "w") as f:
            f.write(str(self.switch.pid))
        gdir = os.path.join(self.w, "guest")
        os.makedirs(gdir, exist_ok=True)
        os.chmod(gdir, 0o755)
        for g in self.guests:
            disk = os.path.join(gdir, g + ".disk")
            with open(disk, "wb") as f:
                f.truncate(1 << 20)
            os.chmod(disk, 0o666)
            self.sh("bash", os.path.join(LABD, "make-guest.sh"), "--disk", disk, "--console",
                    "/var/log/libvirt/qemu/%s.console" % g, "--tick-boot", "--counter", g, gdir,
                    timeout=300, check=True)
        snap = []
        if self.snapdir:
            shutil.rmtree(self.snapdir, ignore_errors=True)
            os.makedirs(self.snapdir)
            snap = ["snapshot=" + self.snapdir]
        with open(os.path.join(self.w, "members"), "w") as f:
            f.write(" ".join(str(i) for i in range(1, self.n + 1)))
        self.mh("pcmk-up.sh", timeout=180)
        self.log("lab: cluster of %d nodes online" % self.n)
        rc, out = self.pcs("pcs", "stonith", "create", "fence-lab", "fence_vdlab", "socket=" + self.sock,
                           "pcmk_host_list=" + " ".join("n%d" % i for i in range(1, self.n + 1)),
                           "op", "monitor", "interval=60s")
        if rc != 0:
            raise RuntimeError("pcs stonith create: " + out)
        for prop in ("stonith-enabled=true", "stonith-timeout=%ds" % STONITH_TIMEOUT):
            rc, out = self.pcs("pcs", "property", "set", prop)
            if rc != 0:
                raise RuntimeError("pcs property set %s: %s" % (prop, out))
        ops = ["op", "start", "timeout=%ds" % TIMEOUTS["start"], "op", "stop", "timeout=%ds" % TIMEOUTS["stop"],
               "op", "monitor", "interval=%ds" % MONITOR_INTERVAL, "timeout=%ds" % TIMEOUTS["monitor"],
               "op", "migrate_to", "timeout=%ds" % TIMEOUTS["migrate_to"],
               "op", "migrate_from", "timeout=%ds" % TIMEOUTS["migrate_from"]]
        for g in self.guests:
            rc, out = self.pcs("pcs", "resource", "create", "vm-" + g, AGENTS[self.agent],
                               "config=%s/%s.xml" % (gdir, g), "hypervisor=qemu:///system",
                               "migration_transport=tcp", "migrate_options=--unsafe", *snap, "meta",
                               "allow-migrate=true", *ops, "--force")
            if rc != 0:
                raise RuntimeError("pcs resource create vm-%s: %s" % (g, out))
        self.log("lab: fencing on, %d guests created with %s (%.0f s)" % (len(self.guests), AGENTS[self.agent],
                                                                           now() - t0))

    def teardown(self):
        pidf = os.path.join(self.w, "switch.pid")
        if self.switch is not None:
            self.switch.kill()
            self.switch.wait()
            self.switch = None
        elif os.path.exists(pidf):
            try:  # a switch left by a run that died: only if it is our powerswitch.py
                pid = int(open(pidf).read())
                if b"powerswitch.py" in open("/proc/%d/cmdline" % pid, "rb").read():
                    os.kill(pid, 9)
            except (OSError, ValueError):
                pass
        if os.path.exists(pidf):
            os.unlink(pidf)
        self.sh("bash", os.path.join(MH, "hosts-down.sh"), self.w, timeout=120)
