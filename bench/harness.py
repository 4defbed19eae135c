"""The benchmark run behind bench/run.sh (stdlib only): prepares the guest
and the offline CIB, runs every figure of bench/figures.py in one go (so the
ratios come from the same minutes on a noisy machine), cleans up whatever it
started even on failure, and writes the report (bench/report.py).

Exit status: 0 when every benchmark ran (goals are reported, not enforced),
1 when one could not run at all, 2 on a usage error."""

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time

import dirty
import figures
import report
import scale_report
from lab import BenchError, Guest, base_env, log, make_cib, run

PARAMS = {
    "full": {"rounds": 3, "runs": 15, "warmup": 3, "rss_reps": 5, "cycles": 5, "domains": 200,
             "mig_cycles": 10, "probe_reps": 15},
    "smoke": {"rounds": 1, "runs": 3, "warmup": 1, "rss_reps": 1, "cycles": 1, "domains": 10,
              "mig_cycles": 1, "probe_reps": 2},
}


class Ctx:
    """What every figure needs: programs, the guest, a scratch directory."""

    def __init__(self, a, tmp):
        self.agent, self.anchor, self.tmp = a.agent, a.anchor, tmp
        self.floor = os.path.join(a.bin, "floor")
        self.events = os.path.join(a.bin, "events")
        self.rss = os.path.join(a.bin, "rss")
        self.guest = Guest(a.guest, a.workdir)
        self.cib = os.path.join(tmp, "cib.xml")
        self.plain_env = base_env()
        self.p = PARAMS[a.mode]
        self.mig_workdir, self.mig_prefix = a.mig_workdir, a.mig_prefix
        self.mig_net, self.mig_mignet = a.mig_net, a.mig_mignet


def _terminate(signum, _frame):
    raise SystemExit(128 + signum)  # unwinds through the finally blocks


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=PARAMS, required=True)
    ap.add_argument("--agent", required=True, help="our VirtualDomain binary")
    ap.add_argument("--anchor", default="/usr/lib/ocf/resource.d/heartbeat/VirtualDomain")
    ap.add_argument("--bin", required=True, help="directory holding floor, events, rss")
    ap.add_argument("--out", required=True, help="where the markdown report goes")
    ap.add_argument("--workdir", default="/srv/vdbench")
    ap.add_argument("--guest", default="bench-g1")
    # the migration figure's 2-host lab (tests/multihost): its own PREFIX and
    # networks, so that it cannot collide with the migration test's (vdm)
    ap.add_argument("--mig-workdir", default="/srv/vdb-lab")
    ap.add_argument("--mig-prefix", default="vdb")
    ap.add_argument("--mig-net", default="10.213.11")
    ap.add_argument("--mig-mignet", default="10.213.111")
    a = ap.parse_args()
    if not a.guest.startswith("bench-"):
        ap.error("the guest's name must start with bench-")
    helpers = [os.path.join(a.bin, x) for x in ("floor", "events", "rss")]
    for path in (a.agent, a.anchor, *helpers):
        if not os.access(path, os.X_OK):
            ap.error(f"not executable: {path}")
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(s, _terminate)

    t_start = time.time()
    mach = report.machine()
    vers = report.versions(a.agent)
    tmp = tempfile.mkdtemp(prefix="vdbench-")
    # HA_RSCTMP lives on a tmpfs on a node (/run/resource-agents): so do the
    # agents' state directories here, and the rest of the scratch with them
    run(["mount", "-t", "tmpfs", "-o", "size=256m,mode=0755", "vdbench", tmp])
    ctx, r = Ctx(a, tmp), {}
    try:
        log(f"{a.mode} run; agent {a.agent}; scratch {tmp}")
        ctx.guest.prepare()
        ctx.guest.ensure_up()
        make_cib(ctx.cib, "bench-o1", "bench-o2", "bench-o3", "bench-o4", "bench-o5", "bench-a1",
                 "bench-a2", "bench-a3", "bench-a4", "bench-a5")
        variants = figures.monitor_variants(ctx)
        figures.check_monitors(variants)
        log("1/2: monitor timing")
        r["monitor"] = figures.monitor_timing(ctx, variants)
        log("3: processes per monitor")
        r["procs"] = figures.process_counts(ctx, variants)
        log("7: size and peak RSS")
        r["size"] = figures.size_and_rss(ctx, variants)
        log("4/8: start and stop cycles")
        r["cycles"] = figures.start_stop_cycles(ctx)
        log("3b: processes per action, probe cost")
        r["life"] = figures.action_processes(ctx)
        log("5: live migration between two lab hosts")
        r["migrate"] = figures.migration(ctx)
        log("6: test-driver domains")
        r["testdrv"] = figures.test_driver_round(ctx)
    except BenchError as e:
        log(f"FAILED: {e}")
        return 1
    finally:
        try:
            ctx.guest.destroy()
        except BenchError as e:
            log(f"cleanup: {e}")
        # unmounting the tmpfs drops its content: the mount point is left
        run(["umount", tmp], check=False)
        shutil.rmtree(tmp, ignore_errors=True)

    mach["load_end"] = "%.2f %.2f %.2f" % os.getloadavg()
    text, goals = report.render(r, mach, vers, a.mode, ctx.p, time.time() - t_start)
    # figure 9 comes from its own run (bench/run.sh migration-dirty): kept
    kept = dirty.carried_block(a.out) if a.mode == "full" else None
    if kept:
        text = dirty.splice(text, kept)
    # the Cluster scale section comes from its own run (bench/run.sh scale): kept
    kept = scale_report.carried(a.out) if a.mode == "full" else None
    if kept:
        text = scale_report.splice(text, kept)
    with open(a.out + ".tmp", "w") as f:
        f.write(text)
    os.replace(a.out + ".tmp", a.out)
    for fig, goal, measured, ok in goals:
        print(f"  [{fig}] {goal}: {measured} -> {'reached' if ok else 'NOT reached'}")
    log(f"report written to {a.out} ({time.time() - t_start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
