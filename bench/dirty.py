"""Figure 9 (`bash bench/run.sh migration-dirty`): live migration of a guest
that dirties its memory faster than the link copies it, the anchor beside
ours, in one run. The lab's guest rewrites 16 MiB in a loop
(`make-guest.sh dirty:16`, about 100 MiB/s under TCG) and the link is capped
at 8 MiB/s (`migration_speed=8`): a plain pre-copy never converges. Each
variant is one Pacemaker step (migrate_to, then migrate_from after a 0) in
the 2-host lab of tests/multihost (PREFIX vdb, as figure 5). Figures:
converged or not, migrate_to's time, the guest's downtime and the data sent
(libvirt's `domjobinfo --completed`: on the target after a success, on the
source after a failure). The section goes into BENCHMARKS.md between its
markers; the rest of the file is left as it is (a full run keeps it).

Exit status: 0 when every run ran (goals are reported, not enforced), 1 when
one could not run at all, 2 on a usage error."""

import argparse
import os
import signal
import sys
import time

import report
from lab import BenchError, MultiLab, log, timed

NAME = "vdb-d1"
SPEED = "8"
LIMIT = "4000"
TO_MS, FROM_MS = 40000, 30000
BEGIN = "<!-- bench/run.sh migration-dirty: begin -->"
END = "<!-- bench/run.sh migration-dirty: end -->"
TITLE = "## 9. Live migration of a guest that dirties memory faster than the link copies it"

# (agent, what, extra parameters); the policy's variants are ours only
VARIANTS = [
    ("anchor", "defaults", {}),
    ("ours", "defaults", {}),
    ("anchor", "virsh's `--timeout 4` (suspend)", {"migrate_options": "--timeout 4"}),
    ("ours", "virsh's `--timeout 4` (suspend)", {"migrate_options": "--timeout 4"}),
    ("ours", f"`migration_max_downtime={LIMIT}`", {"migration_max_downtime": LIMIT}),
    ("ours", "`migration_auto_converge=true`", {"migration_auto_converge": "true"}),
    ("ours", "`migration_completion_timeout=40` (5 s for 128 MiB), `…_action=pause`",
     {"migration_completion_timeout": "40", "migration_timeout_action": "pause"}),
]


def job_figures(lab, host):
    """{field: number} of `virsh domjobinfo --completed` on nI (ms, MiB)."""
    out = lab.virsh(host, "domjobinfo", "--completed", NAME, check=False)
    fields = {}
    for line in out.splitlines():
        key, _, val = line.partition(":")
        words = val.split()
        try:
            number = float(words[0])
        except (IndexError, ValueError):
            continue
        unit = words[1] if len(words) > 1 else ""
        scale = {"KiB": 1 / 1024, "GiB": 1024, "B": 1 / 1048576}.get(unit, 1)
        fields[key.strip()] = number * scale
    return fields


def settle(lab, src):
    """Waits (≤ 15 s) until no job runs on the source, else aborts it."""
    end = time.time() + 15
    while time.time() < end:
        if "None" in lab.virsh(src, "domjobinfo", NAME, check=False):
            return
        time.sleep(0.2)
    lab.virsh(src, "domjobabort", NAME, check=False)


def one(lab, binaries, xml, agent, extra, src):
    """One migrate_to (+ migrate_from) of the guest from src: its figures."""
    dst = 3 - src
    binary, provider = binaries[agent]
    params = {"config": xml, "hypervisor": "qemu:///system", "migration_transport": "tcp",
              "migration_speed": SPEED, "CRM_meta_migrate_source": f"n{src}",
              "CRM_meta_migrate_target": f"n{dst}"} | extra
    for attr in ("cpu", "host_memory", "hv_memory"):
        params[f"autoset_utilization_{attr}"] = "false"
    rsc = f"vdb-{agent}"
    rc, out, t0, t1 = timed(lab.agent(src, binary, provider, "migrate_to", rsc, params, TO_MS),
                            None, timeout=TO_MS / 1000 + 30)
    r = {"src": src, "rc": 124 if rc in (124, -9, 137) else rc, "to": t1 - t0,
         "reason": next((ln.split("ocf-exit-reason:", 1)[1].strip()
                         for ln in out.splitlines() if "ocf-exit-reason:" in ln), "")}
    if rc == 0:
        rc2, _, t2, t3 = timed(lab.agent(dst, binary, provider, "migrate_from", rsc, params,
                                         FROM_MS), None, timeout=FROM_MS / 1000 + 30)
        r["from_rc"], r["from"] = rc2, t3 - t2
    there, here = lab.state(dst, NAME), lab.state(src, NAME)
    r["converged"] = rc == 0 and r.get("from_rc") == 0 and there == "running" and not here
    if r["converged"]:
        r["job"] = job_figures(lab, dst)
        r["at"] = dst
    else:
        settle(lab, src)
        r["job"] = job_figures(lab, src)
        r["at"] = src if lab.state(src, NAME) == "running" else None
        if r["at"] is None:
            raise BenchError(f"{agent} {extra}: the guest runs on neither host "
                             f"(n{src} {here!r}, n{dst} {there!r})")
    return r


def measure(a):
    lab = MultiLab(a.mig_workdir, a.mig_prefix, a.mig_net, a.mig_mignet)
    results = []
    try:
        lab.up(2)
        binaries = {"ours": (lab.install(a.agent, "VirtualDomain"), "rust"),
                    "anchor": (a.anchor, "heartbeat")}
        lab._script("guest-make.sh", lab.w, NAME, "dirty:16", timeout=300)
        xml = os.path.join(lab.w, "guest", f"{NAME}.xml")
        lab.virsh(1, "create", xml, timeout=60)
        boot, tick = lab.live_tick(1, NAME, 60)
        console = os.path.join(lab.w, "n1", "var-log-libvirt", "qemu", f"{NAME}.console")
        end = time.time() + 30
        while "guest: dirtying" not in open(console, errors="replace").read():
            if time.time() > end:
                raise BenchError("the guest never started dirtying its memory")
            time.sleep(0.5)
        src = 1
        for rep in range(a.reps):
            for agent, what, extra in VARIANTS:
                r = one(lab, binaries, xml, agent, extra, src)
                r |= {"agent": agent, "what": what, "rep": rep + 1}
                results.append(r)
                job = r["job"]
                log(f"{agent} {what}: converged {r['converged']}, rc {r['rc']}, "
                    f"{r['to']:.1f} s, downtime {job.get('Total downtime')} ms, "
                    f"data {job.get('Data processed')} MiB")
                src = r["at"]
        lab._script("guest-tick.sh", "--wait", "15", "--boot", boot, "--after", str(tick),
                    lab.w, str(src), NAME, timeout=30)
    finally:
        lab.down()
    return results


def num(v, fmt):
    return "—" if v is None else fmt.format(v)


def render(results, a, took, load, vers):
    L = [BEGIN, TITLE, "",
         f"Written by `bash bench/run.sh migration-dirty` on {time.strftime('%Y-%m-%d %H:%M %Z')} "
         f"in {took:.0f} s (load average at start / end {load[0]} / {load[1]}); one run, "
         "the agents side by side.", "",
         "| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in vers
                                 if k in ("libvirt", "qemu", "resource-agents (the anchor)",
                                          "ours")), "",
         "The 2-host lab of figure 5 (PREFIX `vdb`); the guest (128 MiB, TCG) rewrites 16 MiB "
         "in a loop (`tests/lab/make-guest.sh dirty:16`, ≈ 100 MiB/s), the link is capped at "
         f"`migration_speed={SPEED}` MiB/s: a plain pre-copy never converges. migrate_to timeout "
         f"{TO_MS // 1000} s, then migrate_from (timeout {FROM_MS // 1000} s) after a 0, as "
         "Pacemaker; the guest starts where the run before left it. Downtime, data and libvirt's "
         "job time: `virsh domjobinfo --completed` on the target (converged) or on the source "
         "(not converged: the data sent before the job ended). rc 124: killed at the timeout "
         f"as pacemaker-execd would. {a.reps} run(s) per variant.", "",
         "| agent | parameters | run | converged | migrate_to rc, time (s) | downtime (ms) "
         "| data sent (MiB) | libvirt's job (s) |",
         "|---|---|---|---|---|---|---|---|"]
    for r in results:
        job = r["job"]
        elapsed = job.get("Time elapsed")
        L.append(f"| {r['agent']} | {r['what']} | {r['rep']} | "
                 f"{'**yes**' if r['converged'] else 'no'} | {r['rc']}, {r['to']:.1f} | "
                 f"{num(job.get('Total downtime') if r['converged'] else None, '{:.0f}')} | "
                 f"{num(job.get('Data processed'), '{:.0f}')} | "
                 f"{num(elapsed and elapsed / 1000, '{:.1f}')} |")
    reasons = {(r["agent"], r["what"]): r["reason"] for r in results if r["reason"]}
    if reasons:
        L += ["", "Exit reasons of the runs that did not converge:", ""]
        L += [f"- {agent}, {what}: `{why}`" for (agent, what), why in reasons.items()]
    goals = []
    anchor_def = [r for r in results if r["agent"] == "anchor" and r["what"] == "defaults"]
    policy = [r for r in results if "max_downtime" in r["what"]]
    goals.append(("the policy (`migration_max_downtime`) converges where the anchor's defaults "
                  "do not",
                  f"policy {sum(r['converged'] for r in policy)}/{len(policy)}, anchor's "
                  f"defaults {sum(r['converged'] for r in anchor_def)}/{len(anchor_def)}",
                  all(r["converged"] for r in policy)
                  and not any(r["converged"] for r in anchor_def)))
    downs = [r["job"].get("Total downtime") for r in policy if r["converged"]]
    goals.append((f"its downtime stays within the limit given ({LIMIT} ms)",
                  ", ".join(num(d, "{:.0f} ms") for d in downs) or "—",
                  bool(downs) and all(d is not None and d <= float(LIMIT) for d in downs)))
    L += ["", "| goal | measured | |", "|---|---|---|"]
    L += [f"| {g} | {m} | {'reached' if ok else '**NOT reached**'} |" for g, m, ok in goals]
    L += ["", END]
    return "\n".join(L) + "\n", goals


def splice(text, block):
    """text with its migration-dirty block replaced by block (or inserted
    before "## How the figures come about", else appended)."""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        return head + block.rstrip("\n") + rest.split(END, 1)[1]
    anchor = "## How the figures come about"
    if anchor in text:
        head, rest = text.split(anchor, 1)
        return head + block + "\n" + anchor + rest
    return text.rstrip("\n") + "\n\n" + block


def carried_block(path):
    """The migration-dirty block of an existing report (for a full run)."""
    try:
        text = open(path).read()
    except OSError:
        return None
    if BEGIN not in text or END not in text:
        return None
    return BEGIN + text.split(BEGIN, 1)[1].split(END, 1)[0] + END + "\n"


def _terminate(signum, _frame):
    raise SystemExit(128 + signum)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agent", required=True)
    ap.add_argument("--anchor", default="/usr/lib/ocf/resource.d/heartbeat/VirtualDomain")
    ap.add_argument("--out", required=True)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--mig-workdir", default="/srv/vdb-lab")
    ap.add_argument("--mig-prefix", default="vdb")
    ap.add_argument("--mig-net", default="10.213.11")
    ap.add_argument("--mig-mignet", default="10.213.111")
    a = ap.parse_args()
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(s, _terminate)
    t0, load0 = time.time(), "%.2f %.2f %.2f" % os.getloadavg()
    vers = report.versions(a.agent)
    try:
        results = measure(a)
    except BenchError as e:
        log(f"FAILED: {e}")
        return 1
    load = (load0, "%.2f %.2f %.2f" % os.getloadavg())
    block, goals = render(results, a, time.time() - t0, load, vers)
    try:
        text = open(a.out).read()
    except FileNotFoundError:
        text = ""
    with open(a.out + ".tmp", "w") as f:
        f.write(splice(text, block))
    os.replace(a.out + ".tmp", a.out)
    for goal, measured, ok in goals:
        print(f"  [9] {goal}: {measured} -> {'reached' if ok else 'NOT reached'}")
    log(f"section written to {a.out} ({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
