//! Real Pacemaker clusters moving real guests: corosync + Pacemaker on the
//! multihost lab's hosts (tests/multihost, each host its own libvirtd),
//! resources created and driven with pcs exactly as the README tells users,
//! and the guests' serial consoles (boot id + tick) showing what really
//! happened to them.
//!
//! Both agents run side by side: `vm-anchor` (ocf:heartbeat:VirtualDomain,
//! guest vdc-a) as the reference and `vm-ours` (ocf:rust:VirtualDomain,
//! guest vdc-o), through the same scenarios in the same cluster, and the
//! cluster-visible results are compared: equal, except where a row says
//! what differs and why (reload without restart, placement from the first
//! start).
//!
//! 1. single_node: a one-node cluster on n1: create, recovery after qemu is
//!    killed, disable/enable, cleanup, reload (pcs resource update),
//!    the README's switch of the running resource to ours and back, delete.
//! 2. io_error (ours only): a one-node cluster recovers a guest qemu paused
//!    on a disk I/O error through a monitor with OCF_CHECK_LEVEL=10.
//! 3. three_nodes: n1..n3: live migration by `pcs resource move`, node
//!    power-off and failover, a rejoining node's probe, a migration the
//!    target refuses.
//! 4. placement: placement-strategy=utilization with nodes of different
//!    capacity.
//!
//! Checks do not stop at the first failure; the test fails at the end with
//! the whole list. Results: stderr (`--nocapture`) and
//! /srv/vdc-test/results.txt; logs under /srv/vdc-test/nI/log
//! (pacemaker.log, corosync.log) and nI/var-log-libvirt until the next run.
//! The agent Pacemaker runs as ocf:rust:VirtualDomain is the installed one
//! (/usr/lib/ocf/resource.d/rust/VirtualDomain, as tests/run-all.sh
//! installs it): it must be this build. VD_CLUSTER_AGENTS=anchor|ours
//! picks the agents (default both); VD_CLUSTER_PHASES=single,io,three,placement
//! the phases (default all four).

#[path = "support/cluster.rs"]
mod cluster;
#[path = "cluster/io_error.rs"]
mod io_error;
#[path = "support/multihost.rs"]
mod multihost;
#[path = "cluster/placement.rs"]
mod placement;
#[path = "cluster/single_node.rs"]
mod single_node;
mod support;
#[path = "cluster/switching.rs"]
mod switching;
#[path = "cluster/three_nodes.rs"]
mod three_nodes;

use std::path::PathBuf;
use std::time::Instant;

pub use cluster::Report;
use cluster::{
    agent_spec, agent_tag, cluster_tools_available, installed_agent_is_this_build, Subject,
};
use multihost::{multihost_available, MultiLab};
use support::anchor_available;

const DIR: &str = "/srv/vdc-test";
const PREFIX: &str = "vdc";

/// One VM resource under test: an agent, its resource and its guest.
pub struct Vm {
    pub anchor: bool,
    pub rsc: &'static str,
    pub guest: &'static str,
    pub xml: PathBuf,
}

impl Subject for Vm {
    fn tag(&self) -> String {
        agent_tag(self.anchor).to_string()
    }
}

impl Vm {
    /// `pcs resource create` as the README shows it (monitor every 5 s
    /// instead of the default 10 s: failures are seen sooner), plus
    /// `extra` words (parameters, or pcs flags such as --disabled).
    pub fn create(&self, lab: &MultiLab, node: usize, extra: &[&str]) -> (bool, String) {
        let config = format!("config={}", self.xml.display());
        let mut args = vec![
            "resource",
            "create",
            self.rsc,
            agent_spec(self.anchor),
            &config,
            "hypervisor=qemu:///system",
            "migration_transport=tcp",
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[
            "meta",
            "allow-migrate=true",
            "op",
            "monitor",
            "interval=5s",
            "timeout=30s",
        ]);
        if !extra.contains(&"--disabled") {
            args.push("--wait=120");
        }
        lab.pcs(node, &args)
    }
}

/// A tick happening now on nI (waits at most `secs`) from a boot other
/// than `not`: (boot id, tick). With `not` = None, any boot.
pub fn booted(
    lab: &MultiLab,
    i: usize,
    guest: &str,
    not: Option<&str>,
    secs: u64,
) -> Option<(String, u64)> {
    let end = Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let left = end.saturating_duration_since(Instant::now()).as_secs();
        match lab.live_tick(i, guest, left.clamp(1, 10)) {
            Some((boot, tick)) if Some(boot.as_str()) != not => return Some((boot, tick)),
            _ if Instant::now() >= end => return None,
            _ => std::thread::sleep(std::time::Duration::from_millis(500)),
        }
    }
}

#[test]
fn real_clusters_move_real_guests() {
    if !multihost_available("clusters")
        || !cluster_tools_available("clusters")
        || !installed_agent_is_this_build("clusters")
    {
        return;
    }
    let which = std::env::var("VD_CLUSTER_AGENTS").unwrap_or("anchor,ours".into());
    let wants = |a: &str| which.split(',').any(|w| w.trim() == a);
    let t0 = Instant::now();
    let lab = MultiLab::up(3, DIR, PREFIX);
    let mut vms = Vec::new();
    if wants("anchor") && anchor_available("clusters: the anchor beside ours") {
        vms.push(Vm {
            anchor: true,
            rsc: "vm-anchor",
            guest: "vdc-a",
            xml: lab.guest("vdc-a", "obey"),
        });
    }
    if wants("ours") {
        vms.push(Vm {
            anchor: false,
            rsc: "vm-ours",
            guest: "vdc-o",
            xml: lab.guest("vdc-o", "obey"),
        });
    }
    assert!(!vms.is_empty(), "VD_CLUSTER_AGENTS={which:?}: no agent");
    let mut report = Report::default();
    report.info(format!("lab up after {:.1}s", t0.elapsed().as_secs_f64()));

    let phases = std::env::var("VD_CLUSTER_PHASES").unwrap_or("single,io,three,placement".into());
    let phase = |p: &str| phases.split(',').any(|w| w.trim() == p);
    if phase("single") {
        let t = Instant::now();
        single_node::run(&lab, &vms, &mut report);
        report.info(format!("single node: {:.1}s", t.elapsed().as_secs_f64()));
        lab.pcmk_down(&[1]);
        lab.wipe_cluster_state(1);
    }
    if phase("io") && wants("ours") {
        let t = Instant::now();
        io_error::run(&lab, &mut report);
        report.info(format!("io error: {:.1}s", t.elapsed().as_secs_f64()));
        lab.pcmk_down(&[1]);
        lab.wipe_cluster_state(1);
    }
    let three_up = (phase("three") || phase("placement"))
        && match lab.pcmk_up(&[1, 2, 3], &[1, 2, 3]) {
            Ok(()) => {
                report.info("three-node cluster n1 n2 n3 online");
                true
            }
            Err(e) => {
                report.failures.push(format!("three-node cluster up: {e}"));
                false
            }
        };
    if phase("three") && three_up {
        let t = Instant::now();
        three_nodes::run(&lab, &vms, &mut report);
        report.info(format!("three nodes: {:.1}s", t.elapsed().as_secs_f64()));
    }
    if phase("placement") && three_up {
        let t = Instant::now();
        placement::run(&lab, &vms, &mut report);
        report.info(format!("placement: {:.1}s", t.elapsed().as_secs_f64()));
    }
    report.info(format!("whole run: {:.1}s", t0.elapsed().as_secs_f64()));

    let _ = std::fs::write(format!("{DIR}/results.txt"), report.rows.join("\n") + "\n");
    drop(lab);
    assert!(
        report.failures.is_empty(),
        "{} failed checks (logs in {DIR}/nI/log):\n  {}",
        report.failures.len(),
        report.failures.join("\n  ")
    );
}
