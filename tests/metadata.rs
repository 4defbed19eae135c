//! `VirtualDomain meta-data`: works anywhere, is DTD- and pcs-valid, and
//! describes the same interface as the shell agent it replaces.

mod common;

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command as StdCommand, Stdio};

use assert_cmd::Command;
use virtualdomain::metadata::{self, Meta};

/// Parameters this project adds after the anchor's.
const ALLOWED_EXTRAS: [&str; 6] = [
    "shutdown_timeout",
    "migration_mapping",
    "migration_mode",
    "double_start_protection",
    "double_start_nodes",
    "persistent",
];

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
        .timeout(common::TIMEOUT)
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
        .timeout(common::TIMEOUT)
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
        // exactly ocf-tester's check (needs the DOCTYPE line)
        let (ok, err) = xmllint(&["--noout", "--valid", "-"], ra, &xml);
        assert!(ok, "xmllint --valid: {err}");
    }
    let rng = "/usr/share/pcs/data/ocf-1.0.rng";
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
    assert_eq!(ours.ocf_version, theirs.ocf_version, "<version>");
    assert_eq!(
        theirs.params.len(),
        27,
        "the anchor (4.12) has 27 parameters"
    );

    let names = |m: &Meta| m.params.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
    let our_names = names(&ours);
    let (common_names, extras) = our_names.split_at(theirs.params.len().min(our_names.len()));
    assert_eq!(common_names, names(&theirs), "parameter names and order");
    assert_eq!(extras, ALLOWED_EXTRAS, "parameters after the anchor's");

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

    assert_eq!(ours.actions, theirs.actions, "actions and their attributes");
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
