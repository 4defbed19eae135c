//! A Pacemaker cluster on the multihost lab's hosts (tests/multihost
//! pcmk-up.sh: corosync + Pacemaker per host), driven as an administrator
//! drives one: pcs and the crm tools run on a node, node power-off and
//! power-on, and what Pacemaker logged about the operations it ran.
//! Included with `#[path = "support/cluster.rs"] mod cluster;` after the
//! multihost module.
#![allow(dead_code)]

use std::time::Duration;

use crate::multihost::{missing_tools, nothing_missing, text, MultiLab};
use crate::support::eventually;

/// Whether Pacemaker's daemons and tools are here (a failure under CI=true).
pub fn cluster_tools_available(what: &str) -> bool {
    let tools = [
        "corosync",
        "pacemakerd",
        "pcs",
        "crm",
        "crm_mon",
        "crm_resource",
        "cibadmin",
    ];
    nothing_missing(what, &missing_tools(&tools))
}

/// Where Pacemaker finds ocf:rust:VirtualDomain: the agent it runs.
pub const INSTALLED: &str = "/usr/lib/ocf/resource.d/rust/VirtualDomain";

/// The agent a resource under test runs on: its tag in reports and its
/// pcs name.
pub fn agent_tag(anchor: bool) -> &'static str {
    if anchor {
        "anchor"
    } else {
        "ours"
    }
}

pub fn agent_spec(anchor: bool) -> &'static str {
    if anchor {
        "ocf:heartbeat:VirtualDomain"
    } else {
        "ocf:rust:VirtualDomain"
    }
}

/// The installed agent is this build (Pacemaker runs the installed one;
/// tests/run-all.sh installs the binary cargo test builds). Outside CI,
/// VD_ANY_AGENT=1 accepts another installed build.
pub fn installed_agent_is_this_build(what: &str) -> bool {
    let built = std::fs::read(env!("CARGO_BIN_EXE_VirtualDomain")).unwrap_or_default();
    let installed = std::fs::read(INSTALLED).unwrap_or_default();
    if !built.is_empty() && built == installed {
        return true;
    }
    let ci = std::env::var("CI").as_deref() == Ok("true");
    if !ci && !installed.is_empty() && std::env::var("VD_ANY_AGENT").as_deref() == Ok("1") {
        eprintln!("NOTE {what}: {INSTALLED} is not this build (VD_ANY_AGENT=1)");
        return true;
    }
    let why = format!("{INSTALLED} is not this build (tests/run-all.sh installs it)");
    if ci {
        panic!("{what}: {why}");
    }
    eprintln!("SKIPPED {what}: {why}");
    false
}

/// What a resource under test is called in a report.
pub trait Subject {
    fn tag(&self) -> String;
}

/// What the scenarios saw: a line per step, and the checks that failed.
#[derive(Default)]
pub struct Report {
    pub rows: Vec<String>,
    pub failures: Vec<String>,
}

impl Report {
    /// Records a check of `who`; false when it failed.
    pub fn check(&mut self, who: &impl Subject, ok: bool, what: impl AsRef<str>) -> bool {
        let tag = who.tag();
        let line = format!(
            "{} {:10} {}",
            if ok { "PASS" } else { "FAIL" },
            tag,
            what.as_ref()
        );
        eprintln!("{line}");
        self.rows.push(line);
        if !ok {
            self.failures.push(format!("{tag}: {}", what.as_ref()));
        }
        ok
    }

    pub fn info(&mut self, what: impl AsRef<str>) {
        let line = format!("INFO {}", what.as_ref());
        eprintln!("{line}");
        self.rows.push(line);
    }
}

impl MultiLab {
    /// Starts corosync + Pacemaker on `nodes` of a cluster whose members
    /// are `members` (pcmk-up.sh; waits until they are all online).
    pub fn pcmk_up(&self, members: &[usize], nodes: &[usize]) -> Result<(), String> {
        let list = |v: &[usize]| v.iter().map(|i| i.to_string()).collect::<Vec<_>>();
        let mut args = vec![self.dir.to_str().unwrap().to_string()];
        args.extend(list(nodes));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self.script_env(
            "pcmk-up.sh",
            &args,
            &[("MEMBERS", &list(members).join(" "))],
            Duration::from_secs(180),
        );
        if out.status.success() {
            Ok(())
        } else {
            Err(text(&out))
        }
    }

    /// Stops Pacemaker (its resources first) and corosync on `nodes`.
    pub fn pcmk_down(&self, nodes: &[usize]) {
        let mut args = vec![self.dir.to_str().unwrap().to_string()];
        args.extend(nodes.iter().map(|i| i.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self.script("pcmk-down.sh", &args, Duration::from_secs(300));
        assert!(out.status.success(), "pcmk-down.sh: {}", text(&out));
    }

    /// Forgets the cluster nI belonged to: its CIB and corosync state (the
    /// cluster stack must be stopped there).
    pub fn wipe_cluster_state(&self, i: usize) {
        for sub in ["pacemaker/cib", "pacemaker/pengine", "corosync"] {
            let dir = self.dir.join(format!("n{i}/{sub}"));
            if let Ok(entries) = std::fs::read_dir(&dir) {
                for e in entries.flatten() {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }

    /// Powers nI off at once (host-kill.sh: every process of the host dies).
    pub fn power_off(&self, i: usize) {
        self.host_script("host-kill.sh", i);
    }

    /// Powers nI on again (host-start.sh: init, virtlogd, libvirtd).
    pub fn power_on(&self, i: usize) {
        self.host_script("host-start.sh", i);
    }

    fn host_script(&self, script: &str, i: usize) {
        let dir = self.dir.to_str().unwrap();
        let out = self.script(script, &[dir, &i.to_string()], Duration::from_secs(60));
        assert!(out.status.success(), "{script} n{i}: {}", text(&out));
    }

    /// `pcs ARGS` on nI (bounded by 200 s): success and its output.
    pub fn pcs(&self, i: usize, args: &[&str]) -> (bool, String) {
        let mut cmd = vec!["timeout", "200", "pcs"];
        cmd.extend_from_slice(args);
        self.exec(i, &cmd)
    }

    /// The nodes Pacemaker says `rsc` is active on, asked on nI.
    pub fn located(&self, i: usize, rsc: &str) -> Vec<String> {
        let (_, out) = self.exec(i, &["timeout", "30", "crm_resource", "--locate", "-r", rsc]);
        out.lines()
            .filter_map(|l| l.split_once("is running on:"))
            .map(|(_, node)| node.split_whitespace().next().unwrap_or("").to_string())
            .collect()
    }

    /// Waits (at most `secs`) until the cluster has nothing left to do.
    pub fn settle(&self, i: usize, secs: u64) -> bool {
        let limit = format!("{secs}s");
        self.exec(
            i,
            &[
                "timeout",
                "300",
                "crm_resource",
                "--wait",
                "--timeout",
                &limit,
            ],
        )
        .0
    }

    /// Waits (at most `secs`) until `rsc` is active on exactly `node`.
    pub fn wait_located(&self, i: usize, rsc: &str, node: &str, secs: u64) -> bool {
        eventually(Duration::from_secs(secs), || {
            self.located(i, rsc) == [node.to_string()]
        })
    }

    /// The hosts among `up` where libvirt runs domain `name`.
    pub fn running_on(&self, up: &[usize], name: &str) -> Vec<usize> {
        up.iter()
            .copied()
            .filter(|&i| self.state(i, name) == "running")
            .collect()
    }

    /// How many times node nI's controller logged `Result of OP operation
    /// for RSC on nI: RESULT` (its own pacemaker.log survives power-offs).
    pub fn op_results(&self, i: usize, op: &str, rsc: &str, result: &str) -> usize {
        let needle = format!("Result of {op} operation for {rsc} on n{i}: {result} ");
        let log = self.dir.join(format!("n{i}/log/pacemaker.log"));
        std::fs::read_to_string(log)
            .map(|t| t.lines().filter(|l| l.contains(&needle)).count())
            .unwrap_or(0)
    }

    /// Whether a tick of boot `boot` happens on nI now (within `secs`):
    /// the guest kept running (an older line of that boot does not count).
    pub fn still_ticks(&self, i: usize, guest: &str, boot: &str, secs: u64) -> bool {
        self.live_tick(i, guest, secs)
            .is_some_and(|(b, _)| b == boot)
    }

    /// The same, summed over every host.
    pub fn op_results_anywhere(&self, op: &str, rsc: &str, result: &str) -> usize {
        (1..=self.hosts)
            .map(|i| self.op_results(i, op, rsc, result))
            .sum()
    }

    /// The resource's utilization attribute (crm_resource -z -g), if set.
    pub fn utilization(&self, i: usize, rsc: &str, attr: &str) -> Option<String> {
        match self.exec(
            i,
            &[
                "timeout",
                "30",
                "crm_resource",
                "-r",
                rsc,
                "-z",
                "-g",
                attr,
                "-Q",
            ],
        ) {
            // crm_resource -g of an absent attribute: "Attribute 'X' not
            // found for 'R'", and exit status 0 in 2.1.5
            (true, v) if !v.is_empty() && !v.contains("not found") => Some(v),
            _ => None,
        }
    }

    /// Pacemaker's record of the operations of `rsc` (its status section,
    /// asked on nI): (operation, interval ms, exec-time ms) of each
    /// `lrm_rsc_op`, on every node.
    pub fn op_records(&self, i: usize, rsc: &str) -> Vec<(String, u64, u64)> {
        let xpath = format!("//lrm_resource[@id='{rsc}']/lrm_rsc_op");
        let (_, out) = self.exec(i, &["timeout", "30", "cibadmin", "-Q", "--xpath", &xpath]);
        let attr = |elem: &str, name: &str| -> Option<String> {
            let start = elem.find(&format!(" {name}=\""))? + name.len() + 3;
            let len = elem[start..].find('"')?;
            Some(elem[start..start + len].to_string())
        };
        out.split("<lrm_rsc_op")
            .skip(1)
            .filter_map(|elem| {
                Some((
                    attr(elem, "operation")?,
                    attr(elem, "interval")?.parse().ok()?,
                    attr(elem, "exec-time")?.parse().ok()?,
                ))
            })
            .collect()
    }

    /// The resource's fail count on node `node` (0 when there is none).
    pub fn fail_count(&self, i: usize, rsc: &str, node: &str) -> u64 {
        let (_, out) = self.exec(
            i,
            &[
                "timeout",
                "30",
                "crm_failcount",
                "-G",
                "-Q",
                "-r",
                rsc,
                "-N",
                node,
            ],
        );
        out.trim().parse().unwrap_or(0)
    }
}
