"""The campaign's Markdown report: per agent, side by side, faults injected by kind, recovery
times (median, 95th percentile, max) by kind, fences (needed / caused by the agent: a fence after
a failed or timed-out stop of the agent on the fenced node, with the result), operation timeouts
and failures, and every invariant violation with the event log around it."""
import time

OK = ("ok", "not running", "Cancelled")


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return None
    k = max(0, min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1)))))
    return xs[k]


def fmt(x):
    return "–" if x is None else "%.1f" % x


def fences(r):
    """[(time, node, cause)]: cause "needed" or "agent: <op result>"."""
    out = []
    for t, node, _ in r.get("fences", []):
        step = next((s for s in r["steps"] if s["t0"] <= t <= s.get("t1", t + 1)), None)
        t0 = step["t0"] if step else t - 120
        bad = [o for o in r.get("op_results", []) if t0 - 5 <= o[0] <= t and o[1] == "stop" and o[3] == node
               and o[4] not in OK]
        cause = "agent: %s %s on %s: %s" % (bad[-1][1], bad[-1][2], bad[-1][3], bad[-1][4]) if bad else "needed"
        out.append((t, node, cause, step["kind"] if step else "-"))
    return out


def agent_fences(r):
    return [f for f in fences(r) if f[2] != "needed"]


def by_kind(r):
    """kind -> {n, skipped, late, lasts, alone: [recovery], combined: [recovery]}"""
    kinds = {}
    for s in r["steps"]:
        d = kinds.setdefault(s["kind"], {"n": 0, "skipped": 0, "alone": [], "combined": [], "late": 0, "lasts": 0})
        d["lasts"] = max(d["lasts"], s.get("fault_secs", 0))
        d["n"] += 1
        if s.get("skipped"):
            d["skipped"] += 1
        elif s.get("recovery") is None:
            d["late"] += 1
        else:
            d["combined" if s.get("with") else "alone"].append(s["recovery"])
    return kinds


def stats(xs):
    return "%s / %s / %s" % (fmt(pct(xs, 50)), fmt(pct(xs, 95)), fmt(max(xs) if xs else None))


def render(results):
    L = ["# Chaos campaign report", ""]
    r0 = results[0]
    L.append("Seed %d, %s min per agent, %d guests, 3 hosts; bound for \"back in time\": fault duration + %d s. "
             "Written %s." % (r0["seed"], r0["minutes"], r0["guests"], r0["bound"],
                              time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())))
    L.append("")
    L.append("| | " + " | ".join(r["agent"] for r in results) + " |")
    L.append("|---|" + "---|" * len(results))
    rows = [
        ("seed, minutes", lambda r: "%d, %s" % (r["seed"], r["minutes"])),
        ("steps run", lambda r: str(len(r["steps"]))),
        ("checker polls", lambda r: str(r.get("polls", 0))),
        ("invariant violations", lambda r: str(len(r.get("violations", [])))),
        ("fences (needed / caused by the agent)",
         lambda r: "%d / %d" % (sum(1 for f in fences(r) if f[2] == "needed"),
                                sum(1 for f in fences(r) if f[2] != "needed"))),
        ("operation timeouts", lambda r: str(sum(1 for o in r.get("op_results", []) if "Timed Out" in o[4]))),
        ("failed operations", lambda r: str(sum(1 for o in r.get("op_results", []) if o[4] not in OK))),
        ("stopped early", lambda r: r["stopped"] or "no"),
    ]
    for name, f in rows:
        L.append("| %s | %s |" % (name, " | ".join(f(r) for r in results)))
    L += ["", "## Recovery time by fault kind (s from the injection: median / p95 / max; alone, and with a `pcs resource move` or `pcs node standby` issued during the fault; late = not back in time)", ""]
    kinds = sorted({k for r in results for k in by_kind(r)})
    lasts = {k: max(by_kind(r).get(k, {"lasts": 0})["lasts"] for r in results) for k in kinds}
    L.append("| fault | " + " | ".join(r["agent"] for r in results) + " |")
    L.append("|---|" + "---|" * len(results))
    for k in kinds:
        cells = []
        for r in results:
            d = by_kind(r).get(k)
            if not d:
                cells.append("–")
                continue
            parts = []
            if d["alone"]:
                parts.append("alone n=%d: %s" % (len(d["alone"]), stats(d["alone"])))
            if d["combined"]:
                parts.append("+ move/standby n=%d: %s" % (len(d["combined"]), stats(d["combined"])))
            if d["late"]:
                parts.append("**%d late**" % d["late"])
            if d["skipped"]:
                parts.append("%d skipped" % d["skipped"])
            cells.append("; ".join(parts))
        L.append("| %s%s | %s |" % (k, " (lasts ≤ %d s)" % lasts[k] if lasts[k] else "", " | ".join(cells)))
    for r in results:
        L += ["", "## %s" % r["agent"], ""]
        fs = fences(r)
        L.append("Fences: %d." % len(fs))
        for t, node, cause, kind in fs:
            L.append("- %s %s during %s: %s" % (hms(t), node, kind, cause))
        ops = {}
        for o in r.get("op_results", []):
            if o[4] not in OK:
                key = "%s: %s" % (o[1], o[4][:120])
                ops[key] = ops.get(key, 0) + 1
        L += ["", "Failed operations (op: result, count):"]
        L += ["- %s × %d" % (k, v) for k, v in sorted(ops.items())] or ["- none"]
        L += ["", "Invariant violations: %d." % len(r.get("violations", []))]
        for t, kind, text in r.get("violations", []):
            L += ["", "### %s %s" % (hms(t), kind), "", text, "", "```"]
            L += ["%s %s" % (hms(et), m) for et, m in r["events"] if t - 20 <= et <= t + 5]
            L.append("```")
    return "\n".join(L) + "\n"


def hms(t):
    return time.strftime("%H:%M:%S", time.gmtime(t))
