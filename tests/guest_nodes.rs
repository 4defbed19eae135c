//! Guest nodes (issue #15): Pacemaker Remote inside the guests a
//! VirtualDomain resource runs, as "Pacemaker Remote — Scaling High
//! Availability Clusters" describes it, end to end in a real two-node
//! cluster (n1 n2) of the multihost lab (tests/multihost, lab `vdr`).
//!
//! Guests: TCG VMs (remote-guest-make.sh: busybox initramfs + Debian's
//! pacemaker-remoted, 256 MiB, a static address) and LXC containers on
//! `lxc:///` in the hosts' own libvirtd (remote-container-make.sh,
//! host-cgroups.sh), all on br-guest: one network joining n1 and n2 that
//! exists only inside the lab (guest-bridge.sh). Both agents go through the
//! same scenario, the anchor (ocf:heartbeat:VirtualDomain) first as the
//! reference; per guest:
//!
//! 1. `pcs resource create RSC AGENT hypervisor=… config=… meta
//!    remote-node=NAME …` boots the guest and the guest node comes online
//!    (VMs: the name resolves through /etc/hosts; containers: `remote-addr`,
//!    `remote-port=3122`, `remote-connect-timeout=30s`, the name resolves
//!    nowhere);
//! 2. an ocf:pacemaker:Dummy with `pcs constraint location … prefers NAME`
//!    runs there;
//! 3. the guest's qemu (container: its init) is killed: the guest node is
//!    "fenced" by recovering the VM resource, the Dummy runs there again;
//! 4. `pcs resource move RSC` to the other node: VMs (allow-migrate=true)
//!    migrate live and the Dummy keeps running; containers are stopped (the
//!    Dummy first) and started on the other node;
//! 5. `pcs resource disable RSC` stops the Dummy on the guest first, then
//!    the connection, then the VM (VMs: an ACPI shutdown);
//! 6. containers: a port nobody listens on with `remote-connect-timeout=8s`:
//!    the connection's start gives up within 8 s, the guest is stopped;
//! 7. `pcs resource delete`.
//!
//! Checks are collected; the test fails at the end with the whole list.
//! Results: stderr (`--nocapture`) and /srv/vdr-test/results.txt; logs
//! under /srv/vdr-test/nI/log (pacemaker.log), the VMs' consoles under
//! nI/var-log-libvirt/qemu/, the containers' logs under lxc/NAME/. The
//! agent Pacemaker runs as ocf:rust:VirtualDomain is the installed one: it
//! must be this build (tests/run-all.sh installs it).
//! (VD_ANY_AGENT=1, outside CI only: accept another installed build.)
//! VD_GUEST_AGENTS=anchor|ours (default both), VD_GUEST_KINDS=vm,lxc
//! (default both).

#[path = "support/cluster.rs"]
mod cluster;
#[path = "guest_nodes/guests.rs"]
mod guests;
#[path = "support/multihost.rs"]
mod multihost;
#[path = "guest_nodes/scenarios.rs"]
mod scenarios;
mod support;

use std::time::{Duration, Instant};

pub use cluster::Report;
use cluster::{cluster_tools_available, installed_agent_is_this_build, Subject};
use guests::{Guest, Kind};
use multihost::{multihost_available, MultiLab};
use support::anchor_available;

pub const DIR: &str = "/srv/vdr-test";
const PREFIX: &str = "vdr";

/// Polls `check` every 0.5 s until it holds or `secs` pass.
pub fn poll(secs: u64, mut check: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Debian's pacemaker-remoted can be had (tests/multihost/remoted-fetch.sh:
/// unpacked under /var/cache/vd-lab, fetched with apt-get download once).
fn remoted_available() -> bool {
    let out = std::process::Command::new("timeout")
        .args(["300", "bash"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/multihost/remoted-fetch.sh"
        ))
        .output();
    if out.as_ref().is_ok_and(|o| o.status.success()) {
        return true;
    }
    let why = match out {
        Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
        Err(e) => e.to_string(),
    };
    let why = format!("no pacemaker-remoted: {why} (bash tests/lab/install-deps.sh)");
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("guest nodes: {why}");
    }
    eprintln!("SKIPPED guest nodes: {why}");
    false
}

/// Removes what the lab's containers may leave in the machine's cgroup
/// hierarchies when n1 is killed under them (after the lab is down).
struct CgroupSweep(Vec<String>);

impl Drop for CgroupSweep {
    fn drop(&mut self) {
        let mut args = vec![DIR.to_string(), "clean".to_string()];
        args.extend(self.0.iter().cloned());
        let _ = std::process::Command::new("timeout")
            .args(["60", "bash"])
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/multihost/host-cgroups.sh"
            ))
            .args(&args)
            .status();
    }
}

#[test]
fn guest_nodes_run_resources() {
    if !multihost_available("guest nodes")
        || !cluster_tools_available("guest nodes")
        || !installed_agent_is_this_build("guest nodes")
        || !remoted_available()
    {
        return;
    }
    let which = std::env::var("VD_GUEST_AGENTS").unwrap_or("anchor,ours".into());
    let kinds = std::env::var("VD_GUEST_KINDS").unwrap_or("vm,lxc".into());
    let has = |list: &str, w: &str| list.split(',').any(|x| x.trim() == w);
    let mut agents = Vec::new();
    if has(&which, "anchor") && anchor_available("guest nodes: the anchor beside ours") {
        agents.push(true);
    }
    if has(&which, "ours") {
        agents.push(false);
    }
    assert!(!agents.is_empty(), "VD_GUEST_AGENTS={which:?}: no agent");

    let t0 = Instant::now();
    // the lab's own networks (other labs use 10.213.7 / .8); every lab has its own bridges anyway
    std::env::set_var("NET", "10.213.9");
    std::env::set_var("MIGNET", "10.213.109");
    let names = guests::all_names();
    let sweep = CgroupSweep(names.clone());
    let lab = MultiLab::up(2, DIR, PREFIX);
    let mut report = Report::default();
    report.info(format!("lab up after {:.1}s", t0.elapsed().as_secs_f64()));
    if let Err(e) = guests::prepare_hosts(&lab) {
        report
            .failures
            .push(format!("guest network / cgroups: {e}"));
    }
    let mut todo: Vec<Guest> = Vec::new();
    for &anchor in &agents {
        for kind in [Kind::Vm, Kind::Container] {
            if has(&kinds, kind.word()) {
                todo.push(Guest::new(&lab, anchor, kind));
            }
        }
    }
    match lab.pcmk_up(&[1, 2], &[1, 2]) {
        Ok(()) => report.info(format!(
            "two-node cluster n1 n2 online after {:.1}s",
            t0.elapsed().as_secs_f64()
        )),
        Err(e) => report.failures.push(format!("two-node cluster up: {e}")),
    }
    if report.failures.is_empty() {
        for g in &todo {
            let t = Instant::now();
            scenarios::run(&lab, g, &mut report);
            report.info(format!(
                "{} {}: {:.1}s",
                g.tag(),
                g.name,
                t.elapsed().as_secs_f64()
            ));
        }
    }
    report.info(format!("whole run: {:.1}s", t0.elapsed().as_secs_f64()));
    let _ = std::fs::write(format!("{DIR}/results.txt"), report.rows.join("\n") + "\n");
    drop(lab);
    drop(sweep);
    // nothing of the lab's containers left in the machine's cgroups
    let left: Vec<String> = std::fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|c| {
            std::fs::read_dir(c.path().join("machine"))
                .into_iter()
                .flatten()
                .flatten()
        })
        .map(|e| e.path().display().to_string())
        .filter(|p| {
            names
                .iter()
                .any(|n| p.ends_with(&format!("-{n}.libvirt-lxc")))
        })
        .collect();
    if !left.is_empty() {
        report
            .failures
            .push(format!("cgroups left behind: {}", left.join(" ")));
    }
    assert!(
        report.failures.is_empty(),
        "{} failed checks (logs in {DIR}/n1/log, {DIR}/lxc):\n  {}",
        report.failures.len(),
        report.failures.join("\n  ")
    );
}
