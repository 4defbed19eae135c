#!/usr/bin/env python3
"""Lab power switch: a small service in the root namespace that powers multihost lab hosts off and
on by name, as a PDU would, for the fence agent fence_vdlab (which runs inside the lab hosts and
reaches this service over a Unix socket on the shared filesystem: pathname sockets cross network
namespaces). Off = tests/multihost/host-kill.sh (SIGKILL to the host's init: everything on it dies
at once); on = host-start.sh, then the host "boots" its cluster stack (pcmk-up.sh for that node,
in the background, as a real host starting corosync and Pacemaker at boot) and rejoins.

    powerswitch.py WORKDIR SOCKET [LOG]

Protocol, one line each way: "off nI" / "on nI" / "status nI" / "list", optionally followed by
"by=WHO" (the campaign's own power faults say by=campaign; the fence agent says nothing) ->
"ok ..." / "on" / "off" / "err REASON". Every request and its result is logged with its time.
"""
import os
import socketserver
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MH = os.path.join(os.path.dirname(HERE), "multihost")
W, SOCK = sys.argv[1], sys.argv[2]
LOG = sys.argv[3] if len(sys.argv) > 3 else os.path.join(W, "power.log")
LOCK = threading.Lock()  # one power operation at a time, as on one PDU


def log(msg):
    with open(LOG, "a") as f:
        f.write("%.3f %s\n" % (time.time(), msg))


def hosts():
    env = {}
    with open(os.path.join(W, "lab.env")) as f:
        for line in f:
            if "=" in line:
                k, v = line.strip().split("=", 1)
                env[k] = v.strip("'\"")
    return env, ["n%d" % i for i in range(1, int(env["N"]) + 1)]


def is_on(i):
    env, _ = hosts()
    try:
        pid = open(os.path.join(W, "n%s" % i, "init.pid")).read().strip()
        ns = subprocess.run(["ip", "netns", "identify", pid], capture_output=True, text=True).stdout.strip()
        return ns == "%s-n%s" % (env["PREFIX"], i)
    except OSError:
        return False


def run(*cmd, **kw):
    r = subprocess.run(list(cmd), capture_output=True, text=True, timeout=kw.get("timeout", 60), env=kw.get("env"))
    return r.returncode, (r.stdout + r.stderr).strip().replace("\n", " | ")


def boot_stack(i):
    """The host's boot continues after power-on: its cluster stack starts and rejoins."""
    env = dict(os.environ)
    if os.path.exists(os.path.join(W, "members")):
        env["MEMBERS"] = open(os.path.join(W, "members")).read().strip()
    rc, out = run("bash", os.path.join(MH, "pcmk-up.sh"), W, str(i), timeout=180, env=env)
    log("boot n%s: cluster stack rc=%d %s" % (i, rc, out[-300:]))


def handle(req):
    words = [w for w in req.split() if not w.startswith("by=")]
    _, names = hosts()
    if words == ["list"]:
        return "ok " + " ".join(names)
    if len(words) != 2 or words[0] not in ("on", "off", "status") or words[1] not in names:
        return "err bad request %r" % req
    op, i = words[0], words[1][1:]
    with LOCK:
        if op == "status":
            return "on" if is_on(i) else "off"
        if op == "off":
            if not is_on(i):
                return "ok n%s already off" % i
            rc, out = run("bash", os.path.join(MH, "host-kill.sh"), W, i)
            return "ok %s" % out if rc == 0 else "err host-kill rc=%d %s" % (rc, out)
        if is_on(i):
            return "ok n%s already on" % i
        # a power cycle resets the NICs: a cluster link cut by a partition fault is up again
        env, _ = hosts()
        for dev in ("eth0", "eth1"):
            run("ip", "-n", "%s-n%s" % (env["PREFIX"], i), "link", "set", dev, "up")
        rc, out = run("bash", os.path.join(MH, "host-start.sh"), W, i)
        if rc != 0:
            return "err host-start rc=%d %s" % (rc, out)
        threading.Thread(target=boot_stack, args=(i,), daemon=True).start()
        return "ok %s" % out


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        req = self.rfile.readline().decode(errors="replace").strip()
        t0 = time.time()
        try:
            ans = handle(req)
        except Exception as e:  # a bad request or a failed script: an answer, never a dead switch
            ans = "err %s" % e
        log("%s -> %s (%.2f s)" % (req, ans, time.time() - t0))
        self.wfile.write((ans + "\n").encode())


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


if __name__ == "__main__":
    if os.path.exists(SOCK):
        os.unlink(SOCK)
    srv = Server(SOCK, Handler)
    os.chmod(SOCK, 0o666)
    log("power switch up on %s" % SOCK)
    srv.serve_forever()
