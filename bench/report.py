"""BENCHMARKS.md from one harness run: the machine, the versions, the method,
one table per figure, and the goals with reached / NOT reached. Goals are
only reported, never enforced (the machine is shared and noisy)."""

import os
import platform
import re
import subprocess
import time

from lab import REPO

MB = 1_000_000


def _out(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def _pkg(name):
    return _out(["dpkg-query", "-W", "-f", "${Version}", name]) or "not installed"


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cpu": model, "cores": os.cpu_count(), "kernel": platform.release(),
            "load": "%.2f %.2f %.2f" % os.getloadavg()}


def versions(agent):
    v = _out(["virsh", "-c", "qemu:///system", "version"])
    lib = re.search(r"Using library: libvirt (\S+)", v)
    hv = re.search(r"Running hypervisor: QEMU (\S+)", v)
    head = _out(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])
    dirty = _out(["git", "-C", REPO, "status", "--porcelain", "--", "src", "Cargo.toml",
                  "Cargo.lock", "metadata"])
    return [
        ("libvirt", f"{lib.group(1) if lib else '?'} (libvirt-daemon {_pkg('libvirt-daemon')})"),
        ("qemu", f"{hv.group(1) if hv else '?'} (qemu-system-x86 {_pkg('qemu-system-x86')})"),
        ("pacemaker", _pkg("pacemaker-cli-utils")),
        ("resource-agents (the anchor)", _pkg("resource-agents")),
        ("rustc", _out(["rustc", "--version"])),
        ("hyperfine", _out(["hyperfine", "--version"])),
        ("strace", _out(["strace", "-V"]).splitlines()[0] if _out(["strace", "-V"]) else "?"),
        ("gcc (floor, watcher)", _out(["gcc", "-dumpfullversion"])),
        ("ours", f"{_out([agent, '--version'])}, commit {head}"
                 f"{' + uncommitted changes' if dirty else ''}"),
    ]


def _ms(s):
    return f"{1000 * s:.1f}"


def _x(num, den=1.0):
    """num/den as a ratio, or — when den is not positive (e.g. an exit before the event)."""
    return f"{num / den:.2f}×" if den > 0 else "—"


def goals(r):
    """(figure, goal, measured, reached) for every goal that was measured."""
    m, g = r["monitor"], []
    ours, floor = m["ours"]["median"], m["floor"]["median"]
    g.append(("1", "ours ≤ 1.5× floor (wall)", _x(ours / floor), ours <= 1.5 * floor))
    a = m["anchor"]["median"] / ours
    g.append(("1", "ours ≥ 15× faster than the anchor (default)", _x(a), a >= 15))
    off = m["anchor, utilization off"]["median"] / m["ours, utilization off"]["median"]
    g.append(("1", "ours ≥ 5× faster than the anchor (utilization off)", _x(off), off >= 5))
    g.append(("2", "ours ≤ 0.5× floor (wall)", _x(ours / floor), ours <= 0.5 * floor))
    p = r["procs"]["ours"]["processes"]
    g.append(("3", "ours starts 0 processes per steady-state monitor", str(p), p == 0))
    life, mg = r["life"]["ours"], r["migrate"]["ours"]["processes"]
    counts = {k: v["processes"] for k, v in life.items() if k != "probe_wall"}
    counts |= {k: v["processes"] for k, v in mg.items()}
    forked = ", ".join(f"{k} {n}" for k, n in counts.items() if n) or "0 in every one"
    g.append(("3b", "ours starts 0 processes in start, stop, probe, monitor, status, "
              "migrate_to, migrate_from and reload-agent", forked,
              len(counts) == 8 and not any(counts.values())))
    probe = life["probe_wall"] / m["ours"]["median"]
    g.append(("3b", "a probe with utilization on costs ≤ 2× a steady-state monitor (ours)",
              _x(probe), probe <= 2))
    s = r["cycles"]["ours"]["exit_after_stopped"]
    g.append(("4", "ours exits ≤ 50 ms after libvirt reports the domain stopped",
              f"{_ms(s)} ms", s <= 0.050))
    mg = r["migrate"]
    o, a = mg["ours"], mg["anchor"]
    g.append(("5", "ours' migrate_from exits ≤ 50 ms after the domain runs on the target",
              f"{_ms(o['exit_after_running'])} ms", o["exit_after_running"] <= 0.050))
    g.append(("5", "ours' whole migration (migrate_to + migrate_from) takes less wall time "
              "than the anchor's", f"{_x(o['whole'], a['whole'])} the anchor's",
              o["whole"] < a["whole"]))
    extra = not o["foreign_pauses"] and o["downtime"] <= max(a["downtimes"]) + 0.020
    g.append(("5", "ours adds no pause: the source is suspended only by libvirt's switch-over, "
              "and ours' downtime (median) is within the anchor's range in this run (≤ its "
              "largest + 20 ms)",
              f"{_ms(o['downtime'])} ms (anchor: median {_ms(a['downtime'])}, largest "
              f"{_ms(max(a['downtimes']))} ms), {len(o['foreign_pauses'])} other pause(s)", extra))
    td = r["testdrv"]
    share = td["ours"]["cpu"] / td["anchor"]["cpu"]
    g.append(("6", "ours ≤ 1/20 of the anchor's CPU (test driver round)",
              f"1/{1 / share:.1f}" if share > 0 else "0", share <= 1 / 20))
    size = r["size"]["size"]
    g.append(("7", "stripped binary ≤ 3 MB", f"{size / MB:.2f} MB", size <= 3 * MB))
    rss = r["size"]["rss"]["ours"]
    g.append(("7", "peak RSS of one monitor ≤ 10 MB", f"{rss / MB:.1f} MB", rss <= 10 * MB))
    c = r["cycles"]["ours"]
    g.append(("8", "ours exits ≤ 50 ms after the STARTED event plus one steady-state monitor",
              f"{_ms(c['exit_after_started_less_monitor'])} ms beyond the monitor",
              c["exit_after_started_less_monitor"] <= 0.050))
    return g


def _yes(ok):
    return "reached" if ok else "**NOT reached**"


def _goal_rows(all_goals, fig):
    rows = [f"| goal | measured | |", "|---|---|---|"]
    rows += [f"| {t} | {v} | {_yes(ok)} |" for f, t, v, ok in all_goals if f == fig]
    return rows + [""]


def render(r, mach, vers, mode, p, took):
    G, L = goals(r), []
    m = r["monitor"]
    add = L.extend
    add(["# Benchmarks: ocf:rust:VirtualDomain beside ocf:heartbeat:VirtualDomain", ""])
    if mode == "smoke":
        add(["**Smoke run** (a few iterations of everything): the figures are not meant "
             "for conclusions.", ""])
    add([f"Written by `bash bench/run.sh{' --smoke' if mode == 'smoke' else ''}` on "
         f"{time.strftime('%Y-%m-%d %H:%M %Z')} in {took:.0f} s. Every figure below comes from "
         "this one run (same machine, same guests, same minutes): the machine is shared and "
         "noisy, so compare ratios, not absolute times from different runs.", "",
         "## Machine and versions", "", "| | |", "|---|---|",
         f"| CPU | {mach['cpu']}, {mach['cores']} cores |", f"| kernel | {mach['kernel']} |",
         f"| load average at start / end | {mach['load']} / {mach['load_end']} |"])
    add([f"| {k} | {v} |" for k, v in vers] + [""])
    add(["## Method", "",
         "- *floor*: `bench/floor.c` (connect, look the domain up, read its state, close; "
         "`gcc -O2 … -lvirt`), the least any libvirt client does for a monitor.",
         "- *anchor*: the installed shell agent. *ours*: the release binary built from this "
         "tree. Each agent has its own resource name and `HA_RSCTMP`, on a tmpfs (the bench's "
         "scratch directory) as `/run/resource-agents` is on a node: a state file the agents write "
         "costs what it costs there, not a disk's flush.",
         "- Real guest: the tests/lab TCG guest (`make-guest.sh … obey`), transient, on "
         "`qemu:///system`. Utilization on (the default) uses an offline CIB "
         "(`CIB_file`, `cibadmin --empty` plus the primitives) so `crm_resource` works as "
         "with a cluster and the steady state is real; one checked monitor of each variant "
         "comes first. *Utilization off*: `autoset_utilization_{cpu,host_memory,hv_memory}"
         "=false`. *Hypervisor unset*: no `hypervisor` parameter, so libvirt's default URI "
         "(the anchor asks `virsh uri` on every run; ours resolves it as libvirt's client "
         "does and asks the daemon's socket).",
         f"- Monitor times: `hyperfine -N -w {p['warmup']} -r {p['runs']}`, "
         f"{p['rounds']} round(s) cycling through the variants, all times pooled; wall = "
         "median; CPU = mean user+sys of the process tree (the CPU spent inside libvirtd is "
         "not counted, for any variant).",
         "- Processes: `strace -ff -qq -e trace=process`, one steady-state monitor "
         "(figure 3) and one of each action (3b); clone/fork calls that created a process "
         "(threads counted apart); the agent itself is not counted.",
         "- Start / stop: `bench/events.c` prints libvirt's lifecycle events with "
         "CLOCK_REALTIME stamps taken on receipt; the harness takes the agent's exit "
         "time with `time.time()` right after a blocking `waitpid`. Agents alternate; "
         f"{p['cycles']} cycle(s) of start → guest OS up → one untimed and one timed "
         "monitor (the steady-state monitor a start owes) → stop per agent; medians.",
         "- Migration: the 2-host lab of `tests/multihost` (`hosts-up.sh 2`, PREFIX `vdb`, "
         "its own networks and WORKDIR `/srv/vdb-lab`, torn down by `hosts-down.sh` even on "
         "failure), the lab's ticking guest (128 MiB, TCG) created on n1 by virsh. Each cycle "
         "runs `migrate_to` on the source, then (after its 0) `migrate_from` on the target, "
         "with pacemaker-execd's environment as `tests/multihost/agent-run.sh` gives it "
         "(entered with `nsenter` directly, so that the exit time is the agent's), parameters "
         "`config`, `hypervisor=qemu:///system`, `migration_transport=tcp` and, as in "
         "`tests/migration.rs` (no cluster in the lab), `autoset_utilization_*=false`; "
         "timeouts 120 s / 60 s (pcs's defaults). The guest goes back and forth; agents "
         f"alternate; {p['mig_cycles']} migration(s) per agent; medians. `bench/events.c` "
         "runs inside each host (`qemu:///system`): the target's RESUMED event is \"the domain "
         "runs on the target\", the source's STOPPED event is the end of libvirt's Confirm "
         "phase (its migrate call returns right after). Downtime: `Total downtime` of "
         "`virsh domjobinfo --completed` on the target; cross-checked by source SUSPENDED "
         "(detail migrated) → target RESUMED. After the last cycle the guest must tick on "
         "its host with its first boot id (it kept running). The smoke run "
         "(`--smoke`, CI) includes one migration per agent: ≈ 7 s (lab up, guest boot, two "
         "migrations, teardown) of its ≈ 25 s on a quiet machine.",
         f"- Test driver: {p['domains']} domains `bench-td-NNN` on `test+unix:///default` "
         "in the shared libvirtd (kept alive by `testdrv-keeper.sh`), one offline CIB per "
         "resource; a warm-up round, then one measured monitor of each domain per agent; "
         "CPU = user+sys of all children (`getrusage(RUSAGE_CHILDREN)` delta).",
         "- RSS: `ru_maxrss` from `wait4` (the largest process of the command's tree), "
         f"median of {p['rss_reps']}. Size: the release binary after `strip`. "
         "MB = 10⁶ bytes.", ""])
    add(["## Goals", "", "| figure | goal | measured | |", "|---|---|---|---|"])
    add([f"| {f} | {t} | {v} | {_yes(ok)} |" for f, t, v, ok in G] + [""])
    missed = [f"{t} (measured {v})" for _, t, v, ok in G if not ok]
    add([f"Not reached in this run: {'; '.join(missed)}." if missed
         else "Every goal was reached in this run.", ""])
    add(["## 1. Monitor of a running real guest", "",
         "| command | wall, median (ms) | CPU user+sys, mean (ms) | runs | wall ÷ ours (default) |",
         "|---|---|---|---|---|"])
    for name, v in m.items():
        add([f"| {name} | {_ms(v['median'])} | {_ms(v['cpu'])} | {v['runs']} | "
             f"{_x(v['median'], m['ours']['median'])} |"])
    ours_unset, anchor_unset = m["ours, hypervisor unset"], m["anchor, hypervisor unset"]
    add(["", f"With `hypervisor` unset the anchor takes "
         f"{_x(anchor_unset['median'], ours_unset['median'])} ours' wall time "
         "(no goal set)."])
    add([""] + _goal_rows(G, "1"))
    add(["## 2. Ours against the floor", "",
         "| | wall | CPU |", "|---|---|---|",
         f"| ours / floor | {_x(m['ours']['median'], m['floor']['median'])} | "
         f"{_x(m['ours']['cpu'], m['floor']['cpu'])} |", ""] + _goal_rows(G, "2"))
    add(["## 3. Processes started per steady-state monitor", "",
         "| command | processes | threads |", "|---|---|---|"])
    add([f"| {n} | {v['processes']} | {v['threads']} |" for n, v in r["procs"].items()])
    add([""] + _goal_rows(G, "3"))
    life, mig = r["life"], r["migrate"]
    add(["### 3b. Processes started per action (utilization on)", "",
         "One life of a resource on a node, in this order: a probe with nothing remembered "
         "(the guest down), start, a recurring monitor, status, reload-agent (ours only: the "
         "anchor has none), stop; migrate_to and migrate_from from one more migration of "
         "figure 5 (traced inside the hosts; no cluster there, so utilization off). "
         "Processes (threads).", "",
         "| action | ours | anchor |", "|---|---|---|"])
    actions = [a for a in life["ours"] if a != "probe_wall"]
    for act in actions + ["migrate_to", "migrate_from"]:
        cells = []
        for agent in ("ours", "anchor"):
            v = (mig[agent]["processes"] if act.startswith("migrate_") else life[agent]).get(act)
            cells.append(f"{v['processes']} ({v['threads']})" if v else "–")
        add([f"| {act} | {cells[0]} | {cells[1]} |"])
    add(["", f"A probe with nothing remembered, utilization on, untimed by strace (median of "
         f"{p['probe_reps']}): ours {_ms(life['ours']['probe_wall'])} ms, the anchor "
         f"{_ms(life['anchor']['probe_wall'])} ms; ours' steady-state monitor (figure 1) "
         f"{_ms(m['ours']['median'])} ms.", ""] + _goal_rows(G, "3b"))
    c = r["cycles"]
    add(["## 4. Stop of a guest that powers off on ACPI", "",
         "| agent | exit − STOPPED event (ms) | whole stop action (s) | cycles |", "|---|---|---|---|"])
    add([f"| {a} | {_ms(c[a]['exit_after_stopped'])} | {c[a]['stop_exit']:.2f} | {c[a]['n']} |"
         for a in ("ours", "anchor")])
    add([f"| anchor / ours | {_x(c['anchor']['exit_after_stopped'], c['ours']['exit_after_stopped'])}"
         f" | {_x(c['anchor']['stop_exit'], c['ours']['stop_exit'])} | |", ""])
    add(_goal_rows(G, "4"))
    mg = r["migrate"]
    mo, ma = mg["ours"], mg["anchor"]

    def row(label, key, scale=1000, fmt="{:.1f}"):
        vals = [mg[x][key] for x in ("ours", "anchor")]
        cells = ["—" if v is None else fmt.format(scale * v) for v in vals]
        ratio = _x(vals[1], vals[0]) if None not in vals else "—"
        return f"| {label} | {cells[0]} | {cells[1]} | {ratio} |"

    add(["## 5. Live migration (migrate_to on the source, then migrate_from on the target)", "",
         f"{mo['n']} migration(s) per agent between the two hosts of the lab; medians.", "",
         "| | ours | anchor | anchor / ours |", "|---|---|---|---|",
         row("migrate_to, wall (ms)", "to_wall"),
         row("migrate_from, wall (ms)", "from_wall"),
         row("whole: migrate_to begins → migrate_from exits (ms)", "whole"),
         row("**migrate_from exit − RESUMED on the target (ms)**", "exit_after_running"),
         row("  of which: RESUMED on target → STOPPED on source (libvirt's Finish + Confirm)",
             "libvirt_tail"),
         row("  of which: STOPPED on source → migrate_to exits (the agent after libvirt's call)",
             "to_tail"),
         row("  of which: migrate_to exits → migrate_from begins (harness)", "gap", fmt="{:.2f}"),
         row("  of which: migrate_from, wall", "from_wall"),
         row("the agent's own share: (migrate_to exit − STOPPED on source) + migrate_from wall",
             "agent_share"),
         row("libvirt's job on the target, `Time elapsed` (ms)", "job"),
         row("whole − libvirt's job (the same migration without the job's own noise)",
             "outside_job"),
         row("guest downtime, `Total downtime` on the target (ms)", "downtime"),
         row("guest downtime by events: SUSPENDED on source → RESUMED on target (ms)",
             "event_downtime"), "",
         f"Every agent run above includes entering the host (`nsenter`, `env -i`, `timeout`): "
         f"{_ms(mo['wrapper'])} ms for `/bin/true` (median of 5).", "",
         "Downtime of each migration (ms): ours "
         + ", ".join(f"{1000 * d:.0f}" for d in mo["downtimes"]) + "; anchor "
         + ", ".join(f"{1000 * d:.0f}" for d in ma["downtimes"]) + ". Pauses of the source "
         "other than libvirt's switch-over: ours "
         f"{len(mo['foreign_pauses'])}, anchor {len(ma['foreign_pauses'])}.", ""])
    add(_goal_rows(G, "5"))
    td = r["testdrv"]
    add([f"## 6. {td['ours']['n']} test-driver domains, one monitor each", "",
         "| agent | CPU (s) | wall (s) | CPU per monitor (ms) |", "|---|---|---|---|"])
    add([f"| {a} | {td[a]['cpu']:.2f} | {td[a]['wall']:.2f} | {_ms(td[a]['cpu'] / td[a]['n'])} |"
         for a in ("ours", "anchor")])
    add([f"| anchor / ours | {_x(td['anchor']['cpu'], td['ours']['cpu'])} | "
         f"{_x(td['anchor']['wall'], td['ours']['wall'])} | |", ""] + _goal_rows(G, "6"))
    s = r["size"]
    add(["## 7. Binary size and peak RSS", "",
         f"Stripped release binary: {s['size'] / MB:.2f} MB ({s['size']} bytes; as built: "
         f"{s['size_as_built']} bytes).", "",
         "| command (one monitor) | peak RSS (MB) |", "|---|---|"])
    label = {"anchor": "anchor (its largest process)"}
    add([f"| {label.get(n, n)} | {v / MB:.1f} |" for n, v in s["rss"].items()] + [""]
        + _goal_rows(G, "7"))
    add(["## 8. Start", "",
         "| agent | action begins → STARTED event (s) | whole start action (s) | "
         "exit − STARTED event (ms) | one steady-state monitor (ms) | "
         "exit − STARTED − monitor (ms) | cycles |", "|---|---|---|---|---|---|---|"])
    add([f"| {a} | {c[a]['to_started']:.2f} | {c[a]['start_exit']:.2f} | "
         f"{_ms(c[a]['exit_after_started'])} | {_ms(c[a]['monitor'])} | "
         f"{_ms(c[a]['exit_after_started_less_monitor'])} | {c[a]['n']} |"
         for a in ("ours", "anchor")])
    add([f"| anchor / ours | {_x(c['anchor']['to_started'], c['ours']['to_started'])} | "
         f"{_x(c['anchor']['start_exit'], c['ours']['start_exit'])} | "
         f"{_x(c['anchor']['exit_after_started'], c['ours']['exit_after_started'])} | "
         f"{_x(c['anchor']['monitor'], c['ours']['monitor'])} | | |", ""])
    add(_goal_rows(G, "8"))
    with open(os.path.join(REPO, "bench", "analysis.md")) as f:
        add([f.read()])
    return "\n".join(L), G
