//! The worked examples of the anchor spec §7 (verified there against 4.12
//! with a stub virsh), as the command tail after `virsh migrate --live`;
//! the two rows that show anchor defects carry this agent's fixed output.

use super::*;

const T: &str = "node2.example.com";

fn tail(p: &MigrationParams, target: &str) -> (String, Vec<String>) {
    let plan = compose("vm1", target, p, || 49200).unwrap();
    let mut words = plan.options.clone();
    words.push("vm1".into());
    words.push(plan.dest_uri);
    words.extend(plan.migrate_uri);
    (words.join(" "), plan.warnings)
}

fn qemu() -> MigrationParams<'static> {
    MigrationParams {
        hypervisor: "qemu:///system",
        ..Default::default()
    }
}

#[test]
fn worked_examples_of_the_anchor() {
    let rows: Vec<(MigrationParams, &str)> = vec![
        (qemu(), "vm1 qemu://node2.example.com/system"),
        (
            MigrationParams {
                transport: "ssh",
                ..qemu()
            },
            "vm1 qemu+ssh://node2.example.com/system",
        ),
        (
            MigrationParams {
                transport: "tcp",
                network_suffix: "-mig",
                migrateport: Some("49200"),
                ..qemu()
            },
            "vm1 qemu+tcp://node2-mig.example.com/system tcp:node2-mig.example.com:49200",
        ),
        (
            MigrationParams {
                transport: "ssh",
                network_suffix: "-mig",
                user: Some("admin"),
                ..qemu()
            },
            // the port is random in 49152..49215 (the closure gives 49200)
            "vm1 qemu+ssh://admin@node2-mig.example.com/system tcp:node2-mig.example.com:49200",
        ),
        (
            MigrationParams {
                transport: "ssh",
                user: Some("Admin_1"),
                ..qemu()
            },
            "vm1 qemu+ssh://node2.example.com/system",
        ),
        (
            MigrationParams {
                remoteuri: Some("qemu+ssh://%n-x/system"),
                migrateuri: Some("tcp://%n-m"),
                user: Some("admin"),
                ..qemu()
            },
            "vm1 qemu+ssh://node2.example.com-x/system tcp://node2.example.com-m",
        ),
        (
            MigrationParams {
                network_suffix: "-mig",
                migrate_options: "--p2p --tunnelled --migrateuri=tcp://%n-x:1234 --persistent",
                ..qemu()
            },
            "--p2p --tunnelled --persistent vm1 qemu://node2-mig.example.com/system \
             tcp://node2-mig.example.com-x:1234",
        ),
        (
            MigrationParams {
                hypervisor: "xen:///",
                transport: "ssh",
                network_suffix: "-mig",
                ..Default::default()
            },
            "vm1 xen+ssh://node2-mig.example.com/ node2-mig.example.com",
        ),
    ];
    for (params, want) in rows {
        assert_eq!(tail(&params, T).0, want, "{params:?}");
    }
}

#[test]
fn short_target_names_get_the_suffix_too() {
    let p = MigrationParams {
        transport: "tcp",
        network_suffix: "-mig",
        ..qemu()
    };
    assert_eq!(
        tail(&p, "node2").0,
        "vm1 qemu+tcp://node2-mig/system tcp:node2-mig:49200"
    );
}

#[test]
fn other_schemes_warn_and_get_no_migration_uri() {
    let p = MigrationParams {
        hypervisor: "lxc:///",
        network_suffix: "-mig",
        ..Default::default()
    };
    let (line, warnings) = tail(&p, T);
    assert_eq!(line, "vm1 lxc://node2-mig.example.com/");
    assert_eq!(
        warnings,
        ["vm1: Migration via dedicated network currently not supported for lxc."]
    );
}

#[test]
fn fixed_percent_n_never_carries_the_user() {
    // anchor: tcp://admin@node2-mig.example.com
    let p = MigrationParams {
        network_suffix: "-mig",
        user: Some("admin"),
        migrateuri: Some("tcp://%n"),
        ..qemu()
    };
    assert_eq!(
        tail(&p, T).0,
        "vm1 qemu://admin@node2-mig.example.com/system tcp://node2-mig.example.com"
    );
}

#[test]
fn fixed_a_transport_in_the_hypervisor_uri_is_replaced() {
    // anchor: qemu+tcp+ssh://node2.example.com:16509/system
    let p = MigrationParams {
        hypervisor: "qemu+tcp://node1:16509/system",
        transport: "ssh",
        ..Default::default()
    };
    assert_eq!(
        tail(&p, T).0,
        "vm1 qemu+ssh://node2.example.com:16509/system"
    );
    let keep = MigrationParams {
        hypervisor: "qemu+tcp://node1:16509/system",
        ..Default::default()
    };
    assert_eq!(
        tail(&keep, T).0,
        "vm1 qemu+tcp://node2.example.com:16509/system"
    );
}

#[test]
fn fixed_a_hypervisor_without_host_part_is_an_error() {
    for hypervisor in ["", "qemu", "qemu:/system"] {
        let p = MigrationParams {
            hypervisor,
            ..Default::default()
        };
        let err = compose("vm1", T, &p, || 49200).unwrap_err();
        assert!(err.contains("cannot derive the destination URI"), "{err}");
    }
}

#[test]
fn the_last_migrateuri_option_wins_and_only_it_is_removed() {
    let p = MigrationParams {
        migrate_options: "--migrateuri=tcp://a --live-ish --migrateuri=tcp://%n:5",
        ..qemu()
    };
    assert_eq!(
        tail(&p, T).0,
        "--migrateuri=tcp://a --live-ish vm1 qemu://node2.example.com/system \
         tcp://node2.example.com:5"
    );
}

#[test]
fn invalid_user_is_reported() {
    let p = MigrationParams {
        user: Some("Admin_1"),
        ..qemu()
    };
    let (_, warnings) = tail(&p, T);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
}

#[test]
fn suffix_goes_on_the_first_label() {
    assert_eq!(
        with_suffix("node2.example.com", "-mig"),
        "node2-mig.example.com"
    );
    assert_eq!(with_suffix("node2", "-mig"), "node2-mig");
    assert_eq!(with_suffix("node2.x", ""), "node2.x");
}
