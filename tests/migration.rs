//! Live migration between two real libvirt hosts: the multihost lab
//! (tests/multihost: hosts n1 and n2 in their own network, mount, UTS and
//! PID namespaces, each with its own libvirtd on TCP) and one tiny TCG guest
//! that ticks on its per-host serial console with a boot id. The same
//! boot id with a later tick on the destination shows that the guest kept
//! running through a migration.
//!
//! Each scenario is run for the anchor (ocf:heartbeat:VirtualDomain) and for
//! ours, as Pacemaker would drive them (agent-run.sh: execd's environment,
//! killed at CRM_meta_timeout). The exit codes expected of each are in one
//! table, [`EXPECTED`]; they are equal except for the divergences noted
//! there. Scenarios for parameters the anchor does not have (pause mode,
//! migration_mapping, double-start protection) run for ours only.
//!
//! Checks do not stop at the first failure: every failed check is
//! collected, the scenarios go on (each starts from a guest it knows to be
//! running), and the test fails at the end with the whole list, so one run
//! shows everything that is still missing. Results: the table on stderr
//! (`--nocapture`) and in /srv/vdm-test/results.txt; logs under
//! /srv/vdm-test/nI/ (agent.log, libvirtd.log, consoles) until the next run.
//!
//! VD_MIGRATION_AGENTS=anchor|ours|anchor,ours (default both) picks the
//! agents; VD_MIGRATION_OURS=PATH runs another build as ours (default: this
//! crate's binary). Under CI=true nothing is skipped.

#[path = "migration/config_unreadable.rs"]
mod config_unreadable;
#[path = "migration/converging.rs"]
mod converging;
#[path = "migration/events.rs"]
mod events;
#[path = "migration/expected.rs"]
mod expected;
#[path = "migration/failures.rs"]
mod failures;
#[path = "migration/host_faults.rs"]
mod host_faults;
#[path = "migration/midway.rs"]
mod midway;
#[path = "support/multihost.rs"]
mod multihost;
#[path = "migration/observed.rs"]
mod observed;
#[path = "migration/postcopy.rs"]
mod postcopy;
#[path = "migration/successes.rs"]
mod successes;
mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use events::Events;
use expected::EXPECTED;
use multihost::*;
use support::{anchor_available, Run, ANCHOR};

const DIR: &str = "/srv/vdm-test";
const PREFIX: &str = "vdm";
const NAME: &str = "vdm-g1";

/// Operation timeouts given to the agents (CRM_meta_timeout, ms). Shorter
/// than pcs's defaults (migrate_to 120 s, migrate_from 60 s, start/stop
/// 90 s) so that an agent that hangs costs the run less.
const T_START: u64 = 30_000;
const T_STOP: u64 = 30_000;
const T_MONITOR: u64 = 20_000;
const T_MIGRATE_TO: u64 = 60_000;
const T_MIGRATE_FROM: u64 = 30_000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Agent {
    Anchor,
    Ours,
}

impl Agent {
    fn path(self) -> PathBuf {
        match self {
            Agent::Anchor => PathBuf::from(ANCHOR),
            Agent::Ours => std::env::var_os("VD_MIGRATION_OURS")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_VirtualDomain"))),
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Agent::Anchor => "anchor",
            Agent::Ours => "ours",
        }
    }
}

fn expected(step: &str, agent: Agent) -> i32 {
    let (_, anchor, ours, _) = EXPECTED
        .iter()
        .find(|(s, ..)| *s == step)
        .unwrap_or_else(|| panic!("step {step:?} is not in EXPECTED"));
    match agent {
        Agent::Anchor => anchor.unwrap_or_else(|| panic!("{step}: not for the anchor")),
        Agent::Ours => *ours,
    }
}

/// The run ended before its timeout with the exit margin an agent keeps
/// (max(1 s, T/10), as support::assert_answered_in_time; 300 ms slack).
fn in_time(run: &Run, timeout_ms: u64) -> bool {
    let margin = (timeout_ms / 10).max(1000).min(timeout_ms / 2);
    run.elapsed <= Duration::from_millis(timeout_ms - margin + 300)
}

/// The exit reason of a migration that failed, as the spec words it
/// (§7: "<dom>: live migration to <target> failed: <rc>"; ours gives
/// libvirt's message for the rc).
fn says_migration_failed(run: &Run, target: &str) -> bool {
    run.reason().is_some_and(|r| {
        r.starts_with(&format!("{NAME}: live migration to {target}")) && r.contains(" failed: ")
    })
}

fn other(i: usize) -> usize {
    3 - i
}

/// Seconds since the epoch of a `virsh event --timestamp` stamp
/// ("2026-11-27 10:52:00.275+0000", UTC).
fn event_time(stamp: &str) -> Option<f64> {
    let (date, time) = stamp.split_once(' ')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let time = time.strip_suffix("+0000")?;
    let mut t = time.split(':');
    let (h, min, s) = (
        t.next()?.parse::<f64>().ok()?,
        t.next()?.parse::<f64>().ok()?,
        t.next()?.parse::<f64>().ok()?,
    );
    // days from the civil date (H. Hinnant's algorithm)
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days as f64 * 86_400.0 + h * 3600.0 + min * 60.0 + s)
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// One agent's pass through the scenarios.
/// A scenario: its letter, whether this agent runs it, the scenario.
type Scenario<'l> = (&'static str, bool, fn(&mut Pass<'l>));

struct Pass<'a> {
    lab: &'a MultiLab,
    agent: Agent,
    xml: PathBuf,
    rows: Vec<String>,
    failures: Vec<String>,
}

impl<'a> Pass<'a> {
    fn check(&mut self, ok: bool, what: impl AsRef<str>) -> bool {
        if !ok {
            self.failures
                .push(format!("{}: {}", self.agent.tag(), what.as_ref()));
        }
        ok
    }

    fn info(&mut self, what: impl AsRef<str>) {
        self.rows
            .push(format!("{:6}   {}", self.agent.tag(), what.as_ref()));
    }

    /// Runs step `step` (its expected code from EXPECTED) on host nI.
    fn step(
        &mut self,
        step: &str,
        host: usize,
        action: &str,
        timeout_ms: u64,
        extra: &[(&str, &str)],
    ) -> Run {
        let xml = self.xml.to_str().unwrap().to_string();
        let timeout = timeout_ms.to_string();
        // `config` in extra replaces the guest's
        let config = extra.iter().find(|(k, _)| *k == "config");
        let mut params: Vec<(&str, &str)> = vec![
            config.copied().unwrap_or(("config", &xml)),
            ("hypervisor", "qemu:///system"),
            ("migration_transport", "tcp"),
            ("autoset_utilization_cpu", "false"),
            ("autoset_utilization_hv_memory", "false"),
            ("autoset_utilization_host_memory", "false"),
            ("CRM_meta_timeout", &timeout),
        ];
        params.extend(extra.iter().filter(|(k, _)| *k != "config"));
        let run = self.lab.agent(host, &self.agent.path(), action, &params);
        let want = expected(step, self.agent);
        let reason = run.reason().unwrap_or_default();
        self.rows.push(format!(
            "{:6} {:42} n{host} {:12} rc={:<3} expected={:<3} {:>7.2}s  {}",
            self.agent.tag(),
            step,
            action,
            run.code,
            want,
            run.elapsed.as_secs_f64(),
            reason
        ));
        self.check(
            run.code == want,
            format!(
                "{step}: rc {} (expected {want}), {:.2}s, reason {reason:?}; stderr: {}",
                run.code,
                run.elapsed.as_secs_f64(),
                run.stderr
                    .lines()
                    .filter(|l| !l.starts_with("agent-run:"))
                    .collect::<Vec<_>>()
                    .join(" | ")
            ),
        );
        self.check(
            !reason.contains("panicked"),
            format!("{step}: the agent panicked: {reason}"),
        );
        run
    }

    /// A step that Pacemaker would not run because the one before failed.
    fn not_run(&mut self, step: &str, why: &str) {
        self.rows
            .push(format!("{:6} {:42} not run: {why}", self.agent.tag(), step));
        self.check(false, format!("{step}: not run: {why}"));
    }

    fn migrate_params<'p>(src: &'p str, dst: &'p str) -> Vec<(&'p str, &'p str)> {
        vec![
            ("CRM_meta_migrate_source", src),
            ("CRM_meta_migrate_target", dst),
        ]
    }

    /// Where the guest runs, with a tick seen now: (host, boot id, tick).
    /// A guest running on exactly one host and ticking is kept; otherwise
    /// it is destroyed everywhere and created afresh on n1 (by virsh, not by
    /// the agent under test).
    fn ensure_running(&mut self) -> (usize, String, u64) {
        let states: Vec<String> = (1..=2).map(|i| self.lab.state(i, NAME)).collect();
        let running: Vec<usize> = (1..=2).filter(|&i| states[i - 1] == "running").collect();
        let others = states.iter().filter(|s| !s.is_empty()).count();
        if running.len() == 1 && others == 1 {
            if let Some((boot, tick)) = self.lab.live_tick(running[0], NAME, 10) {
                return (running[0], boot, tick);
            }
        }
        self.lab.destroy_everywhere(NAME);
        let (ok, out) = self.lab.virsh(1, &["create", self.xml.to_str().unwrap()]);
        assert!(ok, "virsh create on n1: {out}");
        let (boot, tick) = self
            .lab
            .live_tick(1, NAME, 90)
            .expect("the guest ticks on n1 after its start");
        (1, boot, tick)
    }

    /// The guest still runs on `host`: same boot, a later tick within 15 s.
    fn still_running(&mut self, host: usize, boot: &str, tick: u64, what: &str) -> u64 {
        match self.lab.tick_after(host, NAME, boot, tick, 15) {
            Some((_, k)) => k,
            None => {
                self.check(false, format!("{what}: the guest does not tick on n{host} with boot {boot} after tick {tick}"));
                tick
            }
        }
    }

    fn nothing_on(&mut self, host: usize, what: &str) {
        let state = self.lab.state(host, NAME);
        if !self.check(
            state.is_empty(),
            format!("{what}: nothing on n{host}, but: {state}"),
        ) {
            self.lab.virsh(host, &["destroy", NAME]);
        }
    }

    /// migrate_to on src, then (if it answered 0, as Pacemaker does)
    /// migrate_from on dst; then checks that the guest moved live: same
    /// boot id and a later tick on dst, nothing left on src. The agents'
    /// runs and whether it moved.
    fn migrate(
        &mut self,
        to_step: &str,
        from_step: &str,
        (src, boot, tick): (usize, &str, u64),
        extra: &[(&str, &str)],
    ) -> (Run, Option<Run>, bool) {
        let dst = other(src);
        let (s, d) = (format!("n{src}"), format!("n{dst}"));
        let mut params = Self::migrate_params(&s, &d);
        params.extend_from_slice(extra);
        let to = self.step(to_step, src, "migrate_to", T_MIGRATE_TO, &params);
        self.check(
            to.code != 0 || in_time(&to, T_MIGRATE_TO),
            format!("{to_step}: answered late ({:?})", to.elapsed),
        );
        if to.code != 0 {
            self.not_run(from_step, "migrate_to failed");
            return (to, None, false);
        }
        let from = self.step(from_step, dst, "migrate_from", T_MIGRATE_FROM, &params);
        let moved = self.lab.tick_after(dst, NAME, boot, tick, 15).is_some();
        self.check(
            moved,
            format!("{to_step}: no tick of boot {boot} after {tick} on n{dst} (not live?)"),
        );
        let left = self.lab.state(src, NAME);
        self.check(
            left.is_empty(),
            format!("{to_step}: the domain is still on n{src}: {left}"),
        );
        let state = self.lab.state(dst, NAME);
        self.check(
            state == "running",
            format!("{from_step}: the guest is {state:?} on n{dst}"),
        );
        (to, Some(from), moved && left.is_empty())
    }

    fn all(&mut self) {
        // VD_MIGRATION_ONLY=a,g,… runs only those scenarios (to iterate)
        let only = std::env::var("VD_MIGRATION_ONLY").unwrap_or_default();
        let run = |s: &str| only.is_empty() || only.split(',').any(|o| o.trim() == s);
        let ours = self.agent == Agent::Ours;
        let scenarios: [Scenario<'_>; 18] = [
            ("a", true, Self::round_trip),
            ("b", true, Self::p2p_tunnelled),
            ("d", true, Self::mapped),
            ("e", true, Self::throttled),
            ("c", ours, Self::pause_mode),
            ("f", true, Self::target_unreachable),
            ("g", true, Self::deadline),
            ("h", true, Self::nothing_arrives),
            ("j", true, Self::not_running),
            ("i", ours, Self::double_start),
            ("k", ours, Self::config_unreadable_on_target),
            ("l", true, Self::converging),
            ("m", true, Self::target_libvirtd_restarted),
            ("n", true, Self::source_libvirtd_restarted),
            ("o", true, Self::source_libvirtd_frozen_and_thawed),
            ("p", true, Self::source_libvirtd_frozen),
            ("r", true, Self::migration_network_cut),
            ("q", true, Self::target_powered_off),
        ];
        for (id, wanted, scenario) in scenarios {
            if wanted && run(id) {
                scenario(self);
            }
        }
    }
}

#[test]
fn live_migration_between_two_hosts() {
    if !multihost_available("live migration between two hosts") {
        return;
    }
    let which = std::env::var("VD_MIGRATION_AGENTS").unwrap_or("anchor,ours".into());
    let mut agents = Vec::new();
    if which.split(',').any(|a| a.trim() == "anchor")
        && anchor_available("live migration: the anchor beside ours")
    {
        agents.push(Agent::Anchor);
    }
    if which.split(',').any(|a| a.trim() == "ours") {
        agents.push(Agent::Ours);
    }
    assert!(
        !agents.is_empty(),
        "VD_MIGRATION_AGENTS={which:?}: no agent"
    );

    let t0 = Instant::now();
    let lab = MultiLab::up(2, DIR, PREFIX);
    let xml = lab.guest(NAME, "obey");
    let mut rows = vec![format!("lab up after {:.1}s", t0.elapsed().as_secs_f64())];
    let mut failures = Vec::new();
    for agent in agents {
        let t = Instant::now();
        let mut pass = Pass {
            lab: &lab,
            agent,
            xml: xml.clone(),
            rows: Vec::new(),
            failures: Vec::new(),
        };
        pass.all();
        lab.destroy_everywhere(NAME);
        rows.append(&mut pass.rows);
        rows.push(format!(
            "{:6} done after {:.1}s",
            agent.tag(),
            t.elapsed().as_secs_f64()
        ));
        failures.append(&mut pass.failures);
    }
    rows.push(format!("total {:.1}s", t0.elapsed().as_secs_f64()));
    let table = rows.join("\n");
    eprintln!("{table}");
    let _ = std::fs::write(
        format!("{DIR}/results.txt"),
        format!("{table}\n\nfailures:\n{}\n", failures.join("\n")),
    );
    assert!(
        failures.is_empty(),
        "{} failed checks:\n{}\n\n{table}",
        failures.len(),
        failures.join("\n")
    );
}
