"""Cluster-scale figures (issue #23), behind `bash bench/run.sh scale`: both
agents in a real Pacemaker cluster of the multihost lab (bench/cluster.py).

- cpu: a one-node cluster running N libvirt test-driver domains (hosted by
  the lab host's libvirtd, test+unix:///default) with a 10 s monitor; after
  all are Started and settled, a fixed window in which the CPU taken by
  pacemaker-execd's children (cpuacct cgroup) and execd's record of every
  monitor (its debug lines: execution time, status) are measured.
- drain: two nodes, K tiny qemu TCG guests preferring n1 (allow-migrate,
  tcp, --unsafe as tests/chaos), migration-limit L: `pcs node standby n1`
  until every guest is Started on n2, each guest's downtime (libvirt's
  completed-job figures on the target) and whether it kept its boot (its
  console's ticks); then `pcs node unstandby n1` and the moves back.
- probe: a probe with nothing remembered against the live CIB (Pacemaker's
  IPC), beside the same agent's recurring monitor (bench/probe_live.py).

Raw figures are merged into bench/scale-results.json (one part and agent at
a time can be rerun); the report (bench/scale_report.py) renders them into
the "Cluster scale" section of BENCHMARKS.md and two SVG plots.
Exit status: 0 measured, 1 a benchmark could not run, 2 usage."""

import argparse
import json
import os
import signal
import sys
import time

import scale_report
from cluster import ClusterLab, Meter, log_time, others, primitive
from probe_live import probe_part
from lab import LAB, QEMU, TESTDRV, BenchError, log, run

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AGENTS = ("ours", "anchor")
PARAMS = {
    "full": {"ns": [20, 50, 100], "ks": [4, 8], "limits": [1, 2], "window": 180, "settle": 30,
             "probe_runs": 30},
    "smoke": {"ns": [5], "ks": [2], "limits": [1], "window": 30, "settle": 5, "probe_runs": 3},
}
INTERVAL = 10  # s, the monitor's
LATE = 1.0  # s: a monitor started more than INTERVAL + LATE after the previous one is late
OPS = [("monitor", "10s", "30s"), ("start", "0s", "90s"), ("stop", "0s", "90s")]
MIG_OPS = OPS + [("migrate_to", "0s", "120s"), ("migrate_from", "0s", "60s")]


def _pct(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))] if v else 0.0


def summarize_monitors(ops, n, secs):
    """Runs, lateness and failures of the monitors finished in the window.
    Gaps between two results of a resource, end to end: execd (libcrmservice)
    schedules a recurring monitor an interval after the previous one ended,
    so a gap is the interval plus the later run's time and any delay.
    (execd 2.1.5's "execution time" of a recurring monitor is not used: it
    repeats one stale value on every run.)"""
    ends = {}
    for op in ops:
        ends.setdefault(op["rsc"], []).append(op["t_end"])
    gaps = [b - a for s in ends.values() for a, b in zip(sorted(s), sorted(s)[1:])]
    return {"runs": len(ops), "expected": n * secs / INTERVAL, "resources_seen": len(ends),
            "gaps": len(gaps), "late": sum(g > INTERVAL + LATE for g in gaps),
            "max_gap": max(gaps, default=0.0), "gap_median": _pct(gaps, 0.5),
            "gap_p95": _pct(gaps, 0.95),
            "timeouts": sum("Timed Out" in op["status"] for op in ops),
            "not_ok": sum(op["rc"] != 0 for op in ops)}


def td_xml(workdir, name):
    path = os.path.join(workdir, "td", f"{name}.xml")
    with open(path, "w") as f:
        f.write(f"<domain type='test'>\n  <name>{name}</name>\n  <memory unit='MiB'>128</memory>"
                f"\n  <os>\n    <type arch='x86_64'>hvm</type>\n  </os>\n</domain>\n")
    return path


def cpu_part(a, p, provider):
    """N test-driver guests on a one-node cluster; one entry per N."""
    lab, res = ClusterLab(a.workdir, a.prefix, a.net, a.mignet), []
    try:
        lab.up(1)
        os.makedirs(os.path.join(a.workdir, "td"), mode=0o755, exist_ok=True)
        run([*lab.inside(1), "bash", os.path.join(LAB, "testdrv-keeper.sh"), "start", TESTDRV,
             "/run/vdscale-keeper.pid"], timeout=60)
        lab.pcmk_up([1], debug="pacemaker-execd")
        meter = lab.account_execd(1)
        ids = []
        for n in p["ns"]:
            new = [f"vm-td-{j:03d}" for j in range(len(ids) + 1, n + 1)]
            t0 = time.time()
            lab.add_section("resources", [primitive(
                r, provider, {"config": td_xml(a.workdir, "vds-td-" + r[-3:]),
                              "hypervisor": TESTDRV}, ops=OPS) for r in new])
            ids += new
            lab.wait_placed(ids, "n1", timeout=60 + 6 * n)
            lab.settle()
            started = time.time() - t0
            time.sleep(p["settle"])
            s0 = meter.snap()
            time.sleep(p["window"])
            s1 = meter.snap()
            d = Meter.delta(s0, s1) | {"others": others(s0, s1, lab.lab_pids() | {os.getpid()})}
            mon = summarize_monitors(lab.monitors(1, s0["t"], s1["t"]), n, d["secs"])
            d |= {"n": n, "start_all": started, "monitors": mon, "t0": s0["t"]}
            res.append(d)
            log(f"cpu {provider} N={n}: children {d['children'] / d['secs'] * 60:.1f} s/min "
                f"(reaped {d['reaped'] / d['secs'] * 60:.1f}), {mon['runs']} monitors of "
                f"{mon['expected']:.0f}, late {mon['late']}/{mon['gaps']}, timeouts "
                f"{mon['timeouts']}, longest gap {mon['max_gap']:.1f} s, "
                f"machine busy {d['machine_busy'] * 100:.0f} %, others {d['others']}")
    finally:
        lab.down()
    return res


def _moved_at(lab, i, rid, since):
    """Time of the controller's `Result of migrate_from operation for RID on
    nI: ok` after since (None if the guest did not migrate there)."""
    needle = f"Result of migrate_from operation for {rid} on n{i}: ok"
    best = None
    with open(os.path.join(lab.w, f"n{i}", "log", "pacemaker.log"), errors="replace") as f:
        for line in f:
            if needle in line:
                t = log_time(line)
                if t >= since and (best is None or t < best):
                    best = t
    return best


def throttle_modes(paths, since, until):
    """The controllers' throttle modes logged in [since, until) ('New
    throttle mode: high load (was medium)'): Pacemaker runs fewer jobs at
    once on a node whose load average is high, whatever migration-limit."""
    modes = []
    for path in paths:
        with open(path, errors="replace") as f:
            for line in f:
                if "New throttle mode:" in line and since <= log_time(line) < until:
                    modes.append(line.split("New throttle mode:", 1)[1].split("(")[0].strip())
    return modes


def _move(lab, cmd, dst, ids, guests, boots):
    """`pcs node CMD n1`, then every guest Started on nDST: the figures."""
    t0 = time.time()
    lab.tool("pcs", "node", cmd, "n1")
    t_all = lab.wait_placed(ids, f"n{dst}", timeout=900)
    lab.settle()
    per = []
    for rid, g in zip(ids, guests):
        moved = _moved_at(lab, dst, rid, t0 - 1)
        boot = lab.live_tick(dst, g, 30)[0]
        _, down = lab.job_downtime(dst, g) if moved else (None, None)
        per.append({"guest": g, "moved": None if moved is None else moved - t0,
                    "downtime": down, "live": boot == boots[g]})
    logs = [os.path.join(lab.w, f"n{i}", "log", "pacemaker.log") for i in (1, 2)]
    return {"total": t_all - t0, "guests": per,
            "throttle": throttle_modes(logs, t0 - 30, time.time())}


def drain_part(a, p, provider):
    """K qemu guests on n1 of a 2-node cluster; standby/unstandby per K, L."""
    lab, res = ClusterLab(a.workdir, a.prefix, a.net, a.mignet), []
    try:
        lab.up(2)
        lab.pcmk_up([1, 2])
        ids, guests = [], []
        for k in p["ks"]:
            new = [f"vds-g{j}" for j in range(len(guests) + 1, k + 1)]
            frags, cons = [], []
            for g in new:
                rid = "vm-" + g[4:]
                frags.append(primitive(rid, provider, {
                    "config": lab.make_guest(g), "hypervisor": QEMU, "migration_transport": "tcp",
                    "migrate_options": "--unsafe"}, meta={"allow-migrate": "true"}, ops=MIG_OPS))
                cons.append(f'<rsc_location id="loc-{rid}" rsc="{rid}" node="n1" score="100"/>')
                ids.append(rid)
            guests += new
            lab.add_section("resources", frags)
            lab.add_section("constraints", cons)
            lab.wait_placed(ids, "n1", timeout=120 + 30 * k)
            lab.settle()
            boots = {g: lab.live_tick(1, g, 60)[0] for g in guests}
            for limit in p["limits"]:
                lab.set_property("migration-limit", limit)
                out = _move(lab, "standby", 2, ids, guests, boots)
                back = _move(lab, "unstandby", 1, ids, guests, boots)
                res.append({"k": k, "limit": limit, "drain": out, "back": back})
                log(f"drain {provider} K={k} limit={limit}: to n2 {out['total']:.1f} s, back "
                    f"{back['total']:.1f} s, live {sum(x['live'] for x in out['guests'])}/{k}, "
                    f"max downtime {max((x['downtime'] or 0) for x in out['guests']):.3f} s")
    finally:
        lab.down()
    return res


def _save(results, path):
    with open(path + ".tmp", "w") as f:
        json.dump(results, f, indent=1)
    os.replace(path + ".tmp", path)


def _terminate(signum, _frame):
    raise SystemExit(128 + signum)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=PARAMS, default="full")
    ap.add_argument("--agent", help="our VirtualDomain binary (installed as --provider)")
    ap.add_argument("--anchor", default="/usr/lib/ocf/resource.d/heartbeat/VirtualDomain")
    ap.add_argument("--provider", default="vdscale",
                    help="OCF provider directory ours is installed under (not rust: that is "
                         "the installed agent others test)")
    ap.add_argument("--parts", default="cpu,drain,probe")
    ap.add_argument("--agents", default=",".join(AGENTS))
    ap.add_argument("--window", type=int, help="seconds (default: the mode's)")
    ap.add_argument("--settle", type=int, help="seconds after all are Started before a window")
    ap.add_argument("--results", default=os.path.join(REPO, "bench", "scale-results.json"))
    ap.add_argument("--out", default=os.path.join(REPO, "BENCHMARKS.md"))
    ap.add_argument("--report-only", action="store_true", help="render the results file only")
    ap.add_argument("--note", action="append", default=[],
                    help="what else ran on the machine meanwhile (kept in the report; repeatable)")
    ap.add_argument("--workdir", default="/srv/vds-scale")
    ap.add_argument("--prefix", default="vds")
    ap.add_argument("--net", default="10.213.21")
    ap.add_argument("--mignet", default="10.213.121")
    a = ap.parse_args()
    parts, agents = a.parts.split(","), a.agents.split(",")
    if set(parts) - {"cpu", "drain", "probe"} or set(agents) - set(AGENTS):
        ap.error("--parts: cpu,drain,probe; --agents: ours,anchor")
    if a.provider in ("heartbeat", "rust", "pacemaker"):
        ap.error(f"--provider {a.provider}: not a directory of its own")
    p = dict(PARAMS[a.mode], **{k: v for k, v in (("window", a.window), ("settle", a.settle))
                                   if v})
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(s, _terminate)
    results = {}
    if os.path.exists(a.results):
        with open(a.results) as f:
            results = json.load(f)
    for note in a.note:
        where = "" if a.report_only else f" ({a.parts}; {a.agents})"
        results.setdefault("notes", []).append(f"{time.strftime('%H:%M')}{where}: {note}")
    if a.note and a.report_only:
        _save(results, a.results)
    if not a.report_only:
        if "ours" in agents and not a.agent:
            ap.error("--agent is needed to measure ours")
        dst = f"/usr/lib/ocf/resource.d/{a.provider}/VirtualDomain"
        providers = {"ours": a.provider, "anchor": "heartbeat"}
        os.makedirs(a.workdir, mode=0o755, exist_ok=True)
        os.chmod(a.workdir, 0o755)
        try:
            if "ours" in agents:
                run(["install", "-D", "-m", "0755", a.agent, dst])
            for part in parts:
                if part == "probe":  # both agents in one cluster, side by side
                    at = {g: dst if g == "ours" else a.anchor for g in agents}
                    results["probe"] = {"mode": a.mode, "when": time.strftime("%F %T %Z"),
                                        "load_before": "%.2f %.2f %.2f" % os.getloadavg(),
                                        "data": probe_part(a, p, at)}
                    _save(results, a.results)
                    continue
                for agent in agents:
                    log(f"{a.mode}: {part}, {agent}")
                    fn = cpu_part if part == "cpu" else drain_part
                    entry = {"mode": a.mode, "params": p, "when": time.strftime("%F %T %Z"),
                             "load_before": "%.2f %.2f %.2f" % os.getloadavg(),
                             "data": fn(a, p, providers[agent])}
                    results.setdefault(part, {})[agent] = entry
                    results["machine"] = scale_report.machine()
                    _save(results, a.results)
        except BenchError as e:
            log(f"FAILED: {e}")
            return 1
        finally:
            if "ours" in agents and os.path.exists(dst):
                os.unlink(dst)
                os.rmdir(os.path.dirname(dst))
    scale_report.write(results, a.out, os.path.join(REPO, "bench", "plots"))
    log(f"section 'Cluster scale' written to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
