//! `VirtualDomain meta-data`: works anywhere, is DTD- and pcs-valid, and
//! describes the same interface as the shell agent it replaces.

mod common;

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command as StdCommand, Stdio};

use assert_cmd::Command;
use virtualdomain::metadata::{self, Meta};

fn metadata_file() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/metadata/VirtualDomain.xml");
    std::fs::read_to_string(path).expect("metadata/VirtualDomain.xml")
}

/// `VirtualDomain meta-data` with an empty environment.
fn run_meta_data() -> std::process::Output {
    Command::cargo_bin("VirtualDomain")
        .unwrap()
        .arg("meta-data")
        .env_clear()
        .timeout(common::DEFAULT_TIMEOUT)
        .output()
        .unwrap()
}

fn our_metadata() -> String {
    let out = run_meta_data();
    assert_eq!(out.status.code(), Some(0));
    String::from_utf8(out.stdout).expect("UTF-8 meta-data")
}

#[test]
fn meta_data_with_empty_environment_prints_the_file() {
    let out = run_meta_data();
    assert_eq!(out.status.code(), Some(0), "stderr: {:?}", out.stderr);
    assert_eq!(String::from_utf8_lossy(&out.stdout), metadata_file());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// ocf-tester's second check: `su nobody -s /bin/sh -c "$agent meta-data"`.
#[test]
fn meta_data_works_as_nobody() {
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    if !root {
        eprintln!("NOTICE: not root, cannot switch to nobody; running as the current user");
        let out = common::run(&common::ours(), &["meta-data"], &[]);
        assert_eq!(out.code, Some(0));
        return;
    }
    // A copy in a world-readable place: the target dir may be private.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.path().join("VirtualDomain");
    std::fs::copy(common::ours(), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new("su")
        .args(["nobody", "-s", "/bin/sh", "-c"])
        .arg(format!("{} meta-data", bin.display()))
        .timeout(common::DEFAULT_TIMEOUT)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), metadata_file());
}

/// Runs xmllint on `xml` (stdin) in `cwd`; returns (success, stderr).
fn xmllint(args: &[&str], cwd: &Path, xml: &str) -> (bool, String) {
    let mut child = StdCommand::new("xmllint")
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("xmllint");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(xml.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn meta_data_is_valid_for_ocf_tester_and_pcs() {
    if common::require("xmllint", "meta-data validation").is_none() {
        return;
    }
    let xml = our_metadata();
    let ra = Path::new("/usr/share/resource-agents");
    if common::require("/usr/share/resource-agents/ra-api-1.dtd", "DTD check").is_some() {
        // exactly ocf-tester's check: ra-api-1.dtd, plus the OCF 1.1 additions
        // (reloadable, reload-agent) our DOCTYPE declares in its internal subset
        let (ok, err) = xmllint(&["--noout", "--valid", "-"], ra, &xml);
        assert!(ok, "xmllint --valid: {err}");
        // the validation is real: what OCF 1.1 does not allow still fails
        for (what, from, to) in [
            (
                "a reloadable that is not 0 or 1",
                "\" reloadable=\"1\">",
                "\" reloadable=\"yes\">",
            ),
            (
                "an unknown action",
                "name=\"reload-agent\"",
                "name=\"reload-agents\"",
            ),
            (
                "an unknown content type",
                "type=\"boolean\"",
                "type=\"bool\"",
            ),
        ] {
            assert!(xml.contains(from), "{from}");
            let (ok, _) = xmllint(&["--noout", "--valid", "-"], ra, &xml.replacen(from, to, 1));
            assert!(!ok, "{what} passed the DTD check");
        }
        // and without our additions the plain ra-api-1.dtd refuses the document
        let doctype_end = xml.find("]>").expect("internal subset");
        let plain = format!(
            "<?xml version=\"1.0\"?>\n<!DOCTYPE resource-agent SYSTEM \"ra-api-1.dtd\">{}",
            &xml[doctype_end + 2..]
        );
        let (ok, err) = xmllint(&["--noout", "--valid", "-"], ra, &plain);
        assert!(!ok && err.contains("reloadable"), "{err}");
    }
    // <version>1.1</version>: pcs checks the document against its OCF 1.1 schema
    let rng = "/usr/share/pcs/data/ocf-1.1.rng";
    if common::require(rng, "pcs schema check").is_some() {
        let (ok, err) = xmllint(&["--noout", "--relaxng", rng, "-"], ra, &xml);
        assert!(ok, "pcs {rng}: {err}");
    }
}

fn parse(xml: &str) -> Meta {
    metadata::parse(xml).expect("well-formed meta-data")
}

fn anchor_metadata() -> Option<String> {
    let anchor = common::require(common::ANCHOR, "comparison with the anchor's meta-data")?;
    let env = [("OCF_ROOT".to_string(), "/usr/lib/ocf".to_string())];
    let out = common::run(&anchor, &["meta-data"], &env);
    assert_eq!(out.code, Some(0), "anchor meta-data: {}", out.stderr);
    Some(out.stdout)
}

#[test]
fn same_interface_as_the_anchor() {
    let Some(anchor_xml) = anchor_metadata() else {
        return;
    };
    let theirs = parse(&anchor_xml);
    let ours = parse(&our_metadata());

    assert_eq!(ours.agent_name, theirs.agent_name, "resource-agent name");
    assert_eq!(ours.agent_name.as_deref(), Some("VirtualDomain"));
    assert_eq!(
        ours.agent_version, theirs.agent_version,
        "resource-agent version attribute"
    );
    assert_eq!(theirs.ocf_version, "1.0", "the anchor's <version>");
    assert_eq!(ours.ocf_version, "1.1", "<version>: OCF 1.1 (reload-agent)");
    assert_eq!(
        theirs.params.len(),
        27,
        "the anchor (4.12) has 27 parameters"
    );

    let names = |m: &Meta| m.params.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
    let our_names = names(&ours);
    let (common_names, extras) = our_names.split_at(theirs.params.len().min(our_names.len()));
    assert_eq!(common_names, names(&theirs), "parameter names and order");
    assert_eq!(
        extras,
        common::ADDED_PARAMETERS,
        "parameters after the anchor's"
    );

    for (o, t) in ours.params.iter().zip(&theirs.params) {
        assert_eq!(o.content_type, t.content_type, "{}: content type", o.name);
        assert_eq!(o.default, t.default, "{}: default attribute", o.name);
        assert_eq!(o.unique, t.unique, "{}: unique attribute", o.name);
        assert_eq!(o.required, t.required, "{}: required attribute", o.name);
    }
    let extra = &ours.params[theirs.params.len()];
    assert_eq!(extra.content_type.as_deref(), Some("integer"));
    assert_eq!(
        extra.default, None,
        "shutdown_timeout has no default attribute"
    );
    assert_eq!(extra.unique.as_deref(), Some("0"));
    assert_eq!(extra.required.as_deref(), Some("0"));

    // the anchor's actions with their attributes, then reload-agent
    let (anchors, added) = ours
        .actions
        .split_at(theirs.actions.len().min(ours.actions.len()));
    assert_eq!(anchors, theirs.actions, "actions and their attributes");
    let reload: Vec<_> = added
        .iter()
        .map(|a| (a["name"].as_str(), a.len()))
        .collect();
    assert_eq!(reload, [("reload-agent", 2)], "actions after the anchor's");
    assert_eq!(added[0]["timeout"], "20s");
}

/// This task's list: the parameters whose change needs no restart of the
/// guest (how it is stopped, migrated, monitored, accounted, saved, or
/// protected from a double start). Everything else decides what is
/// started (config, hypervisor, snapshot, backingfile, stateless,
/// copyindirs, start_resources, persistent) and restarts it.
const RELOADABLE: [&str; 32] = [
    "force_stop",
    "shutdown_mode",
    "shutdown_timeout",
    "migration_transport",
    "migration_user",
    "migration_downtime",
    "migration_speed",
    "migration_network_suffix",
    "migrateuri",
    "migrate_options",
    "migrateport",
    "remoteuri",
    "migration_mapping",
    "migration_mode",
    "monitor_scripts",
    "autoset_utilization_cpu",
    "autoset_utilization_host_memory",
    "autoset_utilization_hv_memory",
    "unset_utilization_cpu",
    "unset_utilization_host_memory",
    "unset_utilization_hv_memory",
    "save_config_on_stop",
    "sync_config_on_stop",
    "double_start_protection",
    "double_start_nodes",
    "io_error_policy",
    "io_error_delay",
    "migration_max_downtime",
    "migration_auto_converge",
    "migration_completion_timeout",
    "migration_progress_timeout",
    "migration_timeout_action",
];
const RESTARTING: [&str; 8] = [
    "config",
    "hypervisor",
    "snapshot",
    "backingfile",
    "stateless",
    "copyindirs",
    "start_resources",
    "persistent",
];

#[test]
fn exactly_the_listed_parameters_are_reloadable() {
    let meta = parse(&our_metadata());
    assert_eq!(meta.ocf_version, "1.1");
    assert!(meta.actions.iter().any(|a| a["name"] == "reload-agent"));
    let mut listed: Vec<&str> = RELOADABLE.iter().chain(&RESTARTING).copied().collect();
    let mut all: Vec<&str> = meta.params.iter().map(|p| p.name.as_str()).collect();
    listed.sort_unstable();
    all.sort_unstable();
    assert_eq!(all, listed, "every parameter is in one of the two lists");
    for p in &meta.params {
        let want = RELOADABLE
            .contains(&p.name.as_str())
            .then(|| "1".to_string());
        assert_eq!(p.reloadable, want, "{}: reloadable", p.name);
    }
}

/// OCF 1.1 readers (pcs 0.11) ignore the deprecated `unique` and check
/// `unique-group` instead: every unique parameter is in a group of its own.
#[test]
fn unique_parameters_have_an_ocf_1_1_unique_group() {
    let meta = parse(&our_metadata());
    let unique: Vec<_> = meta
        .params
        .iter()
        .filter(|p| p.unique.as_deref() == Some("1"))
        .collect();
    assert_eq!(unique.len(), 1, "config only");
    for p in &meta.params {
        let want = (p.unique.as_deref() == Some("1")).then(|| p.name.clone());
        assert_eq!(p.unique_group, want, "{}: unique-group", p.name);
    }
}

#[test]
fn every_description_is_filled_in() {
    let meta = parse(&our_metadata());
    assert!(
        !meta.longdesc.is_empty() && !meta.shortdesc.is_empty(),
        "agent descriptions"
    );
    assert!(!meta.params.is_empty());
    for p in &meta.params {
        assert!(!p.longdesc.is_empty(), "{}: empty longdesc", p.name);
        assert!(!p.shortdesc.is_empty(), "{}: empty shortdesc", p.name);
        assert!(p.content_type.is_some(), "{}: no content type", p.name);
    }
}
