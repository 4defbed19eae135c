//! Utilization and reload-agent against a real libvirtd (its daemon-hosted
//! test driver, `test+unix:///default`), the CIB writes observed through a
//! stand-in `crm_resource` that logs its arguments: a probe of a domain
//! libvirt does not know takes the figures from the config XML, a running
//! domain's come from libvirt, and reload-agent applies changed
//! utilization flags at once, refuses an invalid value (6) and tolerates
//! an unreadable config (0). Domains are named `rlu-<pid>-…`.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::*;
use virtualdomain::controller::libvirt::LibvirtController;
use virtualdomain::controller::{DomainController, DomainState};

const TEST_URI: &str = "test+unix:///default";

fn domain_xml(name: &str, vcpu: &str, memory: &str) -> String {
    format!(
        "<domain type='test'><name>{name}</name>{memory}{vcpu}\
         <os><type arch='x86_64'>hvm</type></os></domain>"
    )
}

/// The OCF environment with the stand-in `crm_resource` first in PATH
/// (and libcib unloadable: the fallback),
/// utilization flags at their defaults (all autoset on), a fresh HA_RSCTMP.
fn setup(dir: &Path, name: &str, config: &Path) -> (Ocf, PathBuf) {
    let (ocf, log) = Ocf::new(name, config, TEST_URI).with_fake_crm_resource(dir);
    let rsctmp = ocf.vars.iter().find(|(k, _)| k == "HA_RSCTMP").unwrap();
    let _ = std::fs::remove_dir_all(&rsctmp.1);
    std::fs::create_dir_all(&rsctmp.1).unwrap();
    let ocf = ocf
        .without("OCF_RESKEY_autoset_utilization_cpu")
        .without("OCF_RESKEY_autoset_utilization_hv_memory")
        .without("OCF_RESKEY_autoset_utilization_host_memory");
    (ocf, log)
}

/// The calls logged since the last look (the log is emptied).
fn take_calls(log: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let _ = std::fs::remove_file(log);
    let mut calls: Vec<String> = text.lines().map(str::to_string).collect();
    calls.sort();
    calls
}

fn set(instance: &str, attr: &str, value: u64) -> String {
    format!("--resource={instance} --utilization --set-parameter={attr} --parameter-value={value}")
}

fn get(instance: &str, attr: &str) -> String {
    format!("--resource={instance} --utilization --get-parameter={attr} --quiet")
}

fn delete(instance: &str, attr: &str) -> String {
    format!("--resource={instance} --utilization --delete-parameter={attr}")
}

#[test]
fn probe_figures_come_from_the_config_until_libvirt_runs_the_domain() {
    if !lab_available("utilization from the config") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = format!("rlu-{}-probe", std::process::id());
    let config = dir.path().join("vm.xml");
    let memory = "<memory unit='MB'>1500</memory>"; // 1464843.75 KiB → 1430 MiB
    std::fs::write(
        &config,
        domain_xml(&name, "<vcpu current='2'>3</vcpu>", memory),
    )
    .unwrap();
    let (ocf, log) = setup(dir.path(), &name, &config);

    let probe = ocf.ours("monitor");
    assert_eq!(probe.code, 7, "{probe:?}");
    assert_eq!(
        take_calls(&log),
        [
            get(&name, "cpu"),
            get(&name, "host_memory"),
            get(&name, "hv_memory"),
            set(&name, "cpu", 2),
            set(&name, "host_memory", 1430),
            set(&name, "hv_memory", 1430),
        ],
        "the config's figures, where the CIB has none"
    );
    // the next probe reads the CIB again (someone may have changed it):
    // it has the values, nothing is written
    for attr in ["cpu", "host_memory", "hv_memory"] {
        std::fs::write(dir.path().join(format!("present-{attr}")), "1\n").unwrap();
    }
    assert_eq!(ocf.ours("monitor").code, 7);
    assert_eq!(
        take_calls(&log),
        [
            get(&name, "cpu"),
            get(&name, "host_memory"),
            get(&name, "hv_memory"),
        ],
        "written once"
    );
    for attr in ["host_memory", "hv_memory"] {
        let _ = std::fs::remove_file(dir.path().join(format!("present-{attr}")));
    }

    // another node (nothing remembered) where the CIB already has a cpu
    // figure, written live by the node running the guest: it stays
    let rsctmp = &ocf.vars.iter().find(|(k, _)| k == "HA_RSCTMP").unwrap().1;
    for entry in std::fs::read_dir(rsctmp).unwrap().flatten() {
        let _ = std::fs::remove_file(entry.path());
    }
    std::fs::write(dir.path().join("present-cpu"), "4\n").unwrap();
    assert_eq!(ocf.ours("monitor").code, 7);
    assert_eq!(
        take_calls(&log),
        [
            get(&name, "cpu"),
            get(&name, "host_memory"),
            get(&name, "hv_memory"),
            set(&name, "host_memory", 1430),
            set(&name, "hv_memory", 1430),
        ],
        "a figure in the CIB is not overwritten by the config's"
    );
    let _ = std::fs::remove_file(dir.path().join("present-cpu"));

    // the domain runs with other figures than the file's: libvirt's count
    let keeper = LibvirtController::new(
        Some(TEST_URI.into()),
        Instant::now() + Duration::from_secs(60),
    );
    let _ = keeper.destroy(&name, by());
    let live = domain_xml(&name, "<vcpu>4</vcpu>", "<memory unit='MiB'>512</memory>");
    keeper.create(&live, by()).unwrap();
    let monitor = ocf.recurring().ours("monitor");
    let calls = take_calls(&log);
    let _ = keeper.destroy(&name, by());
    assert_eq!(monitor.code, 0, "{monitor:?}");
    assert_eq!(
        calls,
        [
            set(&name, "cpu", 4),
            set(&name, "host_memory", 512),
            set(&name, "hv_memory", 512),
        ],
        "libvirt's figures for a running domain"
    );
}

#[test]
fn reload_agent_applies_the_new_utilization_flags_at_once() {
    if !lab_available("reload-agent") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = format!("rlu-{}-reload", std::process::id());
    let config = dir.path().join("vm.xml");
    let xml = domain_xml(&name, "<vcpu>2</vcpu>", "<memory unit='MiB'>256</memory>");
    std::fs::write(&config, &xml).unwrap();
    let (ocf, log) = setup(dir.path(), &name, &config);
    let keeper = LibvirtController::new(
        Some(TEST_URI.into()),
        Instant::now() + Duration::from_secs(90),
    );
    let _ = keeper.destroy(&name, by());
    keeper.create(&xml, by()).unwrap();
    let run = |ocf: &Ocf| {
        let got = ocf.ours("reload-agent");
        (got.code, got.reason(), take_calls(&log))
    };

    // the first reload with the defaults writes what this node never wrote
    let (code, _, calls) = run(&ocf);
    assert_eq!(code, 0);
    assert_eq!(
        calls,
        [
            set(&name, "cpu", 2),
            set(&name, "host_memory", 256),
            set(&name, "hv_memory", 256),
        ]
    );
    // cpu unset, host_memory no longer managed: one delete, nothing else
    let changed = ocf
        .with("OCF_RESKEY_unset_utilization_cpu", "true")
        .with("OCF_RESKEY_autoset_utilization_host_memory", "false");
    let (code, reason, calls) = run(&changed);
    assert_eq!((code, reason), (0, None));
    assert_eq!(calls, [delete(&name, "cpu")]);
    // and back: cpu set again
    assert_eq!(run(&ocf).2, [set(&name, "cpu", 2)]);

    // an invalid value of a reloadable parameter: 6 with the reason, no write
    let invalid = changed.with("OCF_RESKEY_migration_speed", "fast");
    let (code, reason, calls) = run(&invalid);
    assert_eq!(code, 6);
    assert_eq!(
        reason.as_deref(),
        Some("environment is invalid, resource considered stopped")
    );
    assert!(invalid
        .ours("reload-agent")
        .stderr
        .contains("ocf-exit-reason:migration_speed has to be a decimal value"));
    assert!(calls.is_empty(), "{calls:?}");

    // the config cannot be read: the guest is left alone, 0
    let hidden = changed.with("OCF_RESKEY_config", "/nonexistent/vm.xml");
    let (code, reason, calls) = run(&hidden);
    let running = keeper.state(&name, by());
    let _ = keeper.destroy(&name, by());
    assert_eq!((code, reason), (0, None));
    assert!(calls.is_empty(), "{calls:?}");
    assert!(matches!(running, Ok(DomainState::Running)), "{running:?}");
}

#[test]
fn a_value_changed_or_deleted_in_the_cib_is_corrected_on_a_probe_and_from_time_to_time() {
    if !lab_available("utilization re-checked") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = format!("rlu-{}-recheck", std::process::id());
    let config = dir.path().join("vm.xml");
    let xml = domain_xml(&name, "<vcpu>2</vcpu>", "<memory unit='MiB'>256</memory>");
    std::fs::write(&config, &xml).unwrap();
    let (ocf, log) = setup(dir.path(), &name, &config);
    let keeper = LibvirtController::new(
        Some(TEST_URI.into()),
        Instant::now() + Duration::from_secs(90),
    );
    let _ = keeper.destroy(&name, by());
    keeper.create(&xml, by()).unwrap();
    let monitor = ocf.recurring();
    let present = |attr: &str, value: Option<&str>| {
        let file = dir.path().join(format!("present-{attr}"));
        match value {
            Some(v) => std::fs::write(file, format!("{v}\n")).unwrap(),
            None => {
                let _ = std::fs::remove_file(file);
            }
        }
    };

    assert_eq!(monitor.ours("monitor").code, 0);
    assert_eq!(take_calls(&log).len(), 3, "written once");
    for (attr, value) in [("cpu", "2"), ("host_memory", "256"), ("hv_memory", "256")] {
        present(attr, Some(value));
    }
    assert_eq!(monitor.ours("monitor").code, 0);
    assert_eq!(take_calls(&log), Vec::<String>::new(), "steady state");

    // someone deletes cpu and changes hv_memory: a probe puts them back
    present("cpu", None);
    present("hv_memory", Some("1"));
    assert_eq!(monitor.ours("monitor").code, 0);
    assert_eq!(
        take_calls(&log),
        Vec::<String>::new(),
        "a recent monitor trusts its memory"
    );
    let probe = ocf.ours("monitor");
    assert_eq!(probe.code, 0, "{probe:?}");
    assert_eq!(
        take_calls(&log),
        [
            get(&name, "cpu"),
            get(&name, "host_memory"),
            get(&name, "hv_memory"),
            set(&name, "cpu", 2),
            set(&name, "hv_memory", 256),
        ]
    );
    present("cpu", Some("2"));
    present("hv_memory", Some("256"));
    assert_eq!(monitor.ours("monitor").code, 0);
    assert_eq!(
        take_calls(&log),
        Vec::<String>::new(),
        "checked: trusted again"
    );

    // a recurring monitor looks again once the last look is old
    present("host_memory", Some("7"));
    let rsctmp = &ocf.vars.iter().find(|(k, _)| k == "HA_RSCTMP").unwrap().1;
    let memory = Path::new(rsctmp).join(format!("VirtualDomain-{name}.utilization"));
    let old = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .append(true)
        .open(&memory)
        .unwrap()
        .set_modified(old)
        .unwrap();
    assert_eq!(monitor.ours("monitor").code, 0);
    let calls = take_calls(&log);
    assert_eq!(monitor.ours("monitor").code, 0);
    let after = take_calls(&log);
    let _ = keeper.destroy(&name, by());
    assert_eq!(
        calls,
        [
            get(&name, "cpu"),
            get(&name, "host_memory"),
            get(&name, "hv_memory"),
            set(&name, "host_memory", 256),
        ]
    );
    assert_eq!(after, Vec::<String>::new(), "and then trusts it again");
}
