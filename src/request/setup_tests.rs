//! The anchor's prologue matrix (spec §4), cell by cell.

use super::*;
use crate::controller::ShutdownMode;
use crate::ocf::Env;
use std::time::Duration;

const ACTIONS: [(&str, Action, bool); 9] = [
    ("probe", Action::Monitor, true),
    ("monitor", Action::Monitor, false),
    ("stop", Action::Stop, false),
    ("start", Action::Start, false),
    ("status", Action::Status, false),
    ("validate-all", Action::ValidateAll, false),
    ("migrate_to", Action::MigrateTo, false),
    ("migrate_from", Action::MigrateFrom, false),
    // a config that gives no domain is no reason to fail a reload (0, warning)
    ("reload-agent", Action::ReloadAgent, false),
];

fn params(pairs: &[(&str, &str)]) -> Params {
    Params::from_env(&Env::from_pairs(
        pairs
            .iter()
            .map(|(k, v)| (format!("OCF_RESKEY_{k}"), v.to_string())),
    ))
}

fn named() -> ConfigFile {
    ConfigFile::Read(DomainConfig {
        name: Some("vm1".into()),
        ..Default::default()
    })
}

const HOST: HostFacts = HostFacts {
    required_missing: false,
    have_csync2: false,
};

/// Expected codes in the order of `ACTIONS`.
fn assert_row(label: &str, p: &Params, cfg: &ConfigFile, host: HostFacts, expected: [u8; 9]) {
    for ((name, action, probe), want) in ACTIONS.iter().zip(expected) {
        let got = check(
            Operation {
                action: *action,
                probe: *probe,
            },
            p,
            cfg,
            host,
        )
        .map(|_| 0)
        .unwrap_or_else(|r| r.rc.code());
        assert_eq!(got, want, "{label}: {name}");
    }
}

#[test]
fn config_unset_or_empty_is_6_everywhere() {
    assert_row("unset", &params(&[]), &named(), HOST, [6; 9]);
    assert_row("empty", &params(&[("config", "")]), &named(), HOST, [6; 9]);
}

#[test]
fn unreadable_config() {
    let p = params(&[("config", "/nope.xml")]);
    assert_row(
        "unreadable",
        &p,
        &ConfigFile::Unreadable,
        HOST,
        [7, 1, 0, 5, 3, 5, 5, 5, 0],
    );
}

#[test]
fn config_without_name() {
    let p = params(&[("config", "/x.xml")]);
    let cfg = ConfigFile::Read(DomainConfig::default());
    assert_row("no name", &p, &cfg, HOST, [7, 1, 0, 5, 3, 5, 5, 5, 0]);
    // routed like an unreadable file: the guards look for the domain first
    for (name, action, probe) in ACTIONS {
        if let Err(refusal) = check(Operation { action, probe }, &p, &cfg, HOST) {
            assert_eq!(
                refusal.unreadable_config,
                action != Action::ReloadAgent,
                "{name}"
            );
        }
    }
}

#[test]
fn configuration_errors() {
    for pairs in [
        &[("force_stop", "true"), ("snapshot", "/snap")][..],
        &[("migration_speed", "fast")][..],
        &[("migration_downtime", "")][..],
        &[("stateless", "yes")][..],
    ] {
        let mut all = vec![("config", "/x.xml")];
        all.extend_from_slice(pairs);
        assert_row(
            &format!("{pairs:?}"),
            &params(&all),
            &named(),
            HOST,
            // probe, monitor, stop and status answer from the guest's state
            [0, 0, 0, 6, 0, 6, 6, 6, 6],
        );
    }
}

#[test]
fn missing_required_binary() {
    let host = HostFacts {
        required_missing: true,
        have_csync2: true,
    };
    // status: 3 here; the anchor exits 0 (documented divergence).
    assert_row(
        "binary",
        &params(&[("config", "/x.xml")]),
        &named(),
        host,
        [7, 1, 0, 5, 3, 5, 5, 5, 5],
    );
}

#[test]
fn sync_config_without_csync2_is_5_everywhere() {
    let p = params(&[("config", "/x.xml"), ("sync_config_on_stop", "1")]);
    assert_row("csync2", &p, &named(), HOST, [5; 9]);
    let with = HostFacts {
        required_missing: false,
        have_csync2: true,
    };
    assert_row("csync2 present", &p, &named(), with, [0; 9]);
}

#[test]
fn valid_setup_passes_with_the_name() {
    let p = params(&[("config", "/x.xml")]);
    assert_eq!(
        check(
            Operation {
                action: Action::Start,
                probe: false
            },
            &p,
            &named(),
            HOST
        )
        .map(|accepted| accepted.name),
        Ok("vm1".to_string())
    );
}

#[test]
fn checked_parameters_come_out_typed() {
    let p = params(&[
        ("config", "/x.xml"),
        ("shutdown_mode", "acpi, AGENT"),
        ("shutdown_timeout", "45s"),
        ("migration_speed", "100"),
    ]);
    let op = Operation {
        action: Action::Stop,
        probe: false,
    };
    let settings = check(op, &p, &named(), HOST).unwrap().settings;
    assert_eq!(
        settings,
        Settings {
            shutdown: Shutdown {
                modes: vec![ShutdownMode::Acpi, ShutdownMode::Agent],
                timeout: Some(Duration::from_secs(45)),
            },
            migration_speed: 100,
            migration_downtime: 0,
            migration: Default::default(),
            io_error: Default::default(),
        }
    );
    let unset = check(op, &params(&[("config", "/x.xml")]), &named(), HOST).unwrap();
    assert_eq!(unset.settings, Settings::default());
}

#[test]
fn reasons_are_where_the_anchor_prints_them() {
    let p = params(&[("config", "/nope.xml")]);
    let reasons = |action, probe| {
        check(
            Operation { action, probe },
            &p,
            &ConfigFile::Unreadable,
            HOST,
        )
        .unwrap_err()
        .messages
        .into_iter()
        .filter_map(|m| match m {
            Message::Reason(r) => Some(r),
            Message::Info(_) | Message::Warn(_) => None,
        })
        .collect::<Vec<_>>()
    };
    assert!(
        reasons(Action::Monitor, true).is_empty(),
        "probe prints no reason"
    );
    assert!(
        reasons(Action::Stop, false).is_empty(),
        "stop prints no reason"
    );
    assert_eq!(
        reasons(Action::Start, false),
        vec![
            "Configuration file /nope.xml does not exist or not readable.".to_string(),
            INVALID_ENV.to_string()
        ],
        "the generic reason comes last, so it is the one Pacemaker shows"
    );
    assert_eq!(reasons(Action::Status, false).len(), 1);
}

#[test]
fn reload_agent_with_an_unusable_config_warns_and_succeeds() {
    let op = Operation {
        action: Action::ReloadAgent,
        probe: false,
    };
    let p = params(&[("config", "/nope.xml")]);
    let refusal = check(op, &p, &ConfigFile::Unreadable, HOST).unwrap_err();
    assert_eq!(refusal.rc, OcfRc::Success);
    assert!(!refusal.unreadable_config, "no guard looks for the domain");
    assert!(
        matches!(&refusal.messages[..], [Message::Warn(w)] if w.contains("/nope.xml cannot be read")),
        "{:?}",
        refusal.messages
    );
    // the values themselves are checked even then
    let no_name = ConfigFile::Read(DomainConfig::default());
    for (pairs, rc) in [
        (
            &[("force_stop", "1"), ("snapshot", "/s")][..],
            OcfRc::ErrConfigured,
        ),
        (&[("migration_speed", "fast")][..], OcfRc::ErrConfigured),
        (
            &[("migrate_options", "--dname other")][..],
            OcfRc::ErrConfigured,
        ),
        (&[("sync_config_on_stop", "1")][..], OcfRc::ErrInstalled),
    ] {
        let mut all = vec![("config", "/nope.xml")];
        all.extend_from_slice(pairs);
        for cfg in [&ConfigFile::Unreadable, &no_name] {
            let refusal = check(op, &params(&all), cfg, HOST).unwrap_err();
            assert_eq!(refusal.rc, rc, "{pairs:?} {cfg:?}");
            assert!(
                matches!(refusal.messages.first(), Some(Message::Reason(_))),
                "{pairs:?}: {:?}",
                refusal.messages
            );
        }
    }
}

#[test]
fn first_failing_check_wins() {
    // force_stop+snapshot is checked before readability
    let p = params(&[
        ("config", "/nope.xml"),
        ("force_stop", "1"),
        ("snapshot", "/s"),
    ]);
    let r = check(
        Operation {
            action: Action::Start,
            probe: false,
        },
        &p,
        &ConfigFile::Unreadable,
        HOST,
    )
    .unwrap_err();
    assert_eq!(r.rc, OcfRc::ErrConfigured);
    // readability before csync2
    let p = params(&[("config", "/nope.xml"), ("sync_config_on_stop", "1")]);
    let r = check(
        Operation {
            action: Action::Monitor,
            probe: true,
        },
        &p,
        &ConfigFile::Unreadable,
        HOST,
    )
    .unwrap_err();
    assert_eq!(r.rc, OcfRc::NotRunning);
}

#[test]
fn migration_settings_are_checked_only_where_they_are_used() {
    let p = params(&[("config", "/x.xml"), ("migrate_options", "--dname other")]);
    for (name, action, probe) in ACTIONS {
        let op = Operation { action, probe };
        let got = check(op, &p, &named(), HOST).map_err(|r| r.rc);
        let want = if uses_migration_settings(action) {
            Err(OcfRc::ErrConfigured)
        } else {
            Ok(())
        };
        assert_eq!(got.map(drop), want, "{name}");
    }
    let refusal = check(
        Operation {
            action: Action::ValidateAll,
            probe: false,
        },
        &p,
        &named(),
        HOST,
    )
    .unwrap_err();
    assert!(refusal.messages.contains(&Message::Reason(
        "migrate_options: --dname: the domain's name and definition on the target must stay the resource's".into()
    )));
}

/// start checks only the double-start protection's settings: a migration
/// word no migration can honour fails migrate_to and validate-all, never
/// the start of a guest that starts well.
#[test]
fn start_checks_only_the_double_start_settings() {
    let op = Operation {
        action: Action::Start,
        probe: false,
    };
    let p = params(&[("config", "/x.xml"), ("migrate_options", "--dname other")]);
    assert!(check(op, &p, &named(), HOST).is_ok());
    let p = params(&[
        ("config", "/x.xml"),
        ("double_start_protection", "yes"),
        ("double_start_nodes", "n1 n/2"),
    ]);
    let refusal = check(op, &p, &named(), HOST).unwrap_err();
    assert_eq!(refusal.rc, OcfRc::ErrConfigured);
    let p = params(&[
        ("config", "/x.xml"),
        ("double_start_protection", "yes"),
        ("double_start_nodes", "n1 n2"),
    ]);
    let nodes = check(op, &p, &named(), HOST)
        .unwrap()
        .settings
        .migration
        .double_start_nodes;
    assert_eq!(nodes, Some(vec!["n1".to_string(), "n2".to_string()]));
}

#[path = "setup_shutdown_tests.rs"]
mod shutdown;

/// A cluster switched from the anchor keeps its `migrate_options`: every
/// word of the anchor's virsh that libvirt's API can do passes every
/// action's checks (validate-all and migrate_* included).
#[test]
fn the_anchors_migrate_options_pass_every_action() {
    let words = "--p2p --persistent --undefinesource --bandwidth 100 --timeout 30 \
                 --timeout-postcopy --postcopy --postcopy-after-precopy --postcopy-bandwidth 50 \
                 --compressed --comp-methods xbzrle --comp-xbzrle-cache 67108864 --auto-converge \
                 --auto-converge-initial 20 --parallel --parallel-connections 4 --verbose";
    let p = params(&[("config", "/x.xml"), ("migrate_options", words)]);
    for (name, action, probe) in ACTIONS {
        let op = Operation { action, probe };
        assert!(check(op, &p, &named(), HOST).is_ok(), "{name}");
    }
}
