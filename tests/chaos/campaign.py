#!/usr/bin/env python3
"""The chaos campaign's driver (run.sh runs it under the lab lock): for each agent, a fresh fenced
lab (lab.py), the checker (checker.py) and the seeded fault schedule (faults.py): inject a step,
undo it when its time is up, wait until the cluster settled (every guest runs exactly once, ticks,
and Pacemaker shows it Started there; every node online) within the stated bound, record the
recovery time, fences and operation results; then the Markdown report (report.py)."""
import argparse
import json
import os
import random
import shutil
import signal
import sys
import threading
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checker import Checker  # noqa: E402
from faults import Injector, schedule, sleep_until  # noqa: E402
from lab import MONITOR_INTERVAL, STONITH_TIMEOUT, TIMEOUTS, Lab  # noqa: E402
import report  # noqa: E402

# "back in time": a failed monitor is seen within interval + timeout, then a stop, maybe a fence,
# a start, and a fenced node boots and rejoins (30 s); a fault's own duration comes on top
BACK_BOUND = MONITOR_INTERVAL + TIMEOUTS["monitor"] + TIMEOUTS["stop"] + STONITH_TIMEOUT + TIMEOUTS["start"] + 30
FATAL = ("two copies", "lost", "stale restore")


class Events:
    def __init__(self, path):
        self.path, self.items = path, []

    def __call__(self, msg):
        t = time.time()
        self.items.append((t, msg))
        line = "%s.%03d %s" % (time.strftime("%H:%M:%S", time.gmtime(t)), int(t * 1000) % 1000, msg)
        with open(self.path, "a") as f:
            f.write(line + "\n")
        print(line, flush=True)


def cluster_view(lab, i):
    """What node nI's Pacemaker shows: (quorate, online nodes, {rsc: node where Started}, failures)."""
    rc, out = lab.x(i, "crm_mon", "-1", "--output-as=xml", timeout=15)
    try:
        root = ET.fromstring(out[out.index("<"):]) if rc == 0 else None
    except (ValueError, ET.ParseError):
        root = None
    if root is None:
        return False, set(), {}, False
    dc = root.find("summary/current_dc")
    quorate = dc is not None and dc.get("with_quorum") == "true"
    online = {n.get("name") for n in root.iter("node") if n.get("online") == "true" and n.get("id")}
    started = {}
    for r in root.iter("resource"):
        nodes = [n.get("name") for n in r.iter("node")]
        if r.get("role") == "Started" and len(nodes) == 1 and r.get("failed") == "false":
            started[r.get("id")] = nodes[0]
    return quorate, online, started, root.find("failures") is not None


def settled(lab, chk):
    """(every host up, every node's Pacemaker quorate with all nodes online and every guest Started
    where exactly one qemu of it runs and ticks, failed actions shown)"""
    if len(lab.up_hosts()) != lab.n:
        return False, False
    run, failures = chk.running(), False
    for i in range(1, lab.n + 1):
        quorate, online, started, f = cluster_view(lab, i)
        failures |= f
        if not quorate or len(online) != lab.n:
            return False, failures
        if not all(run[g] and started.get("vm-" + g) == "n%d" % run[g] for g in lab.guests):
            return False, failures
    return True, failures


def wait_settled(lab, chk, deadline, stable=2):
    """The time the cluster settled (then stayed so for `stable` checks a second apart), or None."""
    failures, since, ok_run = False, None, 0
    time.sleep(1.0)  # the checker has polled twice since the fault: its view is not older than it
    while time.time() < deadline and not fatal(chk):
        t = time.time()
        ok, f = settled(lab, chk)
        failures |= f
        if ok:
            since = since or t
            ok_run += 1
            if ok_run >= stable:
                return since, failures
        else:
            since, ok_run = None, 0
        time.sleep(max(0.0, 1 - (time.time() - t)))
    return None, failures


def fatal(chk):
    return any(v[1] in FATAL for v in chk.violations)


def run_agent(args, agent, steps, out):
    ev = Events(os.path.join(out, "events-%s.log" % agent))
    lab = Lab(args.workdir, args.prefix, args.net, 3, args.guests, agent, ev,
              snapshot=any(s["kind"] == "snapshot_full" for s in steps))
    res = {"agent": agent, "seed": args.seed, "minutes": args.minutes, "guests": args.guests,
           "bound": BACK_BOUND, "steps": [], "stopped": None}
    chk = None
    try:
        lab.setup()
        chk = Checker(lab, ev)
        chk.start()
        t, _ = wait_settled(lab, chk, time.time() + BACK_BOUND)
        if t is None:
            raise RuntimeError("the guests never all ran and showed Started after setup")
        inj = Injector(lab, chk, ev)
        end = time.time() + args.minutes * 60
        rng = random.Random(args.seed)
        for n, s in enumerate(steps):
            if time.time() >= end or fatal(chk):
                break
            res["steps"].append(run_step(lab, chk, inj, ev, s, n, rng))
            if res["steps"][-1].get("stuck"):
                res["stopped"] = "not back in time twice in a row: the cluster stays broken"
                break
        if fatal(chk):
            res["stopped"] = "first invariant violation: %s" % chk.violations[0][2]
    except Exception as e:
        ev("campaign error: %r" % e)
        res["stopped"] = "campaign error: %s" % e
    finally:
        if chk:
            chk.stop_flag.set()
            chk.join(5)
            res["violations"] = chk.violations
            res["fences"] = chk.fences
            res["op_results"] = chk.op_results
            res["polls"] = chk.polls
        res["events"] = ev.items
        keep_logs(lab, os.path.join(out, "logs-%s" % agent))
        lab.teardown()
    with open(os.path.join(out, "results-%s.json" % agent), "w") as f:
        json.dump(res, f, indent=1)
    return res


def keep_logs(lab, dest):
    """The hosts' cluster and agent logs, before the next lab's hosts-up.sh wipes them."""
    for i in range(1, lab.n + 1):
        src = os.path.join(lab.w, "n%d" % i, "log")
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(dest, "n%d" % i), dirs_exist_ok=True)
    if os.path.exists(os.path.join(lab.w, "power.log")):
        shutil.copy(os.path.join(lab.w, "power.log"), dest)


def run_step(lab, chk, inj, ev, s, n, rng):
    t0 = time.time()
    ev("--- step %d: %s%s" % (n, s["kind"], " + " + s["with"]["kind"] if s["with"] else ""))
    rec = {"n": n, "kind": s["kind"], "with": s["with"]["kind"] if s["with"] else None, "t0": t0}
    undo = inj.inject(s)
    if undo is None:
        rec["skipped"] = True
        return rec
    side = None
    if s["with"]:  # issued while the fault is active, in a thread: pcs move/standby may wait long
        time.sleep(rng.uniform(0.5, 2))
        side = threading.Thread(target=lambda: undo.extend(inj.inject(s["with"]) or []), daemon=True)
        side.start()
    for d, fn, *early in sorted([u for u in undo if u[0] is not None], key=lambda u: u[0]):
        sleep_until(t0 + d, lambda: fatal(chk) or any(e() for e in early))
        fn()
    if side:
        side.join(BACK_BOUND)
    rec["fault_secs"] = max([u[0] for u in undo if u[0] is not None] + [0])
    t, failures = wait_settled(lab, chk, t0 + rec["fault_secs"] + BACK_BOUND)
    rec["recovery"] = t - t0 if t else None
    if t is None and not fatal(chk):
        chk.violation("not back in time", "step %d (%s): not every guest Started and running within %d s"
                      % (n, s["kind"], rec["fault_secs"] + BACK_BOUND))
    for d, fn, *_ in undo:
        if d is None:
            fn()
    if any(u[0] is None for u in undo) or failures or t is None:
        time.sleep(2)
        if failures or t is None:
            lab.pcs("pcs", "resource", "cleanup")
        t2, _ = wait_settled(lab, chk, time.time() + BACK_BOUND)
        rec["stuck"] = t is None and t2 is None
    rec["t1"] = time.time()
    ev("--- step %d done: recovery %s" % (n, "%.1f s" % rec["recovery"] if t else "NOT back in time"))
    return rec


def merge(dirs, out):
    """One report from the results of runs made one agent at a time (the lab lock is released
    between them): campaign.py --merge DIR... --out DIR."""
    results = []
    for d in dirs:
        for agent in ("rust", "heartbeat"):
            p = os.path.join(d, "results-%s.json" % agent)
            if os.path.exists(p):
                with open(p) as f:
                    results.append(json.load(f))
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write(report.render(results))
    print("report: %s" % os.path.join(out, "report.md"))
    return 0


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--merge":
        return merge(sys.argv[2:-2], sys.argv[-1]) if sys.argv[-2] == "--out" else 2
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--minutes", type=float, required=True)
    ap.add_argument("--agent", choices=["rust", "heartbeat", "both"], default="both")
    ap.add_argument("--guests", type=int, default=2)
    ap.add_argument("--kinds", help="comma-separated fault kinds (default: all but the opt-in job_lock_stop and "
                    "snapshot_full; with snapshot_full every guest gets snapshot=WORKDIR/snap)")
    ap.add_argument("--workdir", default="/srv/vdx-chaos")
    ap.add_argument("--out", help="report directory (default /srv/vdx-chaos-out/seed-N-TIME)")
    ap.add_argument("--prefix", default="vdx")
    ap.add_argument("--net", default="10.213.11")
    args = ap.parse_args()
    out = args.out or "/srv/vdx-chaos-out/seed-%d-%s" % (args.seed, time.strftime("%Y%m%dT%H%M%S"))
    os.makedirs(out, exist_ok=True)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, lambda *_: sys.exit(130))
    steps = schedule(args.seed, kinds=args.kinds.split(",") if args.kinds else None)
    agents = ["rust", "heartbeat"] if args.agent == "both" else [args.agent]
    results = [run_agent(args, a, steps, out) for a in agents]
    path = os.path.join(out, "report.md")
    with open(path, "w") as f:
        f.write(report.render(results))
    print("report: %s" % path)
    ours = [r for r in results if r["agent"] == "rust"]
    bad = [r for r in ours if r.get("violations") or r["stopped"] or report.agent_fences(r)]
    for r in bad:
        print("FAILED (ours): %s" % (r["stopped"] or "%d violations, %d fences caused by the agent"
                                     % (len(r.get("violations", [])), len(report.agent_fences(r)))))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
