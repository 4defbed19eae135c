"""Lab plumbing for bench/harness.py (stdlib only): bounded child processes,
agent environments, offline CIB files, the real qemu guest, the lifecycle
event watcher (bench/events.c) and the test-driver keeper. Kept apart from
the figures so that each benchmark reads as what it measures."""

import os
import signal
import subprocess
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAB = os.path.join(REPO, "tests", "lab")
QEMU = "qemu:///system"
TESTDRV = "test+unix:///default"


class BenchError(Exception):
    """A benchmark could not run at all (wrong rc, guest not up, ...)."""


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _kill_group(p):
    """SIGKILLs the process group run() made for p (p and its descendants)."""
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run(cmd, env=None, timeout=60, check=True, stdin=None):
    """Runs cmd to completion, bounded by timeout, in its own process group
    that is killed on timeout or interruption. Output goes to a file, not a
    pipe, and the wait blocks in waitpid: the return time is cmd's exit
    even if a descendant keeps the output open."""
    with tempfile.TemporaryFile("w+") as out:
        p = subprocess.Popen(cmd, env=env, text=True, start_new_session=True,
                             stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                             stdout=out, stderr=subprocess.STDOUT)
        timer = threading.Timer(timeout, _kill_group, (p,))
        timer.start()
        try:
            if stdin is not None:
                try:
                    p.stdin.write(stdin)
                    p.stdin.close()
                except BrokenPipeError:
                    pass
            p.wait()
        except BaseException:
            _kill_group(p)
            p.wait()
            raise
        finally:
            timer.cancel()
        out.seek(0)
        text = out.read()
    if check and p.returncode != 0:
        raise BenchError(f"{' '.join(cmd)} -> rc {p.returncode}: {text.strip()[-800:]}")
    return p.returncode, text


def timed(cmd, env, timeout=180):
    """Runs cmd; returns (rc, output, t_start, t_exit) on time.time()."""
    t0 = time.time()
    rc, out = run(cmd, env=env, timeout=timeout, check=False)
    return rc, out, t0, time.time()


def virsh(*args, uri=QEMU, check=True, timeout=30):
    return run(["virsh", "-q", "-c", uri, *args], check=check, timeout=timeout)[1]


def base_env():
    """The caller's environment without anything that steers an agent."""
    drop = ("OCF_", "HA_", "CIB_", "CRM_", "PCMK_", "LIBVIRT_DEFAULT_URI")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["LANG"] = env["LC_ALL"] = "C"
    return env


def agent_env(instance, rsctmp, config, uri=QEMU, interval=10000, util=True, cib=None):
    """The OCF environment of one agent run; uri=None leaves `hypervisor`
    unset (libvirt's default URI)."""
    env = base_env()
    env.update(OCF_ROOT="/usr/lib/ocf", OCF_RESOURCE_INSTANCE=instance,
               OCF_RESKEY_config=config,
               OCF_RESKEY_CRM_meta_timeout="90000", HA_RSCTMP=rsctmp)
    if uri:
        env["OCF_RESKEY_hypervisor"] = uri
    if interval:
        env["OCF_RESKEY_CRM_meta_interval"] = str(interval)
    if cib:
        env["CIB_file"] = cib
    if not util:
        for attr in ("cpu", "host_memory", "hv_memory"):
            env[f"OCF_RESKEY_autoset_utilization_{attr}"] = "false"
    os.makedirs(rsctmp, exist_ok=True)
    return env


_EMPTY_CIB = None


def make_cib(path, *resource_ids):
    """An offline CIB (for CIB_file) holding one primitive per id, so that
    crm_resource reads and writes utilization there as with a cluster."""
    global _EMPTY_CIB
    if _EMPTY_CIB is None:
        _EMPTY_CIB = run(["cibadmin", "--empty"])[1]
        if "<resources/>" not in _EMPTY_CIB:
            raise BenchError("cibadmin --empty: no <resources/> element")
    prims = "".join(f'<primitive id="{r}" class="ocf" provider="heartbeat" '
                    f'type="VirtualDomain"/>' for r in resource_ids)
    with open(path, "w") as f:
        f.write(_EMPTY_CIB.replace("<resources/>", f"<resources>{prims}</resources>"))
    return path


def domstate(name, uri=QEMU):
    rc, out = run(["virsh", "-q", "-c", uri, "domstate", name], check=False)
    return out.strip() if rc == 0 else None


class Guest:
    """The tiny TCG guest of tests/lab (obeys ACPI power-off), transient."""

    def __init__(self, name, workdir):
        self.name, self.workdir = name, workdir
        self.xml = os.path.join(workdir, f"{name}.xml")

    def prepare(self):
        os.makedirs(self.workdir, exist_ok=True)
        os.chmod(self.workdir, 0o755)
        run(["bash", os.path.join(LAB, "make-guest.sh"), self.name, self.workdir, "obey"],
            timeout=300)

    def destroy(self):
        """Leaves the domain gone (destroyed; undefined if someone defined it)."""
        if domstate(self.name) is None:
            return
        virsh("destroy", self.name, check=False)
        virsh("undefine", self.name, check=False)
        deadline = time.time() + 30
        while domstate(self.name) not in (None, "shut off"):
            if time.time() > deadline:
                raise BenchError(f"{self.name} does not go away")
            time.sleep(0.1)

    def wait_up(self, timeout=60):
        run(["bash", os.path.join(LAB, "wait-guest.sh"), self.name, self.workdir,
             str(timeout)], timeout=timeout + 10)

    def ensure_up(self):
        state = domstate(self.name)
        if state != "running":
            if state is not None:
                self.destroy()
            virsh("create", self.xml, timeout=60)
        self.wait_up()


class Watcher:
    """bench/events.c on one domain name; events kept as (name, t, detail)."""

    def __init__(self, binary, uri, domain, timeout=900, prefix=()):
        """prefix: an argv prefix, e.g. MultiLab.inside(i) to watch inside a host."""
        self.events, self.lock = [], threading.Condition()
        self.p = subprocess.Popen([*prefix, binary, uri, domain, str(timeout)], text=True,
                                  stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        threading.Thread(target=self._read, daemon=True).start()
        if self.wait_for("ready", 0, 15) is None:
            self.stop()
            raise BenchError("event watcher did not register")

    def _read(self):
        for line in self.p.stdout:
            parts = line.split()
            if len(parts) >= 2:
                with self.lock:
                    self.events.append((parts[0], float(parts[1]), parts[2:]))
                    self.lock.notify_all()

    def wait_for(self, name, since, timeout, until=None):
        """Time of the first `name` event at or after `since` (and before
        `until`, if given), or None."""
        deadline = time.time() + timeout
        with self.lock:
            while True:
                for ev, t, _ in self.events:
                    if ev == name and t >= since and (until is None or t < until):
                        return t
                left = deadline - time.time()
                if left <= 0 or self.p.poll() is not None:
                    return None
                self.lock.wait(left)

    def seen(self, name, since, until):
        """(t, detail) of every `name` event in [since, until)."""
        with self.lock:
            return [(t, d) for ev, t, d in self.events if ev == name and since <= t < until]

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


class Keeper:
    """tests/lab/testdrv-keeper.sh: keeps test+unix:///default's state alive."""

    def __init__(self, pidfile, uri=TESTDRV):
        self.pidfile, self.uri = pidfile, uri

    def start(self):
        run(["bash", os.path.join(LAB, "testdrv-keeper.sh"), "start", self.uri,
             self.pidfile], timeout=60)

    def stop(self):
        run(["bash", os.path.join(LAB, "testdrv-keeper.sh"), "stop", self.uri,
             self.pidfile], timeout=30, check=False)


def virsh_batch(uri, commands, timeout=300):
    """Many virsh commands in one process (stdin); returns the output."""
    return run(["virsh", "-q", "-c", uri], stdin="\n".join(commands) + "\nquit\n",
               timeout=timeout, check=False)[1]


MULTIHOST = os.path.join(REPO, "tests", "multihost")


class MultiLab:
    """The 2-host lab of tests/multihost (hosts n1, n2 in network
    namespaces, each with its own libvirtd) for the migration figure, under
    its own PREFIX/NET/MIGNET/WORKDIR so that it cannot collide with the
    migration test's lab (vdm) or anyone else's. up() brings it up once;
    down() (hosts-down.sh) always runs, also after a failure.

    Agents run inside a host exactly as tests/multihost/agent-run.sh runs
    them (the same execd environment, `timeout -s KILL` at the operation's
    timeout), but entered with nsenter directly so that the harness's
    time.time() after waitpid is the agent's exit, not the end of
    agent-run.sh's bookkeeping. The agent and the watcher are copied to
    WORKDIR/bin, a path every host sees whatever the checkout's place."""

    def __init__(self, workdir, prefix, net, mignet):
        self.w, self.prefix, self.net, self.mignet = workdir, prefix, net, mignet
        self.pids = {}

    def _script(self, name, *args, timeout=120, check=True, env=None):
        """tests/multihost/NAME with the lab's PREFIX/NET/MIGNET (+ env)."""
        env = base_env() | {"PREFIX": self.prefix, "NET": self.net, "MIGNET": self.mignet} | (
            env or {})
        return run(["bash", os.path.join(MULTIHOST, name), *args], env=env, timeout=timeout,
                   check=check)

    def up(self, n=2):
        os.makedirs(self.w, exist_ok=True)
        os.chmod(self.w, 0o755)
        self._script("hosts-up.sh", str(n), self.w, timeout=180)
        for i in range(1, n + 1):
            with open(os.path.join(self.w, f"n{i}", "init.pid")) as f:
                pid = f.read().strip()
            ns = run(["ip", "netns", "identify", pid])[1].strip()
            if ns != f"{self.prefix}-n{i}":
                raise BenchError(f"n{i}: init {pid} sits in netns {ns!r}")
            self.pids[i] = pid
        bindir = os.path.join(self.w, "bin")
        os.makedirs(bindir, exist_ok=True)
        os.chmod(bindir, 0o755)

    def down(self):
        self._script("hosts-down.sh", self.w, timeout=120, check=False)

    def install(self, path, name):
        """A copy of path under WORKDIR/bin, visible inside every host."""
        dst = os.path.join(self.w, "bin", name)
        run(["install", "-m", "0755", path, dst])
        return dst

    def inside(self, i):
        """argv prefix that runs a command on host nI (as hosts-exec.sh)."""
        return ["nsenter", "-t", self.pids[i], "-n", "-m", "-u", "-p", "--"]

    def virsh(self, i, *args, check=True, timeout=30):
        return run([*self.inside(i), "virsh", "-q", "-c", QEMU, *args], check=check,
                   timeout=timeout)[1]

    def state(self, i, name):
        rc, out = run([*self.inside(i), "virsh", "-q", "-c", QEMU, "domstate", name],
                      check=False)
        return out.strip() if rc == 0 else None

    def job_downtime(self, i, name):
        """(job time, downtime) in seconds from `virsh domjobinfo --completed`
        on nI, a migration's target (libvirt's own figures for the last job)."""
        out = self.virsh(i, "domjobinfo", "--completed", name, check=False)
        field = {}
        for line in out.splitlines():
            key, _, val = line.partition(":")
            words = val.split()
            if len(words) == 2 and words[1] == "ms":
                field[key.strip()] = float(words[0]) / 1000
        if "Total downtime" not in field:
            raise BenchError(f"domjobinfo --completed {name} on n{i}: no downtime: "
                             f"{out.strip()[-300:]}")
        return field.get("Time elapsed"), field["Total downtime"]

    def make_guest(self, name):
        self._script("guest-make.sh", self.w, name, "obey", timeout=300)
        return os.path.join(self.w, "guest", f"{name}.xml")

    def live_tick(self, i, name, wait=30):
        """(boot, tick) of a tick happening now on nI (guest-tick.sh --live)."""
        out = self._script("guest-tick.sh", "--live", "--wait", str(wait), self.w, str(i), name,
                           timeout=wait + 10)[1]
        boot, tick = out.split()[-2:]
        return boot, int(tick)

    def execd_env(self, i, provider, action, rsc, params, timeout_ms):
        """pacemaker-execd's environment for one agent action on nI, as
        agent-run.sh gives it (params: OCF_RESKEY_ names without prefix; a
        monitor without CRM_meta_interval is a probe, without
        CRM_meta_name)."""
        log_file = os.path.join(self.w, f"n{i}", "log", "agent.log")
        env = {"OCF_ROOT": "/usr/lib/ocf", "OCF_RA_VERSION_MAJOR": "1",
               "OCF_RA_VERSION_MINOR": "1", "OCF_RESOURCE_INSTANCE": rsc,
               "OCF_RESOURCE_TYPE": "VirtualDomain", "OCF_RESOURCE_PROVIDER": provider,
               "OCF_EXIT_REASON_PREFIX": "ocf-exit-reason:",
               "OCF_RESKEY_crm_feature_set": "3.16.1",
               "OCF_RESKEY_CRM_meta_timeout": str(timeout_ms),
               "OCF_RESKEY_CRM_meta_on_node": f"n{i}", "OCF_RESKEY_CRM_meta_on_node_uuid": str(i),
               "HA_LOGFILE": log_file, "PCMK_logfile": log_file, "HA_debug": "0",
               "HA_logfacility": "none", "PCMK_service": "pacemaker-execd",
               "HA_cluster_type": "corosync", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
               "LANG": "C.UTF-8", "HOME": "/root"}
        if action != "monitor" or str(params.get("CRM_meta_interval", "0")) != "0":
            env["OCF_RESKEY_CRM_meta_name"] = action
        if action == "migrate_to":
            env["OCF_RESKEY_CRM_meta_record_pending"] = "true"
        return env | {f"OCF_RESKEY_{k}": v for k, v in params.items()}

    def agent(self, i, binary, provider, action, rsc, params, timeout_ms, wrap=()):
        """argv of one agent action on nI with pacemaker-execd's environment
        (execd_env), killed at the timeout; wrap: a command the agent runs
        under (strace)."""
        env = self.execd_env(i, provider, action, rsc, params, timeout_ms)
        secs = str((timeout_ms + 999) // 1000)
        return [*self.inside(i), "env", "-i", *(f"{k}={v}" for k, v in env.items()),
                "timeout", "-s", "KILL", secs, *wrap, binary, action]
