"""The benchmarks of bench/harness.py, one function per figure of
BENCHMARKS.md. Each returns plain numbers (seconds, counts, bytes) and
raises BenchError when a benchmark cannot run at all (an agent's wrong rc,
a guest that does not come up, a missing event): the smoke run relies on
that. None of them judges a timing goal (report.py does, without failing)."""

import glob
import json
import os
import re
import resource
import shlex
import shutil
import statistics
import time

from lab import QEMU, TESTDRV, BenchError, Keeper, MultiLab, Watcher, agent_env, log, make_cib
from lab import domstate, run, timed, virsh, virsh_batch

AGENTS = ("ours", "anchor")


def monitor_variants(ctx):
    """name -> (argv, env) of the seven monitor commands of figure 1."""
    g, cib, d = ctx.guest, ctx.cib, ctx.tmp
    return {
        "floor": ([ctx.floor, QEMU, g.name], ctx.plain_env),
        "ours": ([ctx.agent, "monitor"], agent_env("bench-o1", f"{d}/rsc-ours", g.xml, cib=cib)),
        "ours, utilization off": ([ctx.agent, "monitor"], agent_env(
            "bench-o2", f"{d}/rsc-ours-off", g.xml, cib=cib, util=False)),
        "anchor": ([ctx.anchor, "monitor"], agent_env("bench-a1", f"{d}/rsc-anchor", g.xml, cib=cib)),
        "anchor, utilization off": ([ctx.anchor, "monitor"], agent_env(
            "bench-a2", f"{d}/rsc-anchor-off", g.xml, cib=cib, util=False)),
        "ours, hypervisor unset": ([ctx.agent, "monitor"], agent_env(
            "bench-o3", f"{d}/rsc-ours-unset", g.xml, uri=None, cib=cib)),
        "anchor, hypervisor unset": ([ctx.anchor, "monitor"], agent_env(
            "bench-a3", f"{d}/rsc-anchor-unset", g.xml, uri=None, cib=cib)),
    }


def check_monitors(variants):
    """One monitor of each (steady state afterwards: utilization written)."""
    for name, (cmd, env) in variants.items():
        rc, out = run(cmd, env=env, check=False, timeout=60)
        if rc != 0:
            raise BenchError(f"monitor ({name}) rc {rc}, expected 0: {out.strip()[-500:]}")


def monitor_timing(ctx, variants):
    """Figure 1: hyperfine -N, in rounds that cycle through the variants so
    that a noisy moment does not fall on one variant only; times pooled."""
    out = {name: {"times": [], "cpu": []} for name in variants}
    for rnd in range(ctx.p["rounds"]):
        for name, (cmd, env) in variants.items():
            js = os.path.join(ctx.tmp, "hyperfine.json")
            runs, warm = ctx.p["runs"], ctx.p["warmup"]
            run(["hyperfine", "-N", "--style", "none", "-w", str(warm), "-r", str(runs),
                 "--export-json", js, shlex.join(cmd)], env=env, timeout=60 + 5 * (runs + warm))
            with open(js) as f:
                r = json.load(f)["results"][0]
            if any(c != 0 for c in r["exit_codes"]):
                raise BenchError(f"monitor ({name}) exit codes {r['exit_codes']}")
            out[name]["times"] += r["times"]
            out[name]["cpu"].append(r["user"] + r["system"])
        log(f"monitor round {rnd + 1}/{ctx.p['rounds']} done")
    return {name: {"median": statistics.median(v["times"]), "cpu": statistics.fmean(v["cpu"]),
                   "runs": len(v["times"])} for name, v in out.items()}


_CLONE = re.compile(r"^(clone3?|v?fork)\(")
_RET = re.compile(r"=\s*(\d+)\s*$")


STRACE = ["strace", "-ff", "-qq", "-e", "trace=process"]


def _tasks(d):
    """(processes, threads) created, from the strace -ff files t.* in d:
    clone/fork calls that returned a task id (one file per task, so no
    interleaved lines); the traced command itself is not counted."""
    procs = threads = 0
    for path in glob.glob(f"{d}/t.*"):
        with open(path) as f:
            for line in f:
                m = _RET.search(line)
                if _CLONE.match(line) and m and int(m.group(1)) > 0:
                    if "CLONE_THREAD" in line:
                        threads += 1
                    else:
                        procs += 1
    return procs, threads


def _traced(ctx, label, cmd, env):
    """(rc, output, processes, threads) of cmd run under strace -ff."""
    d = os.path.join(ctx.tmp, "strace-" + re.sub(r"\W+", "-", label))
    os.makedirs(d)
    rc, out = run([*STRACE, "-o", f"{d}/t", *cmd], env=env, check=False, timeout=180)
    return (rc, out, *_tasks(d))


def process_counts(ctx, variants):
    """Figure 3: processes (and threads) created by one steady-state run."""
    res = {}
    for name, (cmd, env) in variants.items():
        rc, out, procs, threads = _traced(ctx, name, cmd, env)
        if rc != 0:
            raise BenchError(f"monitor ({name}) under strace rc {rc}: {out.strip()[-500:]}")
        res[name] = {"processes": procs, "threads": threads}
    return res


# figure 3b: the actions of one life of the resource on a node, in order, with
# the rc each must give (None: the action is not the agent's)
LIFE = [("probe (nothing remembered)", "monitor", 0, 7), ("start", "start", 0, 0),
        ("monitor", "monitor", 10000, 0), ("status", "status", 0, 0),
        ("reload-agent", "reload-agent", 0, "ours only"), ("stop", "stop", 0, 0)]


def action_processes(ctx):
    """Figure 3b: processes each action of a resource's life creates, utilization
    on (the offline CIB), a fresh HA_RSCTMP so the probe is the one of a node
    that never ran the guest. The guest is down at the start and at the end."""
    g, d = ctx.guest, ctx.tmp
    g.destroy()
    res = {}
    for agent in AGENTS:
        binary = ctx.agent if agent == "ours" else ctx.anchor
        instance = "bench-o5" if agent == "ours" else "bench-a5"
        rsctmp = f"{d}/rsc-life-{agent}"
        res[agent] = {}
        for label, action, interval, want in LIFE:
            if want == "ours only" and agent != "ours":
                continue
            env = agent_env(instance, rsctmp, g.xml, interval=interval, cib=ctx.cib)
            rc, out, procs, threads = _traced(ctx, f"life-{agent}-{label}", [binary, action], env)
            if rc != (0 if want == "ours only" else want):
                raise BenchError(f"{label} ({agent}) under strace rc {rc}: {out.strip()[-500:]}")
            res[agent][label] = {"processes": procs, "threads": threads}
            if action == "start":
                g.wait_up()  # so that the stop below is a graceful one
    # what such a probe costs (untraced), beside figure 1's steady monitor
    probes = {a: [] for a in AGENTS}
    for i in range(ctx.p["probe_reps"]):
        for agent in AGENTS if i % 2 == 0 else AGENTS[::-1]:
            rsctmp = f"{d}/rsc-probe-{agent}"
            shutil.rmtree(rsctmp, ignore_errors=True)
            binary = ctx.agent if agent == "ours" else ctx.anchor
            instance = "bench-o4" if agent == "ours" else "bench-a4"
            env = agent_env(instance, rsctmp, g.xml, interval=0, cib=ctx.cib)
            rc, out, t0, t1 = timed([binary, "monitor"], env)
            if rc != 7:
                raise BenchError(f"probe ({agent}) rc {rc}, expected 7: {out.strip()[-300:]}")
            probes[agent].append(t1 - t0)
    for agent in AGENTS:
        res[agent]["probe_wall"] = statistics.median(probes[agent])
    return res


def _maxrss(ctx, cmd, env):
    """Peak RSS (bytes) of the largest process of cmd's tree (bench/rss.c)."""
    rc, out = run([ctx.rss, *cmd], env=env, check=False, timeout=60)
    lines = [x for x in out.splitlines() if x.startswith("maxrss_kib ")]
    if rc != 0 or not lines:
        raise BenchError(f"{cmd[0]} rc {rc} while measuring RSS: {out.strip()[-300:]}")
    return int(lines[-1].split()[1]) * 1024


def size_and_rss(ctx, variants):
    """Figure 7: stripped binary size, peak RSS of one monitor."""
    stripped = os.path.join(ctx.tmp, "VirtualDomain.stripped")
    run(["strip", "-o", stripped, ctx.agent])
    res = {"size": os.path.getsize(stripped), "size_as_built": os.path.getsize(ctx.agent),
           "rss": {}}
    for name in ("floor", "ours", "anchor"):
        cmd, env = variants[name]
        res["rss"][name] = statistics.median(
            _maxrss(ctx, cmd, env) for _ in range(ctx.p["rss_reps"]))
    return res


def _agent_cmd(ctx, agent, action, interval=0):
    d, g = ctx.tmp, ctx.guest
    if agent == "ours":
        return [ctx.agent, action], agent_env("bench-o1", f"{d}/rsc-ours", g.xml,
                                              interval=interval, cib=ctx.cib)
    return [ctx.anchor, action], agent_env("bench-a1", f"{d}/rsc-anchor", g.xml,
                                           interval=interval, cib=ctx.cib)


def start_stop_cycles(ctx):
    """Figures 4 and 8, alternating agents: start (to the STARTED event and
    to the agent's exit), wait until the guest's OS is up (ACPI works only
    then), stop (the agent's exit minus the STOPPED event), then check that
    a monitor says 7 (so the fast monitors of figure 1 are not blind)."""
    g = ctx.guest
    g.destroy()
    res = {a: {"to_started": [], "start_exit": [], "exit_after_started": [], "monitor": [],
               "exit_after_started_less_monitor": [], "exit_after_stopped": [], "stop_exit": []}
           for a in AGENTS}
    w = Watcher(ctx.events, QEMU, g.name)
    try:
        for i in range(ctx.p["cycles"]):
            for agent in AGENTS if i % 2 == 0 else AGENTS[::-1]:
                cmd, env = _agent_cmd(ctx, agent, "start")
                rc, out, t0, t1 = timed(cmd, env)
                started = w.wait_for("STARTED", t0, 10)
                if rc != 0 or started is None:
                    raise BenchError(f"start ({agent}) rc {rc}, STARTED event "
                                     f"{'missing' if started is None else 'seen'}: {out[-500:]}")
                res[agent]["to_started"].append(started - t0)
                res[agent]["start_exit"].append(t1 - t0)
                res[agent]["exit_after_started"].append(t1 - started)
                g.wait_up()
                # the one monitor a start owes, as it costs in the steady state
                # (same clock as the start: time.time() around the waitpid)
                cmd, env = _agent_cmd(ctx, agent, "monitor", interval=10000)
                run(cmd, env=env, check=False)
                rc, out, m0, m1 = timed(cmd, env)
                if rc != 0:
                    raise BenchError(f"monitor ({agent}) after start rc {rc}: {out[-500:]}")
                res[agent]["monitor"].append(m1 - m0)
                res[agent]["exit_after_started_less_monitor"].append(t1 - started - (m1 - m0))
                cmd, env = _agent_cmd(ctx, agent, "stop")
                rc, out, t0, t1 = timed(cmd, env)
                stopped = w.wait_for("STOPPED", t0, 10)
                if rc != 0 or stopped is None or domstate(g.name) == "running":
                    raise BenchError(f"stop ({agent}) rc {rc}, STOPPED event "
                                     f"{'missing' if stopped is None else 'seen'}: {out[-500:]}")
                cmd, env = _agent_cmd(ctx, agent, "monitor", interval=10000)
                rc, out = run(cmd, env=env, check=False)
                if rc != 7:  # a monitor that says "running" now would be a broken one
                    raise BenchError(f"monitor ({agent}) after stop rc {rc}, expected 7: {out}")
                res[agent]["exit_after_stopped"].append(t1 - stopped)
                res[agent]["stop_exit"].append(t1 - t0)
                log(f"cycle {i + 1}, {agent}: start {res[agent]['start_exit'][-1]:.2f} s, exit "
                    f"{1000 * res[agent]['exit_after_started'][-1]:.0f} ms after STARTED "
                    f"(monitor {1000 * res[agent]['monitor'][-1]:.0f} ms), stop "
                    f"{t1 - t0:.2f} s, exit {1000 * (t1 - stopped):.0f} ms after STOPPED")
    finally:
        w.stop()
    return {a: {k: statistics.median(v) for k, v in r.items()} | {"n": len(r["stop_exit"])}
            for a, r in res.items()}


MIG_NAME = "vdb-g1"
MIG_TO_MS, MIG_FROM_MS = 120000, 60000  # pcs's defaults, as agent-run.sh


def _downtime(lab, host):
    """(job time, downtime) of the last migration of the guest to nHOST."""
    return lab.job_downtime(host, MIG_NAME)


def migration(ctx):
    """Figure 5: Pacemaker-style live migrations between the two hosts of
    the multihost lab (brought up once, PREFIX vdb): migrate_to on the
    source, then migrate_from on the target, agents alternating (the guest
    goes back and forth). bench/events.c runs inside each host and stamps
    the target's RESUMED event (the domain runs there); the agents' exits
    are taken after waitpid. Downtime: the target's completed job."""
    lab = MultiLab(ctx.mig_workdir, ctx.mig_prefix, ctx.mig_net, ctx.mig_mignet)
    keys = ("to_wall", "from_wall", "whole", "exit_after_running", "libvirt_tail", "to_tail",
            "agent_share", "outside_job", "gap", "job", "downtime", "event_downtime")
    res = {a: {k: [] for k in keys} | {"foreign_pauses": []} for a in AGENTS}
    traced = {}
    watchers = []
    try:
        t_up = time.time()
        lab.up(2)
        events = lab.install(ctx.events, "events")
        binaries = {"ours": (lab.install(ctx.agent, "VirtualDomain"), "rust"),
                    "anchor": (ctx.anchor, "heartbeat")}
        xml = lab.make_guest(MIG_NAME)
        lab.virsh(1, "create", xml, timeout=60)
        boot, tick = lab.live_tick(1, MIG_NAME, 60)
        log(f"5: lab {ctx.mig_prefix} up, guest ticks on n1 after {time.time() - t_up:.1f} s")
        watchers = {i: Watcher(events, QEMU, MIG_NAME, timeout=1800, prefix=lab.inside(i))
                    for i in (1, 2)}
        # what entering a host costs (nsenter, env -i, timeout), in every agent run below
        wrapper = []
        for _ in range(5):
            _, _, w0, w1 = timed([*lab.inside(1), "env", "-i", "timeout", "-s", "KILL", "60",
                                  "/bin/true"], None)
            wrapper.append(w1 - w0)
        src = 1
        for c in range(ctx.p["mig_cycles"]):
            for agent in AGENTS if c % 2 == 0 else AGENTS[::-1]:
                dst = 3 - src
                binary, provider = binaries[agent]
                params = {"config": xml, "hypervisor": QEMU, "migration_transport": "tcp",
                          "CRM_meta_migrate_source": f"n{src}",
                          "CRM_meta_migrate_target": f"n{dst}"}
                # tests/migration.rs: no cluster here, so no utilization
                for attr in ("cpu", "host_memory", "hv_memory"):
                    params[f"autoset_utilization_{attr}"] = "false"
                rsc = f"vdb-{agent}"
                rc, out, t0, t1 = timed(lab.agent(src, binary, provider, "migrate_to", rsc, params,
                                                  MIG_TO_MS), None)
                if rc != 0:
                    raise BenchError(f"migrate_to ({agent}) n{src}->n{dst} rc {rc}: {out[-500:]}")
                rc, out, t2, t3 = timed(lab.agent(dst, binary, provider, "migrate_from", rsc,
                                                  params, MIG_FROM_MS), None)
                if rc != 0:
                    raise BenchError(f"migrate_from ({agent}) on n{dst} rc {rc}: {out[-500:]}")
                running = watchers[dst].wait_for("RESUMED", t0, 10)
                # the source's qemu stopped: libvirt's Confirm phase, after which
                # its migrate call returns to the agent (virsh for the anchor)
                gone = watchers[src].wait_for("STOPPED", t0, 10)
                if running is None or gone is None:
                    raise BenchError(f"migration ({agent}) n{src}->n{dst}: RESUMED on n{dst} "
                                     f"{running}, STOPPED on n{src} {gone}")
                # a pause on the source other than libvirt's own switch-over one
                # (SUSPENDED detail 1 = migrated) would be the agent's
                paused = watchers[src].seen("SUSPENDED", t0, t1)
                res[agent]["foreign_pauses"] += [d for _, d in paused if d != ["1"]]
                switch = min((t for t, d in paused if d == ["1"]), default=None)
                there, here = lab.state(dst, MIG_NAME), lab.state(src, MIG_NAME)
                if there != "running" or here not in (None, "shut off"):
                    raise BenchError(f"migration ({agent}): n{dst} {there!r}, n{src} {here!r}")
                job, down = _downtime(lab, dst)
                r = res[agent]
                r["to_wall"].append(t1 - t0)
                r["from_wall"].append(t3 - t2)
                r["whole"].append(t3 - t0)
                r["exit_after_running"].append(t3 - running)
                r["libvirt_tail"].append(gone - running)
                r["to_tail"].append(t1 - gone)
                r["agent_share"].append(t1 - gone + t3 - t2)
                r["gap"].append(t2 - t1)
                r["job"].append(job or 0.0)
                r["outside_job"].append(t3 - t0 - (job or 0.0))
                r["downtime"].append(down)
                if switch is not None:
                    r["event_downtime"].append(running - switch)
                log(f"cycle {c + 1}, {agent} n{src}->n{dst}: migrate_to {t1 - t0:.2f} s, "
                    f"migrate_from {1000 * (t3 - t2):.0f} ms, exit {1000 * (t3 - running):.0f} ms "
                    f"after RESUMED, downtime {1000 * down:.0f} ms")
                src = dst
        # figure 3b's migrate_to / migrate_from: one more migration per agent,
        # under strace inside the hosts (not timed: tracing slows it)
        for agent in AGENTS:
            dst = 3 - src
            binary, provider = binaries[agent]
            params = {"config": xml, "hypervisor": QEMU, "migration_transport": "tcp",
                      "CRM_meta_migrate_source": f"n{src}", "CRM_meta_migrate_target": f"n{dst}"}
            for attr in ("cpu", "host_memory", "hv_memory"):
                params[f"autoset_utilization_{attr}"] = "false"
            for action, host, ms in (("migrate_to", src, MIG_TO_MS), ("migrate_from", dst, MIG_FROM_MS)):
                d = os.path.join(lab.w, f"strace-{agent}-{action}")
                shutil.rmtree(d, ignore_errors=True)
                os.makedirs(d)
                rc, out = run(lab.agent(host, binary, provider, action, f"vdb-{agent}", params, ms,
                                        wrap=[*STRACE, "-o", f"{d}/t"]), check=False, timeout=200)
                if rc != 0:
                    raise BenchError(f"{action} ({agent}) under strace rc {rc}: {out[-500:]}")
                procs, threads = _tasks(d)
                traced.setdefault(agent, {})[action] = {"processes": procs, "threads": threads}
            src = dst
        # the guest kept running through all of it: same boot, later tick
        lab._script("guest-tick.sh", "--wait", "15", "--boot", boot, "--after", str(tick),
                    lab.w, str(src), MIG_NAME, timeout=30)
    finally:
        for w in (watchers.values() if watchers else ()):
            w.stop()
        lab.down()
    return {a: {k: statistics.median(v) if v else None for k, v in r.items()
                if k != "foreign_pauses"}
            | {"n": len(r["whole"]), "foreign_pauses": r["foreign_pauses"],
               "downtimes": r["downtime"], "wholes": r["whole"],
               "wrapper": statistics.median(wrapper), "processes": traced.get(a, {})}
            for a, r in res.items()}


def _td_cleanup(names=None):
    listed = virsh("list", "--all", "--name", uri=TESTDRV, check=False).split()
    doomed = [n for n in listed if n.startswith("bench-td-") and (names is None or n in names)]
    if doomed:
        virsh_batch(TESTDRV, [c for n in doomed for c in (f"destroy {n}", f"undefine {n}")])


def test_driver_round(ctx):
    """Figure 6: N test-driver domains in the shared libvirtd, one monitor
    of each per agent; CPU of all children (RUSAGE_CHILDREN) and wall time.
    A warm-up round first so both agents are in the steady state."""
    n = ctx.p["domains"]
    names = [f"bench-td-{i:03d}" for i in range(1, n + 1)]
    d = os.path.join(ctx.tmp, "td")
    os.makedirs(d)
    keeper = Keeper(os.path.join(d, "keeper.pid"))
    keeper.start()
    try:
        _td_cleanup()
        cmds = []
        for name in names:
            with open(f"{d}/{name}.xml", "w") as f:
                f.write(f"<domain type='test'>\n  <name>{name}</name>\n  <memory unit='MiB'>"
                        f"128</memory>\n  <os>\n    <type arch='x86_64'>hvm</type>\n  </os>\n"
                        f"</domain>\n")
            cmds += [f"define {d}/{name}.xml", f"start {name}"]
        virsh_batch(TESTDRV, cmds)
        running = set(virsh("list", "--state-running", "--name", uri=TESTDRV).split())
        if missing := [x for x in names if x not in running]:
            raise BenchError(f"test-driver domains not running: {missing[:5]}")
        envs = {}
        for agent, binary in (("ours", ctx.agent), ("anchor", ctx.anchor)):
            for name in names:
                inst = f"{name}-{agent[0]}"
                envs[agent, name] = ([binary, "monitor"], agent_env(
                    inst, f"{d}/rsc-{agent}", f"{d}/{name}.xml", uri=TESTDRV,
                    cib=make_cib(f"{d}/{inst}.cib.xml", inst)))
        res = {}
        for phase in ("warm-up", "measured"):
            for agent in AGENTS:
                ru0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.time()
                for name in names:
                    cmd, env = envs[agent, name]
                    rc, out = run(cmd, env=env, check=False, timeout=60)
                    if rc != 0:
                        raise BenchError(f"monitor ({agent}) of {name} rc {rc}: {out[-300:]}")
                t1, ru1 = time.time(), resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = ru1.ru_utime - ru0.ru_utime + ru1.ru_stime - ru0.ru_stime
                log(f"test driver, {phase} round, {agent}: {n} monitors, cpu {cpu:.2f} s, "
                    f"wall {t1 - t0:.2f} s")
                res[agent] = {"cpu": cpu, "wall": t1 - t0, "n": n}
        return res
    finally:
        _td_cleanup(set(names))
        keeper.stop()
