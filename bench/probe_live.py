"""The probe's cost with a live CIB (issue #23), for bench/scale.py's part
`probe`: figure 3b of the main bench measures the probe against an offline
CIB file; a node of a real cluster reads and writes the CIB through
Pacemaker's IPC instead (ours: libcib; the anchor: crm_resource).

A one-node cluster of the multihost lab; one primitive per agent for a qemu
domain that is not defined on the node (`target-role=Stopped`: Pacemaker
probes it once, and ours then fills in its utilization from the config, as
on any node before a first start). Then, inside the node, `hyperfine` runs
each agent with pacemaker-execd's environment (bench/lab.py's execd_env, as
tests/multihost/agent-run.sh gives it): a probe with nothing remembered
(`HA_RSCTMP` emptied before each run, on a tmpfs as /run/resource-agents is)
and the same agent's recurring monitor of that domain (its steady state:
nothing to write; its exit code is reported as it came). Medians; the ratio
is probe / recurring monitor of the same agent in the same minutes."""

import json
import os

from cluster import ClusterLab, primitive
from lab import QEMU, BenchError, log, run

GUEST = "vdsp-guest"


def _guest_xml(workdir):
    """A qemu domain's config (never started here: the probe finds it absent)."""
    d = os.path.join(workdir, "probe")
    os.makedirs(d, mode=0o755, exist_ok=True)
    path = os.path.join(d, "guest.xml")
    with open(path, "w") as f:
        # one element a line, as libvirt writes it: the anchor finds the
        # name with a line-based grep (a one-line document is "Unable to
        # determine domain name" to it)
        f.write(f"<domain type='qemu'>\n  <name>{GUEST}</name>\n"
                "  <memory unit='MiB'>128</memory>\n  <vcpu>1</vcpu>\n"
                "  <os>\n    <type arch='x86_64'>hvm</type>\n  </os>\n  <devices>\n"
                "    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n  </devices>\n"
                "</domain>\n")
    return path


def probe_part(a, p, agents_at):
    """agents_at: agent -> its path on the node. One entry per agent:
    probe and recurring-monitor medians (s), the runs, the codes seen."""
    lab = ClusterLab(a.workdir, a.prefix, a.net, a.mignet)
    res = {}
    try:
        lab.up(1)
        lab.pcmk_up([1])
        cfg = _guest_xml(a.workdir)
        rids = {agent: f"vm-probe-{agent}" for agent in agents_at}
        providers = {agent: os.path.basename(os.path.dirname(path))
                     for agent, path in agents_at.items()}
        lab.add_section("resources", [primitive(
            rids[agent], providers[agent], {"config": cfg, "hypervisor": QEMU},
            meta={"target-role": "Stopped"}) for agent in agents_at])
        lab.settle()
        for agent, path in agents_at.items():
            rid, out = rids[agent], os.path.join(a.workdir, "probe", f"{agent}.json")
            probe_tmp, steady_tmp = f"/dev/shm/vdsp-{agent}-probe", f"/dev/shm/vdsp-{agent}-steady"
            cmds = {}
            for kind, rsctmp, interval in (("probe", probe_tmp, "0"),
                                           ("monitor", steady_tmp, "10000")):
                params = {"config": cfg, "hypervisor": QEMU, "CRM_meta_interval": interval}
                env = lab.execd_env(1, providers[agent], "monitor", rid, params, 30000)
                env["HA_RSCTMP"] = rsctmp
                cmds[kind] = " ".join(["env", "-i", *(f"{k}={v}" for k, v in env.items()), path,
                                       "monitor"])
            # the agents answer 7 (not running): hyperfine is told to go on,
            # and the codes are checked in its results
            run([*lab.inside(1), "hyperfine", "-N", "-i", "-w", "3",
                 "-r", str(p["probe_runs"]), "--export-json", out,
                 "--prepare", f"rm -rf {probe_tmp}", "-n", "probe", cmds["probe"],
                 "--prepare", f"mkdir -p {steady_tmp}", "-n", "monitor", cmds["monitor"]],
                timeout=600, check=False)
            res[agent] = _medians(out, agent)
            log(f"probe with the live CIB, {agent}: probe {res[agent]['probe'] * 1000:.1f} ms, "
                f"recurring monitor {res[agent]['monitor'] * 1000:.1f} ms")
    finally:
        lab.down()
    return res


def _medians(path, agent):
    try:
        with open(path) as f:
            results = json.load(f)["results"]
    except (OSError, ValueError, KeyError) as e:
        raise BenchError(f"probe part ({agent}): no hyperfine results ({e})") from e
    by = {r["command"]: r for r in results}
    codes = {kind: sorted(set(by.get(kind, {}).get("exit_codes", []))) for kind in by}
    # the probe must find the domain absent; the recurring monitor's code is
    # reported as it came (one code for every run)
    if codes.get("probe") != [7] or len(codes.get("monitor", [])) != 1:
        raise BenchError(f"probe part ({agent}): exit codes {codes}, expected probe 7 and "
                         "one code for the monitor")
    return {"probe": by["probe"]["median"], "monitor": by["monitor"]["median"],
            "monitor_rc": codes["monitor"][0], "runs": len(by["probe"]["times"])}
