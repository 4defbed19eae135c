"""Renders bench/scale-results.json (bench/scale.py) as the "Cluster scale"
section of BENCHMARKS.md, replacing that section only (the rest of the file
is bench/harness.py's and stays), and draws its two SVG plots."""

import os
import statistics

import svgplot
from report import machine

TITLE = "## Cluster scale"
NAMES = {"ours": "ours (ocf:rust)", "anchor": "anchor (ocf:heartbeat)"}


def splice(text, block):
    """text with its Cluster scale section replaced by block (or block put
    before 'How the figures come about', or at the end)."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, x in enumerate(lines) if x.rstrip() == TITLE), None)
    if start is None:
        at = next((i for i, x in enumerate(lines) if x.startswith("## How the figures")),
                  len(lines))
        return "".join(lines[:at]) + block + "\n" + "".join(lines[at:])
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
               len(lines))
    return "".join(lines[:start]) + block + ("\n" if end < len(lines) else "") + "".join(
        lines[end:])


def carried(path):
    """The Cluster scale section of the report at path, if any (a full
    bench/harness.py run keeps it)."""
    if not os.path.exists(path):
        return None
    with open(path) as f:
        text = f.read()
    if TITLE + "\n" not in text:
        return None
    rest = text.split(TITLE + "\n", 1)[1]
    body = rest.split("\n## ", 1)[0]
    return TITLE + "\n" + body.rstrip("\n") + "\n"


def _ms(s):
    return "–" if s is None else f"{s * 1000:.0f}"


def _s(v):
    return "–" if v is None else f"{v:.2f}"


def _cpu_rows(cpu):
    rows = ["| agent | N | CPU of execd's children, s per minute (cores) | per monitor, ms CPU "
            "| libvirtd, s/min | monitors run / due | late (> 11 s after the previous) "
            "| timed out / not ok | gap between two results median / p95, s | machine busy |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for agent, entry in cpu.items():
        for d in entry["data"]:
            m, per_min = d["monitors"], d["children"] / d["secs"] * 60
            rows.append(
                f"| {NAMES[agent]} | {d['n']} | {per_min:.1f} ({per_min / 60:.2f}) | "
                f"{d['children'] / max(m['runs'], 1) * 1000:.1f} | "
                f"{d['libvirtd'] / d['secs'] * 60:.1f} | {m['runs']} / {m['expected']:.0f} | "
                f"{m['late']} of {m['gaps']} ({m['late'] / max(m['gaps'], 1) * 100:.0f} %), "
                f"longest gap {m['max_gap']:.1f} s | {m['timeouts']} / {m['not_ok']} | "
                f"{_s(m.get('gap_median'))} / {_s(m.get('gap_p95'))} | "
                f"{d['machine_busy'] * 100:.0f} % |")
    return rows


def _cpu_reading(cpu):
    """Computed sentences: the ratio at each N, the cores the monitors
    alone would need at each agent's measured CPU per monitor."""
    by = {a: {d["n"]: d for d in e["data"]} for a, e in cpu.items()}
    out = []
    if "ours" in by and "anchor" in by:
        both = sorted(set(by["ours"]) & set(by["anchor"]))
        out.append("Anchor ÷ ours, CPU of execd's children per minute: " + ", ".join(
            f"N={n}: ×{by['anchor'][n]['children'] / max(by['ours'][n]['children'], 1e-9):.0f}"
            for n in both) + ".")
    for a, ds in by.items():
        lo, n = min(ds), max(ds)
        per = ds[lo]["children"] / max(ds[lo]["monitors"]["runs"], 1)
        d = ds[n]
        out.append(f"{NAMES[a]}: at its {per * 1000:.0f} ms CPU per monitor with {lo} guests, "
                   f"{n} guests every 10 s would need {per * n / 10:.2f} cores for monitoring "
                   f"alone; measured with {n}: {d['children'] / d['secs']:.2f} cores, "
                   f"{d['monitors']['runs']} of {d['monitors']['expected']:.0f} due monitors "
                   f"run.")
    out = [" ".join(out), ""] if out else []
    busy = [f"{a} N={d['n']}: " + ", ".join(f"{c} {t:.1f} s" for c, t in d.get("others", []))
            for a, e in cpu.items() for d in e["data"]]
    return out + ["What else took CPU in each window (outside the lab, by process name, CPU "
                  "seconds): " + "; ".join(busy) + ".", ""]


def _moves(x):
    g = x["guests"]
    downs = [y["downtime"] for y in g if y["downtime"] is not None]
    moved = sorted(y["moved"] for y in g if y["moved"] is not None)
    return (f"{x['total']:.1f} | {', '.join(f'{t:.1f}' for t in moved) or '–'} | "
            f"{_ms(statistics.median(downs)) if downs else '–'} / "
            f"{_ms(max(downs)) if downs else '–'} | {sum(y['live'] for y in g)}/{len(g)}")


def _drain_rows(drain):
    rows = ["| agent | K | migration-limit | drain: all Started on n2, s | each guest's "
            "migrate_from done, s | downtime median / max, ms | live | back: all on n1, s | "
            "each guest back, s | downtime median / max, ms | live | throttle modes logged |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for agent, entry in drain.items():
        for d in entry["data"]:
            modes = [d[x].get("throttle") for x in ("drain", "back")]
            shown = "–" if None in modes else ", ".join(sorted(set(modes[0] + modes[1]))) or "none"
            rows.append(f"| {NAMES[agent]} | {d['k']} | {d['limit']} | {_moves(d['drain'])} | "
                        f"{_moves(d['back'])} | {shown} |")
    return rows


def _plots(results, plotdir, note):
    os.makedirs(plotdir, exist_ok=True)
    files = []
    if results.get("cpu"):
        series = [(NAMES[a], [(d["n"], d["children"] / d["secs"] * 60) for d in e["data"]])
                  for a, e in results["cpu"].items()]
        svgplot.line_plot(os.path.join(plotdir, "scale-cpu.svg"),
                          "CPU of the agents' processes on one node (10 s monitor)",
                          "guests on the node (N)", "CPU seconds per minute", series,
                          xticks=[0, 20, 40, 60, 80, 100], note=note)
        files.append(("CPU per minute against N", "bench/plots/scale-cpu.svg"))
    if results.get("drain"):
        lines = {}
        for a, e in results["drain"].items():
            for d in e["data"]:
                lines.setdefault(f"{NAMES[a]}, limit {d['limit']}", []).append(
                    (d["k"], d["drain"]["total"]))
        svgplot.line_plot(os.path.join(plotdir, "scale-drain.svg"),
                          "pcs node standby: until every guest is Started on n2",
                          "guests on the node drained (K)", "seconds", list(lines.items()),
                          xticks=[0, 2, 4, 6, 8], note=note)
        files.append(("drain time against K", "bench/plots/scale-drain.svg"))
    return files


def render(results, plotdir):
    m = results.get("machine", machine())
    note = f"{m['cores']} cores ({m['cpu']}), shared"
    out = [TITLE, "",
           "Issue #23. Command: `bash bench/run.sh scale` (bench/scale.py; raw figures in "
           "`bench/scale-results.json`, one part/agent rerun with `--parts`/`--agents`). Real "
           "Pacemaker clusters of the multihost lab (tests/multihost, PREFIX `vds`, one lab "
           "at a time), brought up afresh for each agent and part; ours installed as "
           "`ocf:vdscale:VirtualDomain` for the run. Both agents with their defaults "
           "(utilization autoset on).", "",
           f"Machine: **{m['cores']} cores** ({m['cpu']}, kernel {m['kernel']}), shared with "
           "other engineers' work; what ran beside is in the notes below and in the "
           "\"machine busy\" column (the whole machine's busy share of its cores during the "
           "window, ours included).", ""]
    cpu, drain = results.get("cpu", {}), results.get("drain", {})
    if cpu:
        wins = "; ".join(f"{NAMES[a]}: {e['params']['settle']} s more, a "
                         f"{e['params']['window']} s window" for a, e in cpu.items())
        out += ["### A node running N guests, 10 s monitor", "",
                f"libvirt test-driver domains (`<domain type='test'>`, "
                f"`hypervisor=test+unix:///default` of the lab host's libvirtd, kept alive by "
                f"testdrv-keeper.sh), a one-node cluster, `op monitor interval=10s "
                f"timeout=30s`. N grows 20 → 50 → 100 in the same cluster; after all are "
                f"Started (`crm_resource --wait`) and then ({wins}).", "",
                "- **CPU**: pacemaker-execd is moved into a cpuacct cgroup of its own (cgroup "
                "v1); every agent it forks and all they fork (virsh, crm_resource, ...) are "
                "accounted there. Children = `cpuacct.usage` delta minus execd's own "
                "utime+stime (/proc/PID/stat). Chosen over BSD process accounting, which is "
                "machine-wide and would mix in every other engineer's processes. libvirtd's "
                "own CPU (the host's daemon answering the agents) is shown apart.",
                "- **Monitors**: execd's own record, one debug line per finished operation "
                "(`PCMK_debug=pacemaker-execd`: `vm-td-001 monitor (call N, PID P) exited "
                "with status 0 (execution time X)`), time-stamped to the millisecond when "
                "the result came. execd schedules a recurring monitor an interval after the "
                "previous one ended, so the gap between two results of a resource is 10 s "
                "plus the later run's duration and any delay; *late*: a gap over 11 s "
                "(interval + 1 s); *due*: N × window / 10 s; *timed out*: execd's `could "
                "not be executed: Timed Out`. The line's \"execution time\" is not used: "
                "for a recurring monitor Pacemaker 2.1.5 repeats one stale value on every "
                "run (e.g. `336ms` on each run of one resource, `1ms` on each of another).",
                ""]
        out += _cpu_rows(cpu) + [""] + _cpu_reading(cpu)
    if drain:
        out += ["### Draining a node", "",
                "Two nodes, K tiny qemu TCG guests (tests/multihost guest-make.sh, 128 MiB), "
                "`allow-migrate=true migration_transport=tcp migrate_options=--unsafe`, a "
                "location preference for n1 (score 100). For each K (4, then 4 more) and "
                "`migration-limit` (1, 2): `pcs node standby n1`, polling `crm_mon` until every "
                "guest is Started on n2 alone (the time from the command); then `pcs node "
                "unstandby n1` and the same until all are back. Per guest: when the "
                "controller logged its `migrate_from` ok (from the command), libvirt's "
                "downtime (`virsh domjobinfo --completed` on the target), and *live*: its "
                "console ticks on the target with the boot id it had before (it migrated, "
                "was not restarted). *Throttle modes*: the controllers' `New throttle mode: …` "
                "lines from 30 s before a command until its move ended (Pacemaker runs fewer "
                "jobs at once on a node whose load average is high, whatever "
                "`migration-limit`; the hosts share the machine's load average).", ""]
        out += _drain_rows(drain) + [""]
    probe = results.get("probe")
    if probe:
        out += ["### A probe with the live CIB", "",
                "Figure 3b measures the probe against an offline CIB file; on a cluster node "
                "the CIB is Pacemaker's IPC (ours: libcib, loaded on first use; the anchor: "
                "crm_resource). A one-node cluster, one `target-role=Stopped` primitive per "
                "agent for a qemu domain not defined on the node; inside the node, hyperfine "
                "runs each agent with pacemaker-execd's environment: a probe with nothing "
                "remembered (`HA_RSCTMP` on a tmpfs, emptied before each run; ours fills in "
                "the utilization from the config, which the CIB already holds) and the same "
                "agent's recurring monitor of that domain. The probes answer 7; the monitor's "
                "code is shown. Medians (bench/probe_live.py).", "",
                "| agent | probe | recurring monitor (its code) | probe / monitor | runs |",
                "|---|---|---|---|---|"]
        out += [f"| {NAMES[a]} | {d['probe'] * 1000:.1f} ms | {d['monitor'] * 1000:.1f} ms "
                f"({d.get('monitor_rc', 7)}) | {d['probe'] / d['monitor']:.2f}× | {d['runs']} |"
                for a, d in probe["data"].items()] + [""]
        both = probe["data"]
        if {"ours", "anchor"} <= set(both):
            o, an = both["ours"], both["anchor"]
            out += [f"Ours' probe with the live CIB costs {(o['probe'] - o['monitor']) * 1000:.1f} "
                    f"ms more "
                    f"than its recurring monitor (loading libcib and signing on to the CIB "
                    f"manager; the offline CIB of figure 3b is read as a file instead); "
                    f"the anchor's probe takes {an['probe'] / o['probe']:.1f}× as long.", ""]
    files = _plots(results, plotdir, note)
    if files:
        out += ["Plots (drawn by bench/scale_report.py): "
                + "; ".join(f"[{t}]({f})" for t, f in files) + ".", ""]
        out += [f"![{t}]({f})" for t, f in files] + [""]
    runs = [f"{part} / {a}: {e['when']}, {e['mode']}, load before {e['load_before']}"
            for part in ("cpu", "drain") for a, e in results.get(part, {}).items()]
    if probe:
        runs.append(f"probe / both: {probe['when']}, {probe['mode']}, load before "
                    f"{probe['load_before']}")
    out += ["Runs:", ""] + [f"- {r}" for r in runs] if runs else []
    out += [f"- {n}" for n in results.get("notes", [])]
    return "\n".join(out).rstrip("\n") + "\n"


def write(results, path, plotdir):
    text = ""
    if os.path.exists(path):
        with open(path) as f:
            text = f.read()
    with open(path + ".tmp", "w") as f:
        f.write(splice(text, render(results, plotdir)))
    os.replace(path + ".tmp", path)
