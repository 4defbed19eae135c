//! No parameter value and no state of the config file turns a running
//! guest into "stopped" (issue #19), against a real libvirtd (its
//! daemon-hosted test driver, `test+unix:///default`; a connection held
//! open by the test keeps the driver's state between agent runs):
//!
//! - `shutdown_mode` / `shutdown_timeout` values the anchor never reads
//!   (`ACPI`, `60s`, `soon`), and the values it validates for every action
//!   (`migration_speed=10M`, `force_stop` with `snapshot`, …), change
//!   neither the probe's answer nor whether stop stops the guest; start and
//!   validate-all refuse what cannot be used, with the reason;
//! - a config emptied, or replaced by a directory or a FIFO, beside a
//!   running domain is treated like an unreadable one: the probe still sees
//!   the domain run (the name remembered from the last read), stop stops it.
//!
//! Domains are named `pk-<pid>-…`.

mod support;

use std::path::{Path, PathBuf};
use std::time::Instant;

use support::*;
use virtualdomain::controller::libvirt::LibvirtController;
use virtualdomain::controller::{DomainController, DomainState};

const TEST_URI: &str = "test+unix:///default";

/// A running test-driver domain started by our agent, with its config in
/// `dir`; the returned controller keeps the driver's state alive.
fn running_domain(dir: &Path, suffix: &str) -> (String, PathBuf, Ocf, LibvirtController) {
    let name = format!("pk-{}-{suffix}", std::process::id());
    let config = dir.join(format!("{name}.xml"));
    std::fs::write(
        &config,
        format!(
            "<domain type='test'>\n  <name>{name}</name>\n  <memory>65536</memory>\n  \
             <os><type arch='x86_64'>hvm</type></os>\n</domain>\n"
        ),
    )
    .unwrap();
    let keeper = LibvirtController::new(
        Some(TEST_URI.into()),
        Instant::now() + std::time::Duration::from_secs(300),
    );
    let _ = keeper.destroy(&name, by());
    let ocf = Ocf::new(&name, &config, TEST_URI);
    let start = ocf.ours("start");
    assert_eq!(start.code, 0, "start: {start:?}");
    // a monitor reads the config: the name is remembered from here on
    let monitor = ocf.recurring().ours("monitor");
    assert_eq!(monitor.code, 0, "monitor: {monitor:?}");
    (name, config, ocf, keeper)
}

fn state(keeper: &LibvirtController, name: &str) -> Option<DomainState> {
    keeper.state(name, by()).ok()
}

/// The anchor's "invalid environment" answer for the values it validates.
const INVALID_ENV: &str = "environment is invalid, resource considered stopped";

#[test]
fn parameter_values_never_decide_a_probe_or_a_stop() {
    if !lab_available("parameter values against the test driver") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let snapshot_dir = dir.path().join("snap");
    std::fs::create_dir_all(&snapshot_dir).unwrap();
    let snapshot = snapshot_dir.to_str().unwrap();
    // (variables, what start and validate-all answer: None = 0, else the
    // last exit reason's beginning with 6)
    type Row<'a> = (Vec<(&'a str, &'a str)>, Option<&'a str>);
    let rows: Vec<Row> = vec![
        // a resource switched from the anchor, which never read it
        (vec![("OCF_RESKEY_shutdown_mode", "ACPI")], None),
        // Pacemaker's time syntax, as users write it with pcs
        (vec![("OCF_RESKEY_shutdown_timeout", "60s")], None),
        (vec![("OCF_RESKEY_shutdown_timeout", "2min")], None),
        (
            vec![("OCF_RESKEY_shutdown_timeout", "soon")],
            Some("shutdown_timeout \"soon\" is not a time"),
        ),
        (
            vec![("OCF_RESKEY_shutdown_mode", "poweroff")],
            Some("shutdown_mode \"poweroff\" is not one of"),
        ),
        // values the anchor validates for every action (its probe: 7, its
        // stop: 0 without stopping the guest)
        (
            vec![("OCF_RESKEY_migration_speed", "10M")],
            Some(INVALID_ENV),
        ),
        (
            vec![("OCF_RESKEY_migration_downtime", "")],
            Some(INVALID_ENV),
        ),
        (vec![("OCF_RESKEY_stateless", "true")], Some(INVALID_ENV)),
        (
            vec![
                ("OCF_RESKEY_force_stop", "true"),
                ("OCF_RESKEY_snapshot", snapshot),
            ],
            Some(INVALID_ENV),
        ),
    ];
    for (vars, refused) in rows {
        let label = format!("{vars:?}");
        let (name, _config, ocf, keeper) = running_domain(dir.path(), "pv");
        let ocf = vars.iter().fold(ocf, |ocf, (k, v)| ocf.with(k, v));
        let probe = ocf.ours("monitor");
        assert_eq!(
            probe.code, 0,
            "{label}: probe of a running domain: {probe:?}"
        );
        let monitor = ocf.recurring().ours("monitor");
        assert_eq!(monitor.code, 0, "{label}: monitor: {monitor:?}");
        let status = ocf.ours("status");
        assert_eq!(status.code, 0, "{label}: status: {status:?}");
        for action in ["validate-all", "start"] {
            let run = ocf.ours(action);
            match refused {
                None => assert_eq!(run.code, 0, "{label}: {action}: {run:?}"),
                Some(why) => {
                    assert_eq!(run.code, 6, "{label}: {action}: {run:?}");
                    let reason = run.reason().unwrap_or_default();
                    assert!(reason.starts_with(why), "{label}: {action}: {reason:?}");
                }
            }
        }
        let stop = ocf.ours("stop");
        assert_eq!(stop.code, 0, "{label}: stop: {stop:?}");
        assert_eq!(
            state(&keeper, &name),
            None,
            "{label}: stop answered 0 and the domain is gone"
        );
        if refused.is_some() {
            assert!(
                stop.stderr.contains("WARNING"),
                "{label}: the stop warns: {}",
                stop.stderr
            );
        }
    }
}

/// How the config is spoiled.
fn spoil(config: &Path, how: &str) {
    std::fs::remove_file(config).unwrap();
    match how {
        "empty" => std::fs::write(config, "").unwrap(),
        "truncated" => std::fs::write(config, "<domain type='test'>\n  <na").unwrap(),
        "directory" => std::fs::create_dir(config).unwrap(),
        "fifo" => {
            nix::unistd::mkfifo(config, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap()
        }
        other => panic!("{other}"),
    }
}

#[test]
fn a_config_that_names_no_domain_is_not_a_stopped_domain() {
    if !lab_available("configs without a name against the test driver") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for how in ["empty", "truncated", "directory", "fifo"] {
        let (name, config, ocf, keeper) = running_domain(dir.path(), how);
        spoil(&config, how);
        let probe = ocf.ours("monitor");
        assert_eq!(probe.code, 0, "{how}: the probe sees it run: {probe:?}");
        let status = ocf.ours("status");
        assert_eq!(status.code, 0, "{how}: status: {status:?}");
        assert_eq!(
            state(&keeper, &name),
            Some(DomainState::Running),
            "{how}: untouched so far"
        );
        let stop = ocf.ours("stop");
        assert_eq!(stop.code, 0, "{how}: stop: {stop:?}");
        assert_eq!(state(&keeper, &name), None, "{how}: stop stopped it");
        // now it is stopped, and the anchor's answer stands again
        let probe = ocf.ours("monitor");
        assert_eq!(probe.code, 7, "{how}: probe after stop: {probe:?}");
        let _ = std::fs::remove_dir(&config);
        let _ = std::fs::remove_file(&config);
    }
}
